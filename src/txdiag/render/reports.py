"""``summary`` and ``explain`` in every output format."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from typing import TextIO

from txdiag.aggregate import Summary
from txdiag.readers import ReadStats
from txdiag.render import OutputFormat
from txdiag.render.common import Presenter, partial_note, share, summary_dict
from txdiag.render.writers import dumps, md_cell
from txdiag.safety import neutralize_csv_cell, visible
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
    if fmt is OutputFormat.JSON:
        out.write(dumps(data, indent=2) + "\n")
    elif fmt is OutputFormat.JSONL:
        out.write(dumps(data) + "\n")
    elif fmt is OutputFormat.CSV:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(("section", "key", "category", "count", "share"))
        if summary.stopped:
            writer.writerow(("stopped", summary.stopped, "", "", ""))
        for name, value in data["totals"].items():
            writer.writerow(("totals", name, "", value, ""))
        for category, count in summary.by_category.items():
            writer.writerow(("category", category, category, count,
                             share(count, summary.failures)))
        for row in data["top_reasons"]:
            writer.writerow(("reason", row["reason"], row["category"], row["count"],
                             row["share_of_failures"]))
        for channel, codes in data["top_codes"].items():
            for code in codes:
                writer.writerow([neutralize_csv_cell(p.text(str(cell))) for cell in
                                 ("code", f"{channel}:{code['code']}",
                                  summary.reason_category.get(code["reason"], ""),
                                  code["count"], "")])
        templates = data["unknown_templates"]
        for row in templates["templates"]:
            writer.writerow([neutralize_csv_cell(p.text(str(cell))) for cell in
                             ("template", f"{row['channel']}:{row['code']}:{row['template']}",
                              "unknown", row["count"], row["share_of_unknown"])])
        if templates["capped"]:
            writer.writerow(("template_overflow", "", "unknown", templates["overflow"], ""))
        for cause, count in summary.unreadable_by_cause.items():
            writer.writerow(("unreadable", cause, "", count, ""))
        for bucket in data.get("timeline", {}).get("buckets", ()):
            for category, count in bucket["by_category"].items():
                if count:
                    writer.writerow(("bucket", bucket["start"], category, count,
                                     share(count, bucket["records"])))
        for spike in spikes:
            writer.writerow(("spike", f"{format_time(spike.start)}/{format_time(spike.end)}",
                             spike.category, spike.affected, round(spike.peak_rate, 4)))
    else:
        _summary_markdown(out, summary, data, p, top)
        if timeline is not None:
            _spikes_markdown(out, spikes)
    out.flush()


def _spikes_markdown(out: TextIO, spikes: Sequence[Spike]) -> None:
    if not spikes:
        out.write("\nNo spikes.\n")
        return
    out.write("\n| spike | start | end | peak rate | baseline | failures | top reason |\n"
              "|---|---|---|---:|---:|---:|---|\n")
    for s in spikes:
        out.write(f"| {s.category} | {format_time(s.start)} | {format_time(s.end)} "
                  f"| {s.peak_rate:.1%} | {s.baseline_rate:.1%} | {s.affected:,} "
                  f"| {md_cell(visible(s.top_reason or ''))} |\n")


def _summary_markdown(out: TextIO, summary: Summary, data: dict[str, object],
                      p: Presenter, top: int = 10) -> None:
    t = summary
    out.write(f"{partial_note(t)}**{counted(t.records, 'record')}**: "
              f"{counted(t.successes, 'success')}, "
              f"{counted(t.failures, 'failure')} ({share(t.failures, t.records):.1%}), "
              f"{t.unreadable:,} unreadable\n\n")
    out.write("| category | failures | share |\n|---|---:|---:|\n")
    for category, count in t.by_category.items():
        out.write(f"| {category} | {count:,} | {share(count, t.failures):.1%} |\n")
    if t.by_reason:
        out.write("\n| reason | count | share |\n|---|---:|---:|\n")
        for reason, count in t.top_reasons():
            out.write(f"| {reason} | {count:,} | {share(count, t.failures):.1%} |\n")
        out.write("\n| channel | code | count | reason |\n|---|---|---:|---|\n")
        for channel, pairs in t.top_codes(5).items():
            for code, count in pairs:
                out.write(f"| {md_cell(p.text(channel))} | {md_cell(p.text(code))} | {count:,} "
                          f"| {t.code_reason(channel, code)} |\n")
    miner = t.templates
    if miner.failures:
        out.write("\n| unknown failure template | channel | code | count | example |\n"
                  "|---|---|---|---:|---|\n")
        for where, what, template, times, example in miner.top(top):
            out.write(f"| {md_cell(p.text(template))} | {md_cell(p.text(where))} "
                      f"| {md_cell(p.text(what))} | {times:,} | {md_cell(p.text(example))} |\n")
        if miner.capped:
            out.write(f"\n{miner.cap_note()}.\n")

