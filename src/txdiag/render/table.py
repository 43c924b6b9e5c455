"""Rich renderings for people at a terminal. Untrusted text enters Rich only as ``Text``.

Rich is imported here and nowhere in the core, so machine formats never pay for it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import timedelta
from typing import IO, TYPE_CHECKING, TextIO

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from txdiag.aggregate import Summary
from txdiag.readers import ReadStats
from txdiag.render.common import (
    Presenter,
    baseline_text,
    no_records_text,
    partial_note,
    share,
)
from txdiag.render.console import CATEGORY_STYLE, category_text, make_console
from txdiag.render.writers import WritesFindings, shorten
from txdiag.safety import visible
from txdiag.spikes import Spike, detection_width, merge_adjacent
from txdiag.timeline import CATEGORIES, Timeline, describe_width
from txdiag.vocabulary import counted, format_time

if TYPE_CHECKING:
    from txdiag.models import Finding

BATCH_ROWS = 200
MESSAGE_MIN = 24
"""The narrowest message column worth showing; below it the compact table leaves it out."""
HINT_LABEL_MIN = 40
"""Room the hint needs beside its reason; with less, the hint goes on the lines below it."""

_IDENTIFIERS = ("time", "txn id", "channel", "code", "reason")


def table_width(widths: Sequence[int], *, edge: bool = False) -> int:
    """The width of a ``SIMPLE_HEAD`` table whose columns are ``widths`` wide.

    Each column is padded by one space on each side (the outer sides only with ``edge``), and
    columns are separated, and the table framed, by one space.
    """
    return sum(widths) + 3 * len(widths) + (1 if edge else -1)


class TableWriter(WritesFindings):
    """Streams findings in batches of ``BATCH_ROWS``, so memory stays flat on big inputs.

    Identifiers (time, id, channel, code, reason) are never wrapped or cut: a batch is a compact
    table (those columns, the message when there is room) when they fit the width whole, and one
    block per record otherwise. Below a table, the hint of each reason is shown once.
    """

    def __init__(self, out: TextIO, presenter: Presenter, *, width: int | None = None,
                 color: bool = False) -> None:
        self.console = make_console(out, width=width, color=color)
        self.p = presenter
        self.batch: list[Finding] = []
        self.shown = 0
        self.tables = 0
        self.hinted: set[str] = set()
        self.noted = False

    def write(self, finding: Finding) -> None:
        self.batch.append(finding)
        if len(self.batch) >= BATCH_ROWS:
            self._flush()

    def _flush(self) -> None:
        if not self.batch:
            return
        rows = [self._cells(f) for f in self.batch]
        widths = [max(cell_len(name), *(cell_len(row[i]) for row in rows))
                  for i, name in enumerate(_IDENTIFIERS)]
        room = self.console.width - table_width([*widths, 0])
        if table_width(widths) > self.console.width:
            for finding in self.batch:
                self.console.print(self._record(finding))
        else:
            message = room if room >= MESSAGE_MIN else 0
            self.console.print(self._table(rows, widths, message))
            if not message and not self.noted:
                self.noted = True
                self.console.print(Text(
                    f"Messages are left out below {self.console.width - room + MESSAGE_MIN} "
                    "columns; --format json or jsonl has every field.", style="dim"))
            self._hints(self.batch)
        self.shown += len(self.batch)
        self.batch.clear()

    def _cells(self, f: Finding) -> tuple[str, str, str, str, str, str]:
        r, p = f.record, self.p
        return (format_time(r.timestamp) or p.text(r.timestamp_raw), p.text(r.txn_id),
                p.text(r.channel), p.text(r.error_code), f.diagnosis.reason,
                shorten(p.text(r.error_message)))

    def _table(self, rows: Sequence[Sequence[str]], widths: Sequence[int], message: int) -> Table:
        table = Table(box=box.SIMPLE_HEAD, show_header=self.tables == 0, pad_edge=False,
                      expand=False)
        self.tables += 1
        for name, width in zip(_IDENTIFIERS, widths, strict=True):
            table.add_column(name, no_wrap=True, min_width=width)
        if message:
            table.add_column("message", overflow="fold", max_width=message)
        styles = [CATEGORY_STYLE.get(f.diagnosis.category.value, "") for f in self.batch]
        for row, style in zip(rows, styles, strict=True):
            cells = [Text(cell) for cell in row[:5]]
            cells[4].stylize(style)
            if message:
                cells.append(Text(row[5]))
            table.add_row(*cells)
        return table

    def _hints(self, findings: Sequence[Finding]) -> None:
        """The hint of every reason not hinted yet, once, under the table that first showed it."""
        fresh: dict[str, Finding] = {}
        for f in findings:
            if f.diagnosis.reason not in self.hinted:
                fresh.setdefault(f.diagnosis.reason, f)
        if not fresh:
            return
        self.hinted.update(fresh)
        p = self.p
        reason_width = max(map(cell_len, fresh))
        beside = self.console.width - reason_width - 2 >= HINT_LABEL_MIN
        self.console.print(Text("告诉客户（每个原因只列一次）" if p.lang == "zh" else
                                "Hints (what to tell the customer), once per reason",
                                style="bold"))
        grid = Table.grid(padding=(0, 2) if beside else (0, 0, 0, 2))
        if beside:
            grid.add_column(no_wrap=True)
        grid.add_column(overflow="fold")
        for reason, f in fresh.items():
            label = Text(reason, style=CATEGORY_STYLE.get(f.diagnosis.category.value, ""))
            hint = Text(titled_hint(f, p))
            if beside:
                grid.add_row(label, hint)
            else:
                self.console.print(label, overflow="fold")
                self.console.print(Padding(hint, (0, 0, 0, 2)))
        if beside:
            self.console.print(grid)
        self.console.print()

    def _record(self, f: Finding) -> Table:
        """One finding as label/value lines: readable in 40 columns, ids folded, never cut."""
        r, d = f.record, f.diagnosis
        p = self.p
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold")
        rows = [
            ("time", format_time(r.timestamp) or p.text(r.timestamp_raw)),
            ("txn", p.text(r.txn_id)),
            ("channel", p.text(r.channel)),
            ("code", p.text(r.error_code)),
            ("message", shorten(p.text(r.error_message), 200)),
        ]
        for label, value in rows:
            if value:
                grid.add_row(label, Text(value))
        category = category_text(d.category.value)
        if p.title(d.category.value):
            category.append(f"  {p.title(d.category.value)}", style="")
        grid.add_row("category", category)
        grid.add_row("reason", Text(d.reason))
        grid.add_row("hint", Text(titled_hint(f, p)))
        grid.add_row("", Text(""))
        return grid

    def finish(self, summary: Summary, inputs: Sequence[ReadStats]) -> None:
        self._flush()
        if summary.stopped:
            self.console.print(Text(f"{partial_note(summary)}the rows above are those read "
                                    "before the stop", style="bold yellow"))
        elif self.shown == 0:
            self.console.print(Text("No failures to show.", style="green"))


def titled_hint(f: Finding, p: Presenter) -> str:
    """The hint for the customer; in Chinese, after the reason's title (its id is English)."""
    d = f.diagnosis
    hint = p.text(d.hint.get(p.lang))
    return f"{p.text(d.title.get(p.lang))}：{hint}" if p.lang == "zh" else hint


def _bar(fraction: float, width: int = 20) -> Text:
    filled = round(fraction * width)
    return Text("█" * filled + "·" * (width - filled))


def render_summary(out: TextIO, summary: Summary, inputs: Sequence[ReadStats], p: Presenter,
                   *, width: int | None = None, color: bool = False, top: int = 10,
                   timeline: Timeline | None = None, spikes: Sequence[Spike] = ()) -> None:
    console = make_console(out, width=width, color=color)
    s = summary
    blank = sum(i.blank_lines for i in inputs)
    head = Text(partial_note(s), style="bold yellow")
    head.append(counted(s.records, "record"), style="bold")
    head.append(f": {counted(s.successes, 'success')}, ")
    head.append(counted(s.failures, "failure"), style="bold red" if s.failures else "")
    head.append(f" ({share(s.failures, s.records):.1%})")
    head.append(f"; {s.unreadable:,} unreadable")
    if blank:
        head.append(f", {blank:,} blank lines skipped")
    console.print(head)
    if s.records == 0:
        console.print(Text(no_records_text(s), style="yellow"))
        _print_inputs(console, inputs, p)
        return

    table = Table(title="Failures by category", box=box.SIMPLE_HEAD, title_justify="left")
    table.add_column("category", no_wrap=True)
    # In Chinese, each category's name beside its id.
    title_width = max(cell_len(p.title(category)) for category in s.by_category)
    if title_width:
        table.add_column("类别", no_wrap=True)
    table.add_column("failures", justify="right", no_wrap=True)
    table.add_column("share", justify="right", no_wrap=True)
    # The bar gives way on a narrow screen, so the category names are never cut.
    bar_width = min(20, console.width - 38 - (title_width + 3 if title_width else 0))
    if bar_width >= 4:
        table.add_column("", no_wrap=True)
    for category, count in s.by_category.items():
        fraction = share(count, s.failures)
        cells: list[Text | str] = [category_text(category), f"{count:,}", f"{fraction:.1%}"]
        if title_width:
            cells.insert(1, Text(p.title(category)))
        if bar_width >= 4:
            cells.append(_bar(fraction, bar_width))
        table.add_row(*cells)
    console.print(table)

    if s.by_reason:
        reasons = Table(title="Top reasons", box=box.SIMPLE_HEAD, title_justify="left")
        top_reasons = s.top_reasons(top)
        numbers = [max(len(f"{n:,}") for _, n in top_reasons) + 1, len("100.0%")]
        reason_width = max(cell_len(r) for r, _ in top_reasons)
        title_width = max(cell_len(p.title(r)) for r, _ in top_reasons)
        # A Chinese title goes beside its reason when both fit, else under it.
        beside = bool(title_width) and table_width(
            [reason_width, title_width, *numbers], edge=True) <= console.width
        whole = table_width([max(reason_width, title_width + 2), *numbers],
                            edge=True) <= console.width
        reasons.add_column("reason", no_wrap=whole, overflow="fold")
        if beside:
            reasons.add_column("原因", no_wrap=True)
        reasons.add_column("count", justify="right")
        reasons.add_column("share", justify="right")
        for reason, count in top_reasons:
            cell = Text(reason, style=CATEGORY_STYLE.get(s.reason_category[reason], ""))
            title = p.title(reason)
            numbers_cells = [f"{count:,}", f"{share(count, s.failures):.1%}"]
            if beside:
                reasons.add_row(cell, Text(title), *numbers_cells)
                continue
            if title:
                cell.append(f"\n  {title}", style="")
            reasons.add_row(cell, *numbers_cells)
        console.print(reasons)
        console.print(_codes_table(console, s, p))
        _print_templates(console, s, p, top)

    if timeline is not None:
        render_time_view(console, timeline, spikes, ascii_only=not can_encode(out, SPARKS),
                         top=top)

    if s.unreadable:
        causes = ", ".join(f"{cause} {n:,}" for cause, n in s.unreadable_by_cause.most_common())
        console.print(Text(f"Unreadable: {causes}", style="yellow"))
    _print_inputs(console, inputs, p)


def _codes_table(console: Console, s: Summary, p: Presenter) -> Table:
    """Top codes per channel; the reason beside the code when both fit whole, else under it."""
    rows = [(p.text(channel) if index == 0 else "", p.text(code), count,
             s.code_reason(channel, code))
            for channel, pairs in s.top_codes(5).items()
            for index, (code, count) in enumerate(pairs)]
    widths = [max(cell_len(text) for text in column)
              for column in (["channel"] + [r[0] for r in rows], ["code"] + [r[1] for r in rows],
                             ["reason"] + [r[3] for r in rows])]
    count_width = max(len("count"), *(len(f"{row[2]:,}") for row in rows))
    beside = table_width([widths[0], widths[1], count_width, widths[2]],
                         edge=True) <= console.width
    # Under it, the reason is indented by two; only on a very narrow screen do ids fold.
    whole = beside or table_width([widths[0], max(widths[1], widths[2] + 2), count_width],
                                  edge=True) <= console.width
    codes = Table(title="Top codes by channel", box=box.SIMPLE_HEAD, title_justify="left")
    codes.add_column("channel", no_wrap=whole, overflow="fold")
    codes.add_column("code" if beside else "code / reason", no_wrap=whole, overflow="fold")
    codes.add_column("count", justify="right", no_wrap=True)
    if beside:
        codes.add_column("reason", no_wrap=True)
    for channel, code, count, reason in rows:
        style = CATEGORY_STYLE.get(s.reason_category.get(reason, ""), "")
        if beside:
            codes.add_row(Text(channel), Text(code), f"{count:,}", Text(reason, style=style))
        else:
            cell = Text(code)
            cell.append("\n  ")
            cell.append(reason, style=style)
            codes.add_row(Text(channel), cell, f"{count:,}")
    return codes


def _print_templates(console: Console, s: Summary, p: Presenter, top: int) -> None:
    """The most frequent templates of the failures no rule explains, an example under each."""
    miner = s.templates
    if not miner.failures:
        return
    table = Table(title="Top unknown failures (no rule matched)", box=box.SIMPLE_HEAD,
                  title_justify="left")
    table.add_column("count", justify="right", no_wrap=True)
    table.add_column("channel", overflow="fold")
    table.add_column("code", overflow="fold")
    table.add_column("message template / example", ratio=1, overflow="fold")
    for channel, code, template, count, example in miner.top(top):
        cell = Text(p.text(template)) if template else Text("(no message)", style="dim")
        if example and example != template:
            cell.append("\n")
            cell.append(Text(p.text(example), style="dim"))
        table.add_row(f"{count:,}", Text(p.text(channel)), Text(p.text(code)), cell)
    console.print(table)
    if miner.capped:
        console.print(Text(miner.cap_note(), style="yellow"))


def _print_inputs(console: Console, inputs: Sequence[ReadStats], p: Presenter) -> None:
    if inputs:
        described = "; ".join(
            f"{p.text(i.name)} ({i.format}{', ' + i.compression if i.compression else ''})"
            for i in inputs
        )
        console.print(Text(f"Inputs: {described}", style="dim"))


SPARKS = "▁▂▃▄▅▆▇█"
ASCII_SPARKS = ".:-=+*%#"
LABEL_WIDTH = 13
"""Sparkline rows: a category label, the line, then the row's peak."""


def can_encode(out: IO[str], sample: str) -> bool:
    """Whether the encoding of ``out`` can write ``sample`` (an ASCII stdout cannot)."""
    try:
        sample.encode(getattr(out, "encoding", None) or "utf-8")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def _spark(values: Sequence[int], ramp: str) -> str:
    """One character per value, scaled to the peak; a blank for zero (not the lowest glyph)."""
    peak = max(values, default=0)
    cells = []
    for value in values:
        if value <= 0:
            cells.append(" ")
        else:
            cells.append(ramp[min(len(ramp) - 1, math.ceil(value / peak * len(ramp)) - 1)])
    return "".join(cells)


def render_time_view(console: Console, timeline: Timeline, spikes: Sequence[Spike], *,
                     ascii_only: bool = False, top: int = 10) -> None:
    """Failures per bucket as one sparkline per category, then the spikes, one line each.

    Columns merge whole buckets to fit the width; each row is scaled to its own peak (shown
    at its end), so a small category's shape is as visible as a big one's.
    """
    series = list(timeline.series())
    if not series:
        console.print(Text(f"Failures over time: no record has a time "
                           f"({timeline.no_timestamp:,} without one)", style="dim"))
        return
    columns = max(8, console.width - LABEL_WIDTH - 9)
    per_column = math.ceil(len(series) / columns)
    span = describe_width(timeline.width * per_column)
    first_key, last_key = series[0][0], series[-1][0]
    title = Text("Failures over time", style="bold")
    title.append(f" ({span} per column, {format_time(timeline.start_of(first_key))} to "
                 f"{format_time(timeline.start_of(last_key + 1))})", style="")
    console.print(title)
    totals: list[int] = []
    rows: dict[str, list[int]] = {c: [] for c in CATEGORIES}
    for index in range(0, len(series), per_column):
        group = [bucket for _, bucket in series[index:index + per_column]]
        totals.append(sum(b.failed for b in group))
        for category, values in rows.items():
            values.append(sum(b.failures.get(category, 0) for b in group))
    ramp = ASCII_SPARKS if ascii_only else SPARKS
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True, min_width=LABEL_WIDTH - 1)
    grid.add_column(no_wrap=True)
    grid.add_column(justify="right", no_wrap=True)
    grid.add_row(Text("all failures"), Text(_spark(totals, ramp)), f"{max(totals):,}")
    for category, values in rows.items():
        if any(values):
            grid.add_row(category_text(category),
                         Text(_spark(values, ramp), style=CATEGORY_STYLE.get(category, "")),
                         f"{max(values):,}")
    console.print(grid)
    notes = []
    if timeline.no_timestamp:
        notes.append(f"{timeline.no_timestamp:,} records without a time are not shown")
    if timeline.dropped:
        notes.append(f"{timeline.dropped:,} records older than the kept buckets")
    if notes:
        console.print(Text("; ".join(notes), style="dim"))
    if not spikes:
        console.print(Text("No spikes.", style="dim"))
        return
    merged = merge_adjacent(spikes, timedelta(seconds=detection_width(timeline)))
    shown = sorted(merged, key=lambda s: s.excess, reverse=True)[:top]
    title = Text("Spikes (a category's rate far above its recent baseline)", style="bold")
    if len(merged) < len(spikes):
        title.append(f"; {len(spikes):,} windows, those of a category at most one bucket apart "
                     "merged", style="")
    console.print(title)
    for spike in sorted(shown, key=lambda s: (s.start, CATEGORIES.index(s.category))):
        line = Text()
        line.append(spike.category, style=CATEGORY_STYLE.get(spike.category, ""))
        line.append(f" {format_time(spike.start)} to {format_time(spike.end)}")
        if spike.ongoing:
            line.append(" (ongoing)", style="bold")
        line.append(f": peak {spike.peak_rate:.1%} of records ({baseline_text(spike)}), "
                    f"{spike.affected:,} failures")
        if spike.top_reason:
            line.append(f", top reason {visible(spike.top_reason)} "
                        f"({spike.top_reason_count:,})")
        console.print(line, overflow="fold")
    if len(merged) > len(shown):
        console.print(Text(f"... and {len(merged) - len(shown):,} smaller spikes (--top "
                           f"{top} shows the {top} with the most excess failures; --format "
                           "json lists every window)", style="dim"))
