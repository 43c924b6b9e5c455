"""The report's charts, drawn by matplotlib as SVG (imported only by ``txdiag report``).

Only numbers, times and category names reach a chart: no log text. Figures are made with the
object API (no pyplot, no global figure state) and written with fixed ids and no date, so the
same data gives the same SVG.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from matplotlib import rc_context
from matplotlib.dates import AutoDateLocator, DateFormatter
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from txdiag.spikes import Spike
from txdiag.timeline import CATEGORIES, Bucket, Timeline, epoch_seconds

COLORS = {
    "balance": "#4e79a7",
    "network": "#f28e2b",
    "card_binding": "#76b7b2",
    "risk_control": "#b07aa1",
    "system": "#e15759",
    "unknown": "#9c9c9c",
}
"""One colour per category, the same in every chart (Tableau 10, readable in grey print)."""
SHADE = "#ffd166"
_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.DOTALL)
"""The RDF block matplotlib writes (creator, format): of no use in the page."""

_RC: Any = {
    "svg.fonttype": "none",  # text as text: smaller, and selectable in the page
    "svg.hashsalt": "txdiag-report",
    "date.epoch": "1970-01-01T00:00:00",
    "font.size": 9,
    "font.family": "sans-serif",
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    # Fixed margins (no tight bounding box, no tight layout): each costs a drawing pass.
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    text = text[text.index("<svg"):]  # no XML prolog or DOCTYPE inside an HTML page
    return _METADATA.sub("", text, count=1)


def _x(moment: datetime) -> float:
    """A time as matplotlib's date number: days since its epoch (set to Unix's in _RC)."""
    return epoch_seconds(moment) / 86400


def _series(timeline: Timeline) -> tuple[list[float], list[Bucket]]:
    """Every bucket in time order, and the edges of their steps (one more than buckets)."""
    edges, buckets = [], []
    for key, bucket in timeline.series():
        edges.append(_x(timeline.start_of(key)))
        buckets.append(bucket)
    if edges:
        edges.append(edges[-1] + timeline.width / 86400)
    return edges, buckets


def _time_axis(axes: Any) -> None:
    # matplotlib.dates has no type hints.
    axes.xaxis.set_major_locator(AutoDateLocator(maxticks=8))  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_formatter(DateFormatter("%H:%M"))  # type: ignore[no-untyped-call]
    axes.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))  # counts: whole numbers


def timeline_chart(timeline: Timeline, spikes: Sequence[Spike]) -> str:
    """Failures per bucket stacked by category, the failure rate, incident windows shaded."""
    edges, buckets = _series(timeline)
    with rc_context(_RC):
        figure = Figure(figsize=(10, 3.6))
        figure.subplots_adjust(left=0.07, right=0.8, top=0.95, bottom=0.1)
        axes = figure.add_subplot()
        bottom = [0] * len(buckets)
        for category in CATEGORIES:
            values = [bucket.failures.get(category, 0) for bucket in buckets]
            if not any(values):
                continue
            top = [b + v for b, v in zip(bottom, values, strict=True)]
            # One filled step outline per category (a bar per bucket is slow and large).
            axes.stairs(top, edges, baseline=bottom, fill=True, color=COLORS[category],
                        label=category, linewidth=0)
            bottom = top
        for number, spike in enumerate(spikes, 1):
            axes.axvspan(_x(spike.start), _x(spike.end), color=SHADE, alpha=0.35, zorder=0,
                         linewidth=0)
            axes.annotate(f"#{number} {spike.category}", xy=(_x(spike.start), 1),
                          xycoords=("data", "axes fraction"), xytext=(2, -10),
                          textcoords="offset points", fontsize=8)
        axes.set_ylabel("failures per bucket")
        _time_axis(axes)
        rate = axes.twinx()
        middle = (edges[1] - edges[0]) / 2 if len(edges) > 1 else 0
        rate.plot([t + middle for t, b in zip(edges, buckets, strict=False) if b.records],
                  [b.failed / b.records * 100 for b in buckets if b.records],
                  color="#222222", linewidth=1.2, label="failure rate")
        rate.set_ylabel("failure rate (%)")
        rate.set_ylim(0, 100)
        rate.spines["top"].set_visible(False)
        handles, labels = axes.get_legend_handles_labels()
        more, more_labels = rate.get_legend_handles_labels()
        axes.legend(handles + more, labels + more_labels, loc="upper left",
                    bbox_to_anchor=(1.06, 1), frameon=False)
        return _svg(figure)


def category_charts(timeline: Timeline, spikes: Sequence[Spike]) -> str:
    """Small multiples: each category's failures per bucket, its own windows shaded."""
    edges, buckets = _series(timeline)
    with rc_context(_RC):
        figure = Figure(figsize=(10, 4.2))
        figure.subplots_adjust(left=0.05, right=0.99, top=0.93, bottom=0.08, wspace=0.18,
                               hspace=0.3)
        grid = figure.subplots(2, 3, sharex=True)
        for axes, category in zip(grid.flat, CATEGORIES, strict=True):
            values = [bucket.failures.get(category, 0) for bucket in buckets]
            axes.stairs(values, edges, fill=True, color=COLORS[category], linewidth=0)
            for spike in spikes:
                if spike.category == category:
                    axes.axvspan(_x(spike.start), _x(spike.end), color=SHADE, alpha=0.35, zorder=0,
                                 linewidth=0)
            axes.set_title(category, fontsize=9, loc="left")
            _time_axis(axes)
        return _svg(figure)
