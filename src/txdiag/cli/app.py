"""The ``txdiag`` entry point: every command registered, every way out mapped to an exit code."""

from __future__ import annotations

import sys
from typing import NoReturn

import typer

from txdiag.cli.base import app, silence_stdout
from txdiag.cli.commands import (  # noqa: F401  (importing registers the commands)
    analyze,
    config_cmd,
    explain,
    lookup,
    rules,
)
from txdiag.cli.terminal import Terminal
from txdiag.exitcodes import ExitCode

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> NoReturn:
    """Run the app and turn every way it can end into an exit code and at most one line."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            # A terminal or pipe that cannot encode Chinese must not crash the run.
            reconfigure(errors="backslashreplace")
    command = typer.main.get_command(app)
    try:
        # Not standalone: every way out comes back here, to one exit-code table.
        returned = command.main(args=argv, prog_name="txdiag", standalone_mode=False)
        code = returned if isinstance(returned, int) else int(ExitCode.OK)
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.TyperException as exc:
        # Typer's usage errors (unknown option, bad value): exit 2 with a pointer to --help.
        ctx = getattr(exc, "ctx", None)
        hint = f"see '{ctx.command_path} --help'" if ctx is not None else None
        code = int(getattr(exc, "exit_code", ExitCode.USAGE))
        Terminal.from_env().error(exc.format_message(), hint, code, as_json=False)
    except (typer.Abort, KeyboardInterrupt):
        code = ExitCode.INTERRUPTED
    except BrokenPipeError:
        silence_stdout()
        code = ExitCode.OK
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        silence_stdout()
    sys.exit(code)
