"""The ``txdiag`` command line: parses options, wires the pipeline, picks a renderer."""
