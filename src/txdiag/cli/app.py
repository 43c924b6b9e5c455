"""The ``txdiag`` entry point: every command registered, every way out mapped to an exit code."""

from __future__ import annotations

import contextlib
import signal
import sys
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    import typer

# and ``app``, built on first use
__all__ = ["Terminated", "main", "rendering_started", "was_terminated"]

_VERSION_ARGS = (["--version"], ["-V"])


def __getattr__(name: str) -> Any:
    # ``app`` (every command registered) is built on first use: ``txdiag --version`` needs
    # none of it, and importing Typer and the commands is most of a start-up.
    if name == "app":
        return _app()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _app() -> typer.Typer:
    from txdiag.cli.base import app
    from txdiag.cli.commands import (  # noqa: F401  (importing registers the commands)
        analyze,
        check,
        completion,
        config_cmd,
        explain,
        lookup,
        report,
        rules,
        watch,
    )

    return app


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the process happens to be.

    A KeyboardInterrupt on purpose: every place that already turns Ctrl-C into "render what
    was read, then stop" does the same for SIGTERM, and main() exits 143 instead of 130.
    """


_terminated: list[int] = []
_rendering: list[bool] = []


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    # Only the first, and not once the results are being written: a SIGTERM then must not cut
    # them short (a JSON document cut at 64 KiB is no document); the exit code still says 143.
    if not _terminated:
        _terminated.append(signum)
        if not _rendering:
            raise Terminated


def rendering_started(started: bool = True) -> None:
    """Reading is over and the results are being written: SIGTERM no longer interrupts
    (``False``: a new run begins, reading first).

    SIGTERM is then blocked, not only ignored: a signal that interrupts a write to a full pipe
    makes CPython's buffered stdout drop the rest of what it was writing (a JSON document cut
    at 64 KiB). A SIGTERM arriving meanwhile stays pending; :func:`main` exits 143 for it.
    """
    _rendering[:] = [True] if started else []
    if signal.getsignal(signal.SIGTERM) is not _on_sigterm:
        return  # not the txdiag process (a test runner, an embedding program): hands off
    with contextlib.suppress(AttributeError, ValueError, OSError):
        signal.pthread_sigmask(signal.SIG_BLOCK if started else signal.SIG_UNBLOCK,
                               {signal.SIGTERM})


def _sigterm_pending() -> bool:
    try:
        return signal.SIGTERM in signal.sigpending()
    except (AttributeError, OSError):
        return False


def was_terminated() -> bool:
    """Whether SIGTERM arrived: commands that report their own exit code say 143, not 130."""
    return bool(_terminated)


def _install_sigterm() -> None:
    # Only the main thread may install handlers; embedded elsewhere, keep the default.
    with contextlib.suppress(ValueError):
        signal.signal(signal.SIGTERM, _on_sigterm)


def _usage_message(exc: Exception, ctx: Any) -> str:
    """Typer's message, naming an option's environment variable only when the bad value came
    from it (``--lang fr`` on the command line is not about ``TXDIAG_LANG``)."""
    message: str = exc.format_message()  # type: ignore[attr-defined]
    param = getattr(exc, "param", None)
    envvar = getattr(param, "envvar", None)
    if ctx is not None and isinstance(envvar, str) and getattr(param, "name", None):
        source = ctx.get_parameter_source(param.name)  # type: ignore[union-attr]
        if source is None or source.name != "ENVIRONMENT":
            message = message.replace(f" (env var: '{envvar}')", "")
    return message


def main(argv: list[str] | None = None) -> NoReturn:
    """Run the app and turn every way it can end into an exit code and at most one line."""
    if (sys.argv[1:] if argv is None else argv) in _VERSION_ARGS:
        # The answer the root command's --version gives, without loading the command line.
        from txdiag import __version__

        print(f"txdiag {__version__}")
        sys.exit(0)
    import typer

    from txdiag.cli.base import report_fault, silence_stdout, state
    from txdiag.cli.terminal import Terminal
    from txdiag.exitcodes import ExitCode

    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            # A terminal or pipe that cannot encode Chinese must not crash the run.
            reconfigure(errors="backslashreplace")
    _install_sigterm()
    try:
        command = typer.main.get_command(_app())
        # Not standalone: every way out comes back here, to one exit-code table.
        returned = command.main(args=argv, prog_name="txdiag", standalone_mode=False)
        code = returned if isinstance(returned, int) else int(ExitCode.OK)
    except typer.Exit as exc:
        code = exc.exit_code
    except typer.TyperException as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":
            # `txdiag` or `txdiag rules` alone: the help was asked for by leaving the rest out,
            # and is printed; exit 0, as gh and kubectl do (Typer checks it by name too).
            sys.exit(ExitCode.OK)
        # Typer's usage errors (unknown option, bad value): exit 2 with a pointer to --help.
        ctx = getattr(exc, "ctx", None)
        hint = f"see '{ctx.command_path} --help'" if ctx is not None else None
        code = int(getattr(exc, "exit_code", ExitCode.USAGE))
        Terminal.from_env().error(_usage_message(exc, ctx), hint, code, as_json=False)
    except (typer.Abort, KeyboardInterrupt):
        code = ExitCode.INTERRUPTED
    except BrokenPipeError:
        silence_stdout()
        code = ExitCode.OK
    except Exception as exc:  # noqa: BLE001 - whatever escaped the commands' own net
        report_fault(exc, as_json=state["json_errors"])
        code = ExitCode.INTERNAL
    if _terminated or _sigterm_pending():
        code = ExitCode.TERMINATED
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        silence_stdout()
    sys.exit(code)
