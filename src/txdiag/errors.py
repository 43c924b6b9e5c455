"""Exceptions the library raises. Each carries the exit code the CLI maps it to and a hint."""

from __future__ import annotations

from txdiag.exitcodes import ExitCode


class TxdiagError(Exception):
    """Base of every error txdiag reports as a one-line message rather than a traceback."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(TxdiagError):
    """The command line or configuration asks for something impossible."""

    exit_code = ExitCode.USAGE


class ConfigError(TxdiagError):
    """A configuration file is missing, unparsable or invalid."""

    exit_code = ExitCode.USAGE


class RulebookError(TxdiagError):
    """A rule file is unparsable or invalid; the message names the file and the rule."""

    exit_code = ExitCode.USAGE


class InputError(TxdiagError):
    """An input cannot be read at all, or (under --strict) holds an unreadable record."""

    exit_code = ExitCode.INPUT


class ApiError(TxdiagError):
    """An HTTP API could not be read after retries."""

    exit_code = ExitCode.API
