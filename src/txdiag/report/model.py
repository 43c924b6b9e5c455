"""The post-incident report as data: what was found, in the order a reader needs it.

:func:`build_report` turns the folds of a run (the :class:`~txdiag.aggregate.Summary` and
:class:`~txdiag.timeline.Timeline` that ``summary`` makes, the spikes found in the timeline, and
the report's watches) into a :class:`Report`: sections of paragraphs and tables of plain text,
already masked and made visible. The Markdown and HTML renderers only lay it out, so both
formats say the same thing. No Typer, Rich, matplotlib or Jinja2 here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from txdiag import __version__
from txdiag.aggregate import Summary
from txdiag.readers import ReadStats
from txdiag.render.present import Presenter, share
from txdiag.report.collect import AffectedList, QueryFirst
from txdiag.rulebook import Rulebook
from txdiag.spikes import Spike, SpikeParams
from txdiag.timeline import CATEGORIES, Timeline, describe_width
from txdiag.vocabulary import format_time

TOP_CHANNELS = 3
"""Channels named per incident window in the headline."""


@dataclass(frozen=True, slots=True)
class Table:
    """A table of display text; ``numeric``: the columns aligned right."""

    columns: tuple[str, ...]
    rows: Sequence[tuple[str, ...]]
    numeric: frozenset[int] = frozenset()
    caption: str = ""


@dataclass
class Section:
    id: str
    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """Paragraphs after the tables."""


@dataclass(frozen=True, slots=True)
class Incident:
    """An incident window: a spike, with the reasons and channels that drove it."""

    number: int
    spike: Spike
    reasons: list[tuple[str, int]]
    channels: list[tuple[str, int]]


@dataclass
class Report:
    title: str
    sections: list[Section]
    incidents: list[Incident]
    summary: Summary
    timeline: Timeline
    spikes: list[Spike]
    command: str


def percent(value: float) -> str:
    return f"{value:.1%}"


def _amounts(amounts: dict[str, Decimal], p: Presenter) -> str:
    if not amounts:
        return "-"
    return ", ".join(f"{value:,.2f} {p.text(currency)}".rstrip()
                     for currency, value in sorted(amounts.items()))


def incidents_of(timeline: Timeline, spikes: Sequence[Spike]) -> list[Incident]:
    found = []
    for number, spike in enumerate(spikes, 1):
        reasons, channels = timeline.failures_between(spike.category, spike.start, spike.end)
        found.append(Incident(number, spike,
                              sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))[:3],
                              sorted(channels.items(), key=lambda kv: (-kv[1], kv[0]))))
    return found


def build_report(
    summary: Summary,
    inputs: Sequence[ReadStats],
    timeline: Timeline,
    spikes: Sequence[Spike],
    query_first: QueryFirst,
    rulebook: Rulebook,
    presenter: Presenter,
    *,
    affected: AffectedList | None = None,
    affected_file: str | None = None,
    command: str = "",
    top: int = 10,
    spike_params: SpikeParams | None = None,
) -> Report:
    """The report of one run (``affected``: the second pass's list, when it was made)."""
    p = presenter
    incidents = incidents_of(timeline, spikes)
    sections = [
        _headline(summary, timeline, incidents, p),
        _timeline_section(timeline, incidents, spike_params or SpikeParams()),
        _breakdowns(summary, rulebook, p, top),
        _reconcile(query_first, summary, p),
        _notify(incidents, rulebook, p, affected, affected_file),
        _provenance(summary, inputs, rulebook, p, command),
    ]
    return Report("Incident report", sections, incidents, summary, timeline, list(spikes),
                  p.text(command))


def _span(timeline: Timeline) -> tuple[str, str]:
    if timeline.first is None or timeline.last is None:
        return "", ""
    return (format_time(timeline.start_of(timeline.first)),
            format_time(timeline.start_of(timeline.last + 1)))


def _headline(summary: Summary, timeline: Timeline, incidents: Sequence[Incident],
              p: Presenter) -> Section:
    s = summary
    start, end = _span(timeline)
    section = Section("headline", "Headline")
    when = (f"From {start} to {end}" if start else
            "No record had a usable time" if s.records else "Nothing was read")
    section.paragraphs.append(
        f"{when}: {s.records:,} records, {s.failures:,} failures "
        f"({percent(share(s.failures, s.records))} failure rate), {s.unreadable:,} unreadable "
        "lines.")
    if not incidents:
        section.paragraphs.append(
            "No incident window: no category's failure rate stood far above its baseline.")
        return section
    section.paragraphs.append(
        f"{len(incidents)} incident window{'s' if len(incidents) != 1 else ''} found "
        "(a category's failure rate far above its recent baseline):")
    rows = []
    for incident in incidents:
        spike = incident.spike
        rows.append((
            str(incident.number), spike.category, format_time(spike.start),
            format_time(spike.end) + (" (ongoing)" if spike.ongoing else ""),
            f"{percent(spike.peak_rate)} vs {percent(spike.baseline_rate)}",
            f"{spike.affected:,}",
            ", ".join(f"{reason} ({count:,})" for reason, count in incident.reasons),
            ", ".join(f"{p.text(channel)} ({count:,})"
                      for channel, count in incident.channels[:TOP_CHANNELS]),
        ))
    section.tables.append(Table(
        ("#", "category", "start", "end", "peak vs baseline", "failures", "driven by reasons",
         "channels"), rows, frozenset({0, 5})))
    return section


def _timeline_section(timeline: Timeline, incidents: Sequence[Incident],
                      params: SpikeParams) -> Section:
    from txdiag.spikes import detection_width

    section = Section("timeline", "Timeline")
    if timeline.first is None:
        section.paragraphs.append("No record had a usable time: there is no timeline.")
        return section
    peak_key, peak = max(timeline.buckets.items(), key=lambda kv: (kv[1].failed, -kv[0]))
    section.paragraphs.append(
        f"Failures per {describe_width(timeline.width)}, stacked by category, with the failure "
        f"rate; incident windows shaded (judged per "
        f"{describe_width(detection_width(timeline, params))}). The busiest bucket, "
        f"{format_time(timeline.start_of(peak_key))}, had {peak.failed:,} failures in "
        f"{peak.records:,} records.")
    if timeline.no_timestamp:
        section.notes.append(f"{timeline.no_timestamp:,} records had no usable time and are "
                             "not in the chart.")
    return section


def _breakdowns(summary: Summary, rulebook: Rulebook, p: Presenter, top: int) -> Section:
    s = summary
    section = Section("breakdowns", "Breakdowns")
    section.tables.append(Table(
        ("category", "failures", "share"),
        [(category, f"{count:,}", percent(share(count, s.failures)))
         for category, count in s.by_category.items()],
        frozenset({1, 2}), "Failures by category"))
    rows = []
    for reason, count in s.top_reasons(top):
        known = rulebook.reasons.get(reason)
        rows.append((reason, f"{count:,}", percent(share(count, s.failures)),
                     p.text(known.hint.get(p.lang)) if known else "",
                     p.text(known.action.get(p.lang)) if known else ""))
    section.tables.append(Table(("reason", "failures", "share", "tell the customer",
                                 "engineering action"), rows, frozenset({1, 2}),
                                "Top reasons"))
    by_channel: dict[str, Counter[str]] = {}
    for (channel, _), reasons in s.code_reasons.items():
        counts = by_channel.setdefault(channel, Counter())
        for reason, count in reasons.items():
            counts[s.reason_category[reason]] += count
    channels = sorted(s.by_channel, key=lambda ch: (-s.failures_by_channel[ch], ch))
    section.tables.append(Table(
        ("channel", "records", "failures", *CATEGORIES),
        [(p.text(channel), f"{s.by_channel[channel]:,}",
          f"{s.failures_by_channel[channel]:,}",
          *(f"{by_channel.get(channel, Counter())[c]:,}" for c in CATEGORIES))
         for channel in channels],
        frozenset(range(1, 3 + len(CATEGORIES))), "Channels by category"))
    section.tables.append(Table(
        ("channel", "code", "failures", "reason"),
        [(p.text(channel), p.text(code), f"{count:,}", s.code_reason(channel, code))
         for channel, codes in s.top_codes(5).items() for code, count in codes],
        frozenset({2}), "Top codes per channel"))
    miner = s.templates
    section.tables.append(Table(
        ("failures", "channel", "code", "message template", "example"),
        [(f"{times:,}", p.text(where), p.text(what), p.text(template), p.text(example))
         for where, what, template, times, example in miner.top(top)],
        frozenset({0}), "Failures no rule explains, by message template"))
    if miner.capped:
        section.notes.append(f"{miner.cap_note()}.")
    return section


def _reconcile(query_first: QueryFirst, summary: Summary, p: Presenter) -> Section:
    section = Section("reconcile", "Reconcile first")
    total = query_first.count
    section.paragraphs.append(
        f"{total:,} failures have an unknown outcome (query_first): the request may have "
        "reached the channel and the money may have moved. Query these orders with the "
        "channel before any retry, or customers pay twice.")
    rows = []
    for channel, entry in query_first.ordered():
        rows.append((p.text(channel), f"{entry.count:,}", _amounts(dict(entry.amounts), p),
                     f"{entry.without_amount:,}"))
    section.tables.append(Table(("channel", "failures", "amount", "without an amount"), rows,
                                frozenset({1, 3})))
    return section


def _notify(incidents: Sequence[Incident], rulebook: Rulebook, p: Presenter,
            affected: AffectedList | None, affected_file: str | None) -> Section:
    section = Section("notify", "Who to notify")
    if not incidents:
        section.paragraphs.append("No incident window: no customers to notify as a group.")
        return section
    section.paragraphs.append(
        "Customers whose payment failed in an incident window, with the hint to send them "
        "(SMS, e-mail or in-app notice).")
    rows = []
    for incident in incidents:
        spike = incident.spike
        count = affected.counts[incident.number - 1] if affected is not None else spike.affected
        for reason, reason_count in incident.reasons:
            known = rulebook.reasons.get(reason)
            rows.append((str(incident.number), f"{count:,}", reason, f"{reason_count:,}",
                         p.text(known.hint.get(p.lang)) if known else ""))
    section.tables.append(Table(("#", "affected", "reason", "failures", "message to send"),
                                rows, frozenset({0, 1, 3})))
    if affected is None:
        section.notes.append("The list of affected transactions (txn id, user id, time, "
                             "reason, hint) is written by --affected FILE.csv.")
        return section
    if affected_file:
        section.notes.append(f"All {sum(affected.counts):,} affected transactions are in "
                             f"{p.text(affected_file)}.")
    for incident, sample in zip(incidents, affected.samples, strict=True):
        section.tables.append(Table(
            ("time", "txn id", "user id", "channel", "amount", "reason", "hint"),
            [(row.time, row.txn_id, row.user_id, row.channel,
              f"{row.amount} {row.currency}".strip(), row.reason, row.hint) for row in sample],
            frozenset({4}),
            f"Incident {incident.number}: first {len(sample)} of "
            f"{affected.counts[incident.number - 1]:,} affected transactions"))
    return section


def _provenance(summary: Summary, inputs: Sequence[ReadStats], rulebook: Rulebook,
                p: Presenter, command: str) -> Section:
    s = summary
    section = Section("provenance", "How this report was made")
    section.tables.append(Table(
        ("input", "format", "lines", "blank lines"),
        [(p.text(stats.name),
          stats.format + (f" ({stats.compression})" if stats.compression else ""),
          f"{stats.lines.lines:,}", f"{stats.blank_lines:,}") for stats in inputs],
        frozenset({2, 3})))
    user_files = sorted({p.text(rule.origin) for rule in rulebook.rules if rule.user})
    section.paragraphs.append(
        f"Rulebook: txdiag {__version__} with {len(rulebook.rules):,} rules"
        + (f", user rule files: {', '.join(user_files)}" if user_files else " (shipped)")
        + ".")
    causes = ", ".join(f"{cause} {count:,}" for cause, count in
                       sorted(s.unreadable_by_cause.items()))
    section.paragraphs.append(
        f"{s.records:,} records, {s.unreadable:,} unreadable lines"
        + (f" ({causes})" if causes else "")
        + (f", {s.filtered_out:,} outside --since/--until" if s.filtered_out else "") + ".")
    for event in s.unreadable_examples:
        detail = f": {event.detail}" if event.detail else ""
        section.notes.append(p.text(f"{event.source}:{event.line}: unreadable "
                                    f"({event.cause.value}{detail})"))
    if command:
        section.notes.append(f"To repeat it: {p.text(command)}")
    return section
