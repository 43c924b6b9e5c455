"""``check`` verdicts in every output format (docs/output.md, ``check --format json``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TextIO

from txdiag.aggregate import Summary
from txdiag.exitcodes import ExitCode
from txdiag.gate import Breach, CheckResult, GateResult, Kind, Threshold, Verdict, Window
from txdiag.readers import ReadStats
from txdiag.render import OutputFormat
from txdiag.render.common import SCHEMA_VERSION, Presenter, inputs_list, share, totals_dict
from txdiag.render.data import DataResult, Table, write_data
from txdiag.safety import visible
from txdiag.timeline import describe_width
from txdiag.vocabulary import counted, format_time

SHOWN_BREACHES = 3
"""Breached windows listed per threshold in the table verdict (JSON has up to 200)."""

def _value(threshold: Threshold, value: float) -> float | int:
    return int(value) if threshold.kind is Kind.MAX_COUNT else round(value, 6)


def _window(window: Window | None) -> dict[str, str] | None:
    if window is None:
        return None
    return {"start": format_time(window.start), "end": format_time(window.end)}


def _threshold(threshold: Threshold) -> dict[str, Any]:
    return {
        "threshold": threshold.text,
        "kind": threshold.kind.value,
        "target": threshold.target,
        "limit": _value(threshold, threshold.limit),
    }


def _check(check: CheckResult) -> dict[str, Any]:
    t = check.threshold
    return {
        **_threshold(t),
        "ok": check.ok,
        "measured": None if check.measured is None else _value(t, check.measured),
        "records": check.records,
        "window": _window(check.window),
        "judged": check.judged,
        "breached": check.breached,
    }


def _breach(breach: Breach) -> dict[str, Any]:
    return {
        **_threshold(breach.threshold),
        "measured": _value(breach.threshold, breach.measured),
        "records": breach.records,
        "failures": breach.failures,
        "window": _window(breach.window),
        "top_reason": breach.top_reason,
    }


def check_dict(result: GateResult, summary: Summary, inputs: Sequence[ReadStats], p: Presenter,
               *, exit_code: int, top: int = 5) -> dict[str, Any]:
    """The ``check --format json`` object (docs/output.md, schemas/check.schema.json)."""
    run = result.run
    return {
        "schema_version": SCHEMA_VERSION,
        "command": "check",
        "ok": result.ok and exit_code == ExitCode.OK,
        "verdict": result.verdict.value,
        "exit_code": exit_code,
        "complete": exit_code in (ExitCode.OK, ExitCode.BREACH, ExitCode.NO_RECORDS)
        and not _partial(inputs),
        "window_seconds": result.window_seconds,
        "min_records": result.min_records,
        "judged": result.judged,
        "quiet": result.quiet,
        "late": result.late,
        "no_timestamp": result.no_timestamp,
        "span": {"start": format_time(run.first) or None, "end": format_time(run.last) or None},
        "totals": totals_dict(summary, inputs),
        "checks": [_check(c) for c in result.checks],
        "breaches": [_breach(b) for b in result.breaches],
        "breach_count": result.breach_count,
        "top_reasons": [
            {"reason": reason, "category": summary.reason_category[reason], "count": count,
             "share_of_failures": share(count, summary.failures)}
            for reason, count in summary.top_reasons(top)
        ],
        "inputs": inputs_list(inputs, p),
    }


def write_check(fmt: OutputFormat, out: TextIO, result: GateResult, summary: Summary,
                inputs: Sequence[ReadStats], p: Presenter, *, exit_code: int,
                interrupted: bool = False, color: bool = False, width: int | None = None,
                top: int = 5) -> None:
    if fmt is OutputFormat.TABLE:
        render_verdict(out, result, summary, exit_code=exit_code, interrupted=interrupted,
                       color=color, width=width, top=top, partial=_partial(inputs))
        return
    data = check_dict(result, summary, inputs, p, exit_code=exit_code, top=top)
    csv_rows = (
        (row["threshold"], row["kind"], row["target"], row["limit"], row["ok"], row["measured"],
         row["records"], (row["window"] or {}).get("start"), (row["window"] or {}).get("end"),
         row["judged"], row["breached"])
        for row in data["checks"]
    )
    markdown_rows = (
        (check.threshold.text, "yes" if check.ok else "no",
         _shown(check.threshold, check.measured), _span(check.window),
         f"{check.breached}/{check.judged}")
        for check in result.checks
    )
    write_data(fmt, out, DataResult(
        document=data,
        csv=Table(("threshold", "kind", "target", "limit", "ok", "measured", "records",
                   "window_start", "window_end", "judged", "breached"), csv_rows),
        markdown=[f"**{_headline(result, exit_code, interrupted, _partial(inputs))}**",
                  Table(("threshold", "ok", "measured (worst)", "window", "breached"),
                        markdown_rows, right=(2, 4))],
    ))


def _pct(value: float) -> str:
    text = f"{value * 100:.2f}".rstrip("0").rstrip(".")
    return f"{text}%"


def _shown(threshold: Threshold, value: float | None) -> str:
    if value is None:
        return "-"
    return f"{int(value):,}" if threshold.kind is Kind.MAX_COUNT else _pct(value)


def _span(window: Window | None) -> str:
    return f"{format_time(window.start)} to {format_time(window.end)}" if window else "run"


def _subject(threshold: Threshold) -> str:
    if threshold.kind is Kind.MAX_RATE:
        return f"{threshold.target} rate"
    if threshold.kind is Kind.MAX_COUNT:
        return f"{threshold.target} count"
    return "success rate"


def _limit(threshold: Threshold) -> str:
    word = "minimum" if threshold.kind is Kind.MIN_SUCCESS_RATE else "limit"
    return f"{word} {_shown(threshold, threshold.limit)}"


def _partial(inputs: Sequence[ReadStats]) -> str | None:
    """Why an input was cut short without an error (``--max-pages``), if one was."""
    return next((stats.partial for stats in inputs if stats.partial), None)


def _headline(result: GateResult, exit_code: int, interrupted: bool,
              partial: str | None = None) -> str:
    total = len(result.checks)
    breached = sum(not c.ok for c in result.checks)
    if interrupted:
        prefix = "INTERRUPTED (partial input) " if exit_code == ExitCode.INTERRUPTED else (
            "TERMINATED (partial input) ")
    elif exit_code not in (ExitCode.OK, ExitCode.BREACH, ExitCode.NO_RECORDS):
        prefix = "INPUT ERROR (partial input) "
    elif partial:
        prefix = f"PARTIAL INPUT ({partial}) "
    else:
        prefix = ""
    if result.verdict is Verdict.NO_RECORDS:
        return prefix + "NO RECORDS: nothing to judge"
    if result.verdict is Verdict.BREACH:
        return prefix + f"BREACH: {breached} of {total} limit{'s' * (total > 1)} breached"
    return prefix + (f"OK: all {total} limits held" if total > 1 else "OK: the limit held")


def _between(first: datetime | None, last: datetime | None) -> str:
    if first is None or last is None:
        return ""
    return f", {format_time(first)} to {format_time(last)}"


def render_verdict(out: TextIO, result: GateResult, summary: Summary, *, exit_code: int,
                   interrupted: bool = False, color: bool = False, width: int | None = None,
                   top: int = 5, partial: str | None = None) -> None:
    """The one-screen verdict: numbers, times and rulebook ids (made visible: a user rule file
    may name a reason anything)."""
    from rich.table import Table
    from rich.text import Text

    from txdiag.render.console import make_console

    console = make_console(out, width=width, color=color)
    style = {Verdict.OK: "bold green", Verdict.BREACH: "bold red",
             Verdict.NO_RECORDS: "bold yellow"}[result.verdict]
    console.print(Text(_headline(result, exit_code, interrupted, partial), style=style))
    s = summary
    facts = (f"{counted(s.records, 'record')}, {counted(s.failures, 'failure')} "
             f"({_pct(share(s.failures, s.records))})" + _between(result.run.first,
                                                                    result.run.last))
    if result.window_seconds:
        facts += (f"; {describe_width(result.window_seconds)} windows: {result.judged:,} "
                  f"judged, {result.quiet:,} with under {result.min_records:,} records")
        if result.no_timestamp:
            facts += f", {result.no_timestamp:,} records without a time"
        if result.late:
            facts += f", {result.late:,} too late to judge"
    elif result.quiet:
        facts += f"; under {result.min_records:,} records: not judged"
    console.print(Text(facts))
    by_threshold: dict[Threshold, list[Breach]] = {}
    for breach in result.breaches:
        by_threshold.setdefault(breach.threshold, []).append(breach)
    # A grid, so that wrapped lines hang under the text, not under the status word.
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for check in result.checks:
        t = check.threshold
        line = Text(_subject(t))
        if check.measured is None:
            line.append(f": not judged ({_limit(t)})")
        else:
            worst = "worst " if result.window_seconds and check.judged > 1 else ""
            line.append(f" {worst}{_shown(t, check.measured)} ({_limit(t)})")
            if check.window is not None:
                line.append(f" in {_span(check.window)}, {check.records:,} records")
            if result.window_seconds:
                line.append(f"; {check.breached:,} of {check.judged:,} windows breached")
        grid.add_row(Text("ok" if check.ok else "BREACH",
                          style="green" if check.ok else "bold red"), line)
        if not result.window_seconds:
            continue
        shown = by_threshold.get(t, [])[:SHOWN_BREACHES]
        for breach in shown:
            detail = Text(f"- {_span(breach.window)}: {_shown(t, breach.measured)} "
                          f"({breach.records:,} records)", style="dim")
            if breach.top_reason:
                detail.append(f", mostly {visible(breach.top_reason)}")
            grid.add_row("", detail)
        if check.breached > len(shown):
            grid.add_row("", Text(f"- and {check.breached - len(shown):,} more (--format json "
                                  "lists them)", style="dim"))
    console.print(grid)
    reasons = s.top_reasons(top)
    if reasons:
        line = Text("Top reasons: ")
        line.append(", ".join(f"{visible(reason)} {count:,}" for reason, count in reasons))
        console.print(line, overflow="fold")
