"""``summary`` (and ``watch``'s final summary) in every output format."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TextIO

from txdiag.aggregate import Summary
from txdiag.readers import ReadStats
from txdiag.render import OutputFormat
from txdiag.render.common import Presenter, partial_note, share, summary_dict
from txdiag.render.data import Block, Cell, DataResult, Table, write_data
from txdiag.spikes import Spike, SpikeParams, detect_spikes
from txdiag.timeline import Timeline
from txdiag.vocabulary import counted, format_time


def write_summary(fmt: OutputFormat, out: TextIO, summary: Summary, inputs: Sequence[ReadStats],
                  p: Presenter, *, width: int | None = None, color: bool = False,
                  top: int = 10, timeline: Timeline | None = None,
                  spike_params: SpikeParams | None = None) -> None:
    """``timeline`` adds the time view: failures per bucket and the spikes found in them."""
    spike_params = spike_params or SpikeParams()
    spikes = detect_spikes(timeline, spike_params) if timeline is not None else []
    if fmt is OutputFormat.TABLE:
        from txdiag.render.table import render_summary

        render_summary(out, summary, inputs, p, width=width, color=color, top=top,
                       timeline=timeline, spikes=spikes)
        return
    data = summary_dict(summary, inputs, p, top=top, timeline=timeline, spikes=spikes,
                        spike_params=spike_params)
    write_data(fmt, out, DataResult(
        document=data,
        csv=Table(("section", "key", "category", "count", "share"),
                  _summary_rows(summary, data, spikes)),
        markdown=[*_summary_markdown(summary, p, top),
                  *(_spikes_markdown(spikes) if timeline is not None else ())],
    ))


def _summary_rows(summary: Summary, data: dict[str, Any],
                  spikes: Sequence[Spike]) -> Iterator[tuple[Cell, ...]]:
    """The ``summary --format csv`` rows: one section (totals, category, reason, ...) a row."""
    if summary.stopped:
        yield ("stopped", summary.stopped, "", "", "")
    for name, value in data["totals"].items():
        yield ("totals", name, "", value, "")
    for category, count in summary.by_category.items():
        yield ("category", category, category, count, share(count, summary.failures))
    for row in data["top_reasons"]:
        yield ("reason", row["reason"], row["category"], row["count"], row["share_of_failures"])
    for channel, codes in data["top_codes"].items():
        for code in codes:
            yield ("code", f"{channel}:{code['code']}",
                   summary.reason_category.get(code["reason"], ""), code["count"], "")
    templates = data["unknown_templates"]
    for row in templates["templates"]:
        yield ("template", f"{row['channel']}:{row['code']}:{row['template']}", "unknown",
               row["count"], row["share_of_unknown"])
    if templates["capped"]:
        yield ("template_overflow", "", "unknown", templates["overflow"], "")
    for cause, count in summary.unreadable_by_cause.items():
        yield ("unreadable", cause, "", count, "")
    for bucket in data.get("timeline", {}).get("buckets", ()):
        for category, count in bucket["by_category"].items():
            if count:
                yield ("bucket", bucket["start"], category, count,
                       share(count, bucket["records"]))
    for spike in spikes:
        yield ("spike", f"{format_time(spike.start)}/{format_time(spike.end)}", spike.category,
               spike.affected, round(spike.peak_rate, 4))


def _spikes_markdown(spikes: Sequence[Spike]) -> list[Block]:
    if not spikes:
        return ["No spikes."]
    return [Table(("spike", "start", "end", "peak rate", "baseline", "failures", "top reason"),
                  [(s.category, format_time(s.start), format_time(s.end), f"{s.peak_rate:.1%}",
                    f"{s.baseline_rate:.1%}", f"{s.affected:,}", s.top_reason or "")
                   for s in spikes], right=(3, 4, 5))]


def _summary_markdown(summary: Summary, p: Presenter, top: int = 10) -> list[Block]:
    t = summary
    blocks: list[Block] = [
        f"{partial_note(t)}**{counted(t.records, 'record')}**: "
        f"{counted(t.successes, 'success')}, "
        f"{counted(t.failures, 'failure')} ({share(t.failures, t.records):.1%}), "
        f"{t.unreadable:,} unreadable",
        Table(("category", "failures", "share"),
              [(category, f"{count:,}", f"{share(count, t.failures):.1%}")
               for category, count in t.by_category.items()], right=(1, 2)),
    ]
    if t.by_reason:
        blocks.append(Table(("reason", "count", "share"),
                            [(reason, f"{count:,}", f"{share(count, t.failures):.1%}")
                             for reason, count in t.top_reasons()], right=(1, 2)))
        blocks.append(Table(("channel", "code", "count", "reason"),
                            [(p.data(channel), p.data(code), f"{count:,}",
                              t.code_reason(channel, code))
                             for channel, pairs in t.top_codes(5).items()
                             for code, count in pairs], right=(2,)))
    miner = t.templates
    if miner.failures:
        blocks.append(Table(("unknown failure template", "channel", "code", "count", "example"),
                            [(p.data(template), p.data(where), p.data(what), f"{times:,}",
                              p.data(example))
                             for where, what, template, times, example in miner.top(top)],
                            right=(3,)))
        if miner.capped:
            blocks.append(f"{miner.cap_note()}.")
    return blocks
