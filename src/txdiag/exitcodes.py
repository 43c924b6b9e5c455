"""The one table of process exit codes. Scripts depend on these numbers: never renumber."""

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit statuses of the ``txdiag`` command (documented in docs/exit-codes.md)."""

    OK = 0
    """Done. Finding failures in the input is still success."""
    BREACH = 1
    """``check``: a threshold was breached."""
    USAGE = 2
    """Bad command line, configuration or rule file."""
    INPUT = 3
    """Input unreadable: missing file, truncated stream; an unreadable record under --strict."""
    API = 4
    """An HTTP API could not be read, after retries."""
    NO_RECORDS = 5
    """``check``: there were no records to judge."""
    INTERNAL = 70
    """A fault inside txdiag (a bug): one masked line on stderr instead of a traceback."""
    INTERRUPTED = 130
    """Interrupted with Ctrl-C (SIGINT)."""
    TERMINATED = 143
    """Terminated by SIGTERM."""
