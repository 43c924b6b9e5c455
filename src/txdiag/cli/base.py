"""The Typer application object and the one place that maps errors to exit codes."""

from __future__ import annotations

import os
import sys
from typing import Any

import typer
from typer.core import TyperGroup

from txdiag import __version__
from txdiag.cli.app import rendering_started
from txdiag.cli.terminal import Terminal
from txdiag.errors import TxdiagError
from txdiag.exitcodes import ExitCode

# The format of the running command, so an error can be reported as JSON under --format json.
state: dict[str, bool] = {"json_errors": False}


def silence_stdout() -> None:
    """After the reader closed the pipe, point stdout at /dev/null: exit-time flushes stay quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


class _Group(TyperGroup):
    """Turns library errors into one line on stderr and the documented exit code.

    Living in the command group (not only in ``main``) makes the CLI behave the same under
    Typer's test runner as in a real process.
    """

    # Typer's Context base lives in a private module: accept anything, as the base does.
    def invoke(self, ctx: Any) -> Any:
        state["json_errors"] = False  # each run decides again (tests run many in one process)
        rendering_started(False)
        try:
            return super().invoke(ctx)
        except TxdiagError as exc:
            Terminal.from_env().error(exc.message, exc.hint, int(exc.exit_code),
                                      as_json=state["json_errors"])
            raise typer.Exit(exc.exit_code) from None
        except BrokenPipeError:
            # The reader went away (`txdiag ... | head`): stop quietly.
            silence_stdout()
            raise typer.Exit(ExitCode.OK) from None
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except Exception as exc:  # noqa: BLE001 - the one net under every command
            report_fault(exc, as_json=state["json_errors"])
            raise typer.Exit(ExitCode.INTERNAL) from None


def report_fault(exc: BaseException, *, as_json: bool) -> None:
    """A fault inside txdiag as one masked, escaped line (exit 70), never a traceback.

    The exception's text may quote input (a JSON key, a timestamp, a card number), so it goes
    through the same masking and escaping as any other error. ``TXDIAG_DEBUG=1`` adds the
    traceback, masked and escaped the same way, for a bug report.
    """
    terminal = Terminal.from_env()
    detail = str(exc).splitlines()[0][:300] if str(exc) else ""
    kind = type(exc).__name__
    message = f"internal error ({kind}: {detail})" if detail else f"internal error ({kind})"
    if os.environ.get("TXDIAG_DEBUG"):
        import traceback

        for line in traceback.format_exception(exc):
            for part in line.rstrip("\n").split("\n"):
                terminal.stderr.write(f"txdiag: debug: {terminal.safe(part)}\n")
    terminal.error(message, "this is a bug in txdiag; rerun with TXDIAG_DEBUG=1 and report "
                   "the masked traceback", int(ExitCode.INTERNAL), as_json=as_json)


app = typer.Typer(
    name="txdiag",
    cls=_Group,
    help="Diagnose failed installment and credit-payment transactions from logs.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"txdiag {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(False, "--version", "-V", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """Diagnose failed installment and credit-payment transactions from logs.

    Every failure is classified as balance, network, card_binding, risk_control or system
    (or unknown), with a reason, whether a retry can help, and what to tell the customer.
    """


def argument_text(value: str) -> str:
    """A command-line argument as the user typed it.

    Under a C/POSIX locale Python decodes argv as ASCII and keeps other bytes as surrogate
    escapes; a terminal that sent UTF-8 (a Chinese message pasted by a support agent) is
    recovered here, and anything undecodable becomes U+FFFD instead of crashing later.
    """
    if not any("\udc80" <= ch <= "\udcff" for ch in value):
        return value
    return os.fsencode(value).decode("utf-8", "replace")


def examples(*lines: str) -> str:
    """A command's help epilog: examples shown one per line, as written."""
    return "Examples:\n\n\b\n" + "\n".join(f"  {line}" for line in lines)


def json_errors(enabled: bool) -> None:
    """Report errors of the running command as JSON objects on stderr (``--format json``)."""
    state["json_errors"] = enabled
