"""txdiag: diagnose failed installment and credit-payment transactions.

The package is a library first: reading sources, normalizing records, classifying and aggregating
are plain functions over typed models (see :mod:`txdiag.pipeline`). The command line in
:mod:`txdiag.cli` is a thin layer on top. Importing :mod:`txdiag` is cheap on purpose: heavy
modules (the rulebook, httpx, Rich) load only when a command needs them.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
