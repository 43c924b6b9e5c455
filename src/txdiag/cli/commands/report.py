"""``report``: the post-incident report (one HTML page, or Markdown), read like ``summary``."""

from __future__ import annotations

import io
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from txdiag.cli import options as opt
from txdiag.cli.base import app, examples
from txdiag.cli.commands.analyze import SummaryBucket, finish
from txdiag.cli.common import InputSettings, reads_inputs
from txdiag.errors import UsageError
from txdiag.safety import visible

if TYPE_CHECKING:
    from txdiag.cli.session import Session
    from txdiag.report.painter import ChartPainter
    from txdiag.timeline import Timeline


class ReportFormat(StrEnum):
    HTML = "html"
    MARKDOWN = "markdown"


Output = Annotated[
    Path | None,
    typer.Option("--output", "-o", show_default=False, metavar="FILE",
                 help="Write the report to FILE \\[default: stdout]."),
]
ReportFormatOpt = Annotated[
    ReportFormat,
    typer.Option("--format", "-f", case_sensitive=False,
                 help="html: one self-contained page with charts; markdown: for tickets and "
                 "chat."),
]
Affected = Annotated[
    Path | None,
    typer.Option("--affected", show_default=False, metavar="FILE.csv",
                 help="Write the transactions of every incident window (txn id, user id, time, "
                 "reason, customer hint) as CSV: reads the inputs a second time."),
]


def repeat_command(ctx: typer.Context) -> str:
    """The command line that makes the same report, from what the command was given
    (``--header`` values left out: they may hold credentials)."""
    import shlex

    options = [f"txdiag {ctx.info_name or 'report'}"]
    arguments: list[str] = []
    for param in ctx.command.params:
        value = ctx.params.get(param.name or "")
        if value is None or value == param.default or value in ((), [], False):
            continue
        values = list(value) if isinstance(value, list | tuple) else [value]
        if param.param_type_name == "argument":
            arguments.extend(shlex.quote(str(one)) for one in values)
            continue
        flag = param.opts[0]
        if getattr(param, "is_flag", False):
            options.append(flag)
            continue
        for one in values:
            shown = "NAME: ..." if flag == "--header" else str(one)
            options.append(f"{flag} {shlex.quote(shown)}")
    return " ".join([options[0], *arguments, *options[1:]])


def _write(path: Path | None, text: str) -> None:
    if path is None:
        typer.echo(text, nl=False)
        return
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{visible(str(path))}: cannot write: {exc.strerror}") from None


@app.command(epilog=examples(
    "txdiag report examples/transactions.jsonl -o incident.html",
    "txdiag report app.jsonl.gz --since 2026-11-11T00:00+08:00 --affected notify.csv -o r.html",
    "txdiag report app.jsonl --format markdown --lang zh > incident.md",
))
@reads_inputs
def report(
    ctx: typer.Context,
    inputs: opt.Inputs = None,
    output: Output = None,
    fmt: ReportFormatOpt = ReportFormat.HTML,
    lang: opt.Lang = None,
    top: opt.Top = 10,
    bucket: SummaryBucket = None,
    affected: Affected = None,
    *,
    settings: InputSettings,
) -> None:
    """The post-incident report: headline and incident windows, timeline charts, breakdowns,
    the failures to reconcile first, who to notify, and how it was made."""
    from txdiag.cli.session import Session
    from txdiag.timeline import Timeline, parse_duration

    timeline = Timeline(parse_duration(bucket, "--bucket") if bucket else None)
    session = Session.open(inputs, settings, lang)
    if affected is not None and "-" in session.inputs:
        raise UsageError("--affected reads the inputs a second time, and stdin cannot be",
                         hint="save the log to a file and name the file")
    painter = None
    if fmt is ReportFormat.HTML:
        from txdiag.report.painter import ChartPainter

        painter = ChartPainter()  # imports matplotlib on another core while the inputs are read
    try:
        _report(ctx, session, timeline, painter, output, fmt, top, affected)
    finally:
        if painter is not None:
            painter.close()


def _report(ctx: typer.Context, session: Session, timeline: Timeline,
            painter: ChartPainter | None, output: Path | None, fmt: ReportFormat, top: int,
            affected: Path | None) -> None:
    from txdiag.report import AffectedList, QueryFirst, build_report, write_markdown
    from txdiag.report.collect import read_again
    from txdiag.spikes import detect_spikes

    query_first = QueryFirst()
    outcome = session.stream(timeline=timeline, templates=True, watch=query_first)
    if outcome.failed_before_reading:
        finish(session, outcome)
    spikes = detect_spikes(timeline)
    listed = None
    if affected is not None and outcome.error is None and not outcome.interrupted:
        # Written as the rows come, to a temporary file renamed at the end: a run stopped
        # half-way leaves no half list under the name asked for.
        partial = affected.with_name(f".{affected.name}.partial")
        try:
            with partial.open("w", encoding="utf-8", newline="") as out:
                listed = AffectedList(spikes, session.pipeline, session.presenter, out)
                try:
                    if spikes:  # else the list is empty: no second pass
                        read_again(session.pipeline, session.inputs, listed)
                except KeyboardInterrupt:  # the report of the first pass is still written
                    outcome.interrupted = True
            if outcome.interrupted:
                listed = None
            else:
                partial.replace(affected)
        except OSError as exc:
            raise UsageError(f"{visible(str(affected))}: cannot write: {exc.strerror}"
                             ) from None
        finally:
            partial.unlink(missing_ok=True)
    made = build_report(outcome.summary, outcome.inputs, timeline, spikes, query_first,
                        session.rulebook, session.presenter, affected=listed,
                        affected_file=str(affected) if affected is not None else None,
                        command=repeat_command(ctx), top=top)
    if fmt is ReportFormat.MARKDOWN:
        text = io.StringIO()
        write_markdown(made, text)
        _write(output, text.getvalue())
    else:
        from txdiag.report.html import render_html

        _write(output, render_html(made, painter))
    if output is not None and not session.quiet:
        session.terminal.say(session.terminal.safe(f"wrote {output}"))
    finish(session, outcome)
