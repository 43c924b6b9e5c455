"""``diagnose`` and ``summary``: read inputs, classify, and render rows or the totals."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from txdiag.cli import options as opt
from txdiag.cli.base import app, examples, json_errors
from txdiag.cli.common import InputSettings, reads_inputs
from txdiag.cli.spark_engine import check_engine, spark_diagnose, spark_engine
from txdiag.exitcodes import ExitCode
from txdiag.render import OutputFormat

if TYPE_CHECKING:
    # The commands' machinery loads when one runs: registering them (every process) stays
    # cheap.
    from txdiag.cli.session import Outcome, Session
    from txdiag.render.writers import FindingWriter

SummaryBucket = Annotated[
    str | None,
    typer.Option("--bucket", show_default=False, metavar="DURATION",
                 help="Time bucket of the time view, e.g. 30s, 1m, 1h \\[default: automatic]. "
                 "Widened when the span would need more than 240 buckets."),
]


def finish(session: Session, outcome: Outcome, note: str | None = None) -> None:
    """Report on stderr (``note`` last), then leave with the error or interruption that stopped
    the run."""
    session.report(outcome)
    if note and not session.quiet:
        session.terminal.say(note)
    if outcome.error is not None:
        raise outcome.error
    if outcome.interrupted:
        raise typer.Exit(ExitCode.INTERRUPTED)


@app.command(epilog=examples(
    "txdiag diagnose examples/transactions.jsonl -c network -n 20",
    "zcat app.log.gz | txdiag diagnose - --format jsonl > failures.jsonl",
    "txdiag diagnose gateway.log --input-format text --since 2h --lang zh",
    "txdiag diagnose logs/*.jsonl.gz --engine spark --master yarn --output failures/",
))
@reads_inputs
def diagnose(
    inputs: opt.Inputs = None,
    fmt: opt.Format = OutputFormat.TABLE,
    lang: opt.Lang = None,
    category: opt.Categories = None,
    limit: opt.Limit = None,
    engine: opt.Engine = opt.EngineChoice.local,
    master: opt.Master = None,
    output_dir: opt.SparkOutput = None,
    output_format: opt.SparkOutputFormat = opt.SparkOutputChoice.jsonl,
    *,
    settings: InputSettings,
) -> None:
    """One row per failed transaction: time, id, channel, code, message, category, reason, hint."""
    json_errors(fmt is OutputFormat.JSON)
    from txdiag.cli.session import Session
    from txdiag.render.writers import FindingFeed, finding_writer

    check_engine(engine, master=master, output=output_dir, limit=limit, needs_output=True)
    session = Session.open(inputs, settings, lang)
    if engine is opt.EngineChoice.spark:
        assert output_dir is not None  # checked
        spark_diagnose(session, master, output_dir, output_format, category)
        return

    term = session.terminal
    wanted = set(category) if category else None
    writer: FindingWriter | None = None

    def output() -> FindingWriter:
        # Created on first use, so an input that fails at once leaves stdout empty.
        nonlocal writer
        if writer is None:
            writer = finding_writer(fmt, term.stdout, session.presenter, color=term.color)
        return writer

    # The library reads on, past -n, so that the totals cover the whole input.
    feed = FindingFeed(output, session.pipeline, categories=wanted, limit=limit)
    outcome = session.stream(rows=feed)
    shown = feed.shown
    note = None
    if not outcome.failed_before_reading:
        output().finish(outcome.summary, outcome.inputs)
        by_category = outcome.summary.by_category
        matched = (sum(by_category[c] for c in wanted) if wanted is not None
                   else outcome.summary.failures)
        if matched > shown:
            from txdiag.vocabulary import counted

            note = f"{shown:,} of {counted(matched, 'failure')} shown (-n {limit})"
    finish(session, outcome, note)


@app.command(epilog=examples(
    "txdiag summary examples/transactions.jsonl",
    "zcat app.log.gz | txdiag summary -",
    "txdiag summary app.jsonl --format json | jq .by_category",
    "txdiag summary export.csv --encoding gb18030 --profile unionpay",
    "txdiag summary logs/*.jsonl.gz --engine spark --master local[*] -f json",
))
@reads_inputs
def summary(
    inputs: opt.Inputs = None,
    fmt: opt.Format = OutputFormat.TABLE,
    lang: opt.Lang = None,
    top: opt.Top = 10,
    bucket: SummaryBucket = None,
    engine: opt.Engine = opt.EngineChoice.local,
    master: opt.Master = None,
    *,
    settings: InputSettings,
) -> None:
    """Totals, failures by category, top reasons, top codes per channel, failures over time
    and spikes."""
    json_errors(fmt is OutputFormat.JSON)
    from txdiag.cli.session import Session
    from txdiag.render.reports import write_summary
    from txdiag.timeline import Timeline, parse_duration

    check_engine(engine, master=master)
    timeline = Timeline(parse_duration(bucket, "--bucket") if bucket else None)
    session = Session.open(inputs, settings, lang)
    if engine is opt.EngineChoice.spark:
        session.engine = spark_engine(session, master)

    # No per-record callback: the summary and the timeline take the fast path (txdiag.fold).
    outcome = session.stream(timeline=timeline, templates=True)
    if not outcome.failed_before_reading:
        write_summary(fmt, session.terminal.stdout, outcome.summary, outcome.inputs,
                      session.presenter, color=session.terminal.color, top=top,
                      timeline=timeline)
    finish(session, outcome)
