"""``check``: judge a log against thresholds, for CI gates and incident runbooks.

Exit 0 within limits, 1 breached, 2 bad thresholds, 3 unreadable input, 5 nothing to judge,
130 interrupted. The verdict is printed in every case, so a script can both branch on the code
and read why (``--format json``: docs/output.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from txdiag.cli import options as opt
from txdiag.cli.base import app, examples, json_errors
from txdiag.cli.common import InputSettings, reads_inputs
from txdiag.exitcodes import ExitCode
from txdiag.render import OutputFormat

if TYPE_CHECKING:
    # The command's machinery loads when it runs: registering it (every process) stays cheap.
    from txdiag.cli.session import Outcome
    from txdiag.gate import GateResult

WINDOW_MIN_RECORDS = 20
"""Default --min-records with --window: a quiet window cannot trip a rate limit."""

MaxRate = Annotated[
    list[str] | None,
    typer.Option("--max-rate", metavar="CATEGORY=PCT", show_default=False,
                 help="Breach when failures of CATEGORY exceed PCT % of all records; "
                 "CATEGORY 'failure' means all failures. Repeatable."),
]
MaxCount = Annotated[
    list[str] | None,
    typer.Option("--max-count", metavar="CATEGORY=N", show_default=False,
                 help="Breach when there are more than N failures of CATEGORY ('failure': "
                 "all). Repeatable."),
]
MinSuccessRate = Annotated[
    str | None,
    typer.Option("--min-success-rate", metavar="PCT", show_default=False,
                 help="Breach when successes are below PCT % of all records."),
]
WindowOpt = Annotated[
    str | None,
    typer.Option("--window", metavar="DURATION", show_default=False,
                 help="Judge every time window of this size (e.g. 5m, aligned to the clock) "
                 "instead of the whole run; breach if any window does."),
]
MinRecords = Annotated[
    int | None,
    typer.Option("--min-records", min=1, show_default=False,
                 help="Windows (or, without --window, the run) with fewer records are not "
                 f"judged \\[default: {WINDOW_MIN_RECORDS} with --window, else 1]."),
]


@app.command(epilog=examples(
    "txdiag check app.jsonl --max-rate system=5 --max-rate failure=40",
    "txdiag check app.jsonl --window 5m --max-rate network=10 --min-records 50",
    "txdiag check app.jsonl --since 15m --min-success-rate 95 --format json",
    "txdiag check app.jsonl --max-count risk_control=100 || page-oncall",
))
@reads_inputs
def check(
    inputs: opt.Inputs = None,
    fmt: opt.Format = OutputFormat.TABLE,
    lang: opt.Lang = None,
    max_rate: MaxRate = None,
    max_count: MaxCount = None,
    min_success_rate: MinSuccessRate = None,
    window: WindowOpt = None,
    min_records: MinRecords = None,
    top: opt.Top = 5,
    *,
    settings: InputSettings,
) -> None:
    """Judge failure rates and counts against limits: exit 0 within them, 1 breached, 5 when
    there is nothing to judge."""
    json_errors(fmt is OutputFormat.JSON)
    from txdiag.cli.session import Session
    from txdiag.gate import Gate, parse_thresholds
    from txdiag.timeline import parse_duration

    # Bad thresholds are usage errors before anything is read.
    thresholds = parse_thresholds(max_rate or (), max_count or (), min_success_rate)
    window_seconds = parse_duration(window, "--window") if window else None
    if min_records is None:
        min_records = WINDOW_MIN_RECORDS if window_seconds else 1
    gate = Gate(thresholds, window=window_seconds, min_records=min_records)
    session = Session.open(inputs, settings, lang)
    # The gate is given every record's time and verdict, in batches where the library can.
    outcome = session.stream(tally=gate)
    if outcome.failed_before_reading:
        session.report(outcome)
        assert outcome.error is not None
        raise outcome.error
    result = gate.result()
    code = exit_code(result, outcome)
    from txdiag.render.check import write_check

    write_check(fmt, session.terminal.stdout, result, outcome.summary, outcome.inputs,
                session.presenter, exit_code=code, interrupted=outcome.interrupted,
                color=session.terminal.color, top=top)
    session.report(outcome)
    if outcome.error is not None:
        raise outcome.error
    if outcome.interrupted:
        raise typer.Exit(ExitCode.INTERRUPTED)  # main() makes it 143 after SIGTERM
    if code == ExitCode.NO_RECORDS:
        needed = f"{min_records} record{'s' if min_records > 1 else ''}"
        where = "no window had" if window_seconds else "the input did not have"
        session.terminal.error(
            f"no records to judge: {where} {needed}" if outcome.summary.records else
            "no records to judge", "check the input, --since/--until, or lower --min-records",
            int(code), as_json=fmt is OutputFormat.JSON)
    raise typer.Exit(code)


def exit_code(result: GateResult, outcome: Outcome) -> ExitCode:
    """An input error outranks the verdict (the data is incomplete), Ctrl-C outranks all."""
    from txdiag.gate import Verdict

    if outcome.interrupted:
        from txdiag.cli.app import was_terminated  # at run time: app imports this module

        return ExitCode.TERMINATED if was_terminated() else ExitCode.INTERRUPTED
    if outcome.error is not None:
        return outcome.error.exit_code
    return {Verdict.OK: ExitCode.OK, Verdict.BREACH: ExitCode.BREACH,
            Verdict.NO_RECORDS: ExitCode.NO_RECORDS}[result.verdict]
