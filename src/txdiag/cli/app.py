"""Commands. Each one parses options, wires the library and picks a renderer; nothing more."""

from __future__ import annotations

import os
import sys
from typing import Any, NoReturn

import typer
from typer.core import TyperGroup

from txdiag import __version__
from txdiag.cli import options as opt
from txdiag.cli.session import Outcome, Session
from txdiag.cli.terminal import Terminal
from txdiag.errors import TxdiagError
from txdiag.exitcodes import ExitCode
from txdiag.models import Category
from txdiag.pipeline import Observation
from txdiag.readers import InputFormat
from txdiag.render import OutputFormat
from txdiag.sources import DEFAULT_MAX_LINE_BYTES


class _Group(TyperGroup):
    """Turns library errors into one line on stderr and the documented exit code.

    Living in the command group (not only in :func:`main`) makes the CLI behave the same under
    Typer's test runner as in a real process.
    """

    # Typer's Context base lives in a private module: accept anything, as the base does.
    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except TxdiagError as exc:
            Terminal.from_env().error(exc.message, exc.hint, int(exc.exit_code),
                                      as_json=bool(_state["json_errors"]))
            raise typer.Exit(exc.exit_code) from None
        except BrokenPipeError:
            # The reader went away (`txdiag ... | head`): stop quietly.
            _silence_stdout()
            raise typer.Exit(ExitCode.OK) from None


app = typer.Typer(
    name="txdiag",
    cls=_Group,
    help="Diagnose failed installment and credit-payment transactions from logs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# The format of the running command, so an error can be reported as JSON under --format json.
_state: dict[str, object] = {"json_errors": False}


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


def _finish(session: Session, outcome: Outcome) -> None:
    session.report(outcome)
    if outcome.error is not None:
        raise outcome.error
    if outcome.interrupted:
        raise typer.Exit(ExitCode.INTERRUPTED)


@app.command(epilog="Examples: txdiag diagnose examples/transactions.jsonl -c network -n 20 | "
             "zcat app.log.gz | txdiag diagnose - --format jsonl")
def diagnose(
    inputs: opt.Inputs = None,
    fmt: opt.Format = OutputFormat.TABLE,
    lang: opt.Lang = opt.LangChoice.en,
    category: opt.Categories = None,
    limit: opt.Limit = None,
    input_format: opt.InputFormatOpt = InputFormat.AUTO,
    encoding: opt.Encoding = "utf-8",
    assume_tz: opt.AssumeTz = "UTC",
    strict: opt.Strict = False,
    rules: opt.Rules = None,
    no_mask: opt.NoMask = False,
    quiet: opt.Quiet = False,
    max_line_bytes: opt.MaxLineBytes = DEFAULT_MAX_LINE_BYTES,
) -> None:
    """One row per failed transaction: time, id, channel, code, message, category, reason, hint."""
    _state["json_errors"] = fmt is OutputFormat.JSON
    session = Session.open(inputs=inputs, lang=lang.value, input_format=input_format,
                           encoding=encoding, assume_tz=assume_tz, strict=strict, rules=rules,
                           mask=not no_mask, quiet=quiet, max_line_bytes=max_line_bytes)
    from txdiag.render.writers import finding_writer

    term = session.terminal
    writer = finding_writer(fmt, term.stdout, session.presenter, color=term.color)
    wanted: set[Category] | None = set(category) if category else None
    shown = 0

    def show(obs: Observation) -> bool:
        nonlocal shown
        diagnosis = obs.diagnosis
        if diagnosis is None or (wanted is not None and diagnosis.category not in wanted):
            return True
        if limit is not None and shown >= limit:
            return True  # keep reading: the totals cover the whole input
        writer.write(session.pipeline.finding(obs))
        shown += 1
        return True

    outcome = session.stream(show)
    writer.finish(outcome.summary, outcome.inputs)
    _finish(session, outcome)


@app.command(epilog="Examples: txdiag summary examples/transactions.jsonl | "
             "txdiag summary app.jsonl --format json | jq .by_category")
def summary(
    inputs: opt.Inputs = None,
    fmt: opt.Format = OutputFormat.TABLE,
    lang: opt.Lang = opt.LangChoice.en,
    top: opt.Top = 10,
    input_format: opt.InputFormatOpt = InputFormat.AUTO,
    encoding: opt.Encoding = "utf-8",
    assume_tz: opt.AssumeTz = "UTC",
    strict: opt.Strict = False,
    rules: opt.Rules = None,
    no_mask: opt.NoMask = False,
    quiet: opt.Quiet = False,
    max_line_bytes: opt.MaxLineBytes = DEFAULT_MAX_LINE_BYTES,
) -> None:
    """Totals, failures by category, top reasons and top codes per channel."""
    _state["json_errors"] = fmt is OutputFormat.JSON
    session = Session.open(inputs=inputs, lang=lang.value, input_format=input_format,
                           encoding=encoding, assume_tz=assume_tz, strict=strict, rules=rules,
                           mask=not no_mask, quiet=quiet, max_line_bytes=max_line_bytes)
    from txdiag.render.reports import write_summary

    outcome = session.stream(lambda obs: True)
    write_summary(fmt, session.terminal.stdout, outcome.summary, outcome.inputs,
                  session.presenter, color=session.terminal.color, top=top)
    _finish(session, outcome)


@app.command(epilog="Examples: txdiag explain 51 --channel iso8583 --lang zh | "
             "txdiag explain '可用额度不足' | txdiag explain ACQ.SYSTEM_ERROR --channel alipay")
def explain(
    query: str = typer.Argument(..., metavar="CODE_OR_MESSAGE",
                                help="An error code, or a message text."),
    channel: opt.Channel = None,
    fmt: opt.Format = OutputFormat.TABLE,
    lang: opt.Lang = opt.LangChoice.en,
    rules: opt.Rules = None,
    no_mask: opt.NoMask = False,
) -> None:
    """Explain one code or message: category, reason, and what to tell the customer."""
    _state["json_errors"] = fmt is OutputFormat.JSON
    from txdiag.classify import Classifier
    from txdiag.render.common import Presenter
    from txdiag.render.reports import write_explanation
    from txdiag.rulebook import load_rulebook

    terminal = Terminal.from_env(mask=not no_mask)
    rulebook = load_rulebook(rules or ())
    canonical = rulebook.canonical_channel(channel) if channel else None
    text = query.strip()
    # The text is tried as a code first, then as a message: precedence decides.
    diagnosis = Classifier(rulebook).classify(
        channel=canonical, codes=(("query", text),) if text and " " not in text else (),
        message=text or None,
    )
    write_explanation(fmt, terminal.stdout, query, canonical, diagnosis,
                      Presenter(mask=not no_mask, lang=lang.value), color=terminal.color)


def _silence_stdout() -> None:
    """After the reader closed the pipe, point stdout at /dev/null: exit-time flushes stay quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main(argv: list[str] | None = None) -> NoReturn:
    """Entry point: run the app and turn every way it can end into an exit code and one line."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            # A terminal or pipe that cannot encode Chinese must not crash the run.
            reconfigure(errors="backslashreplace")
    command = typer.main.get_command(app)
    terminal = Terminal.from_env()
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
        exit_code = int(getattr(exc, "exit_code", ExitCode.USAGE))
        terminal.error(exc.format_message(), hint, exit_code, as_json=False)
        code = exit_code
    except (typer.Abort, KeyboardInterrupt):
        code = ExitCode.INTERRUPTED
    except BrokenPipeError:
        _silence_stdout()
        code = ExitCode.OK
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
    sys.exit(code)
