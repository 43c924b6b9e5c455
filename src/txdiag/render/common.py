"""What every renderer shares: result objects as plain data, masked, and made safe to print.

The output policy (:class:`Presenter`) and the diagnosis' part of every output are in
:mod:`txdiag.render.present`, re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from txdiag.aggregate import Summary
from txdiag.fields import FIELDS
from txdiag.readers import ReadStats
from txdiag.render.present import (
    SCHEMA_VERSION,
    Presenter,
    diagnosis_dict,
    json_escape_unsafe,
    share,
)
from txdiag.spikes import Spike, SpikeParams, detection_width
from txdiag.timeline import CATEGORIES, Timeline, describe_width
from txdiag.vocabulary import counted, format_time

if TYPE_CHECKING:
    from txdiag.models import Finding, Record

__all__ = [
    "SCHEMA_VERSION",
    "Presenter",
    "baseline_text",
    "completeness",
    "diagnosis_dict",
    "finding_dict",
    "inputs_list",
    "json_escape_unsafe",
    "no_records_text",
    "partial_note",
    "record_dict",
    "share",
    "spike_dict",
    "summary_dict",
    "timeline_dict",
    "totals_dict",
    "totals_text",
]


def record_dict(record: Record, p: Presenter, *, all_codes: bool = False) -> dict[str, Any]:
    """A record's fields as every JSON row writes them, in the field table's order and
    masked as it says (:mod:`txdiag.fields`): a timestamp with its raw text beside it when
    it could not be read, an amount as decimal text; ``all_codes``: every error code too
    (``lookup``)."""
    data: dict[str, Any] = {}
    for spec in FIELDS:
        value = getattr(record, spec.name)
        companion = spec.companion
        if spec.kind == "timestamp" and companion is not None:
            data[spec.name] = format_time(value) or None
            data[companion] = p.data(getattr(record, companion)) if value is None else None
        elif spec.kind == "codes" and companion is not None:
            data[spec.name] = p.data(value)
            if all_codes:
                data[companion] = [{"field": c.field, "value": p.data(c.value)}
                                   for c in getattr(record, companion)]
        elif spec.masking == "number":
            data[spec.name] = p.number(value)
        elif spec.kind == "decimal":
            data[spec.name] = p.data(str(value)) if value is not None else None
        else:
            data[spec.name] = p.data(value)
    return data


def finding_dict(finding: Finding, p: Presenter) -> dict[str, Any]:
    """One diagnosed failure as the JSON object documented in docs/output.md."""
    r = finding.record
    return {
        **record_dict(r, p),
        **diagnosis_dict(finding.diagnosis, p),
        "source": {"file": p.data(r.source.file), "line": r.source.line},
    }


def totals_dict(summary: Summary, inputs: Sequence[ReadStats]) -> dict[str, int]:
    return {
        "records": summary.records,
        "successes": summary.successes,
        "failures": summary.failures,
        "unreadable": summary.unreadable,
        "blank_lines": sum(s.blank_lines for s in inputs),
        "attached_lines": sum(s.attached_lines for s in inputs),
        "filtered_out": summary.filtered_out,
    }


def completeness(summary: Summary) -> dict[str, Any]:
    """Whether the whole input was read, and if not, what stopped it (``summary.stopped``)."""
    return {"complete": summary.stopped is None, "stopped": summary.stopped}


def totals_text(summary: Summary) -> str:
    """The totals in words, as the closing line on stderr says them."""
    s = summary
    return (f"{counted(s.records, 'record')} ({counted(s.successes, 'success')}, "
            f"{counted(s.failures, 'failure')}), {s.unreadable:,} unreadable")


def no_records_text(summary: Summary) -> str:
    """Why there is nothing to show: an empty input, or a --since/--until window nothing was in."""
    if summary.filtered_out:
        return (f"No records between --since and --until: all "
                f"{counted(summary.filtered_out, 'record')} read were outside them.")
    return "No records found in the input: nothing to diagnose."


def baseline_text(spike: Spike) -> str:
    """A spike's baseline in words: a zero rate is said as such, never a bare "0.0%"."""
    if spike.baseline_rate:
        return f"baseline {spike.baseline_rate:.1%}"
    return "baseline 0%: none in the buckets before"


def partial_note(summary: Summary) -> str:
    """The words that mark a partial result in the tables, as ``check`` marks its verdict."""
    return f"{summary.stopped.upper()} (partial input): " if summary.stopped else ""


def inputs_list(inputs: Sequence[ReadStats], p: Presenter) -> list[dict[str, Any]]:
    return [
        {
            "name": p.data(s.name),
            "format": s.format,
            "compression": s.compression,
            "encoding": s.encoding,
            "lines": s.lines.lines,
            "blank_lines": s.blank_lines,
        }
        for s in inputs
    ]


def summary_dict(
    summary: Summary, inputs: Sequence[ReadStats], p: Presenter, *, top: int = 10,
    timeline: Timeline | None = None, spikes: Sequence[Spike] = (),
    spike_params: SpikeParams | None = None,
) -> dict[str, Any]:
    """The ``summary --format json`` object (docs/output.md)."""
    data: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "command": "summary",
        **completeness(summary),
        "totals": totals_dict(summary, inputs),
        "failure_rate": share(summary.failures, summary.records),
        "by_category": dict(summary.by_category),
        "top_reasons": [
            {
                "reason": reason,
                "category": summary.reason_category[reason],
                "count": count,
                "share_of_failures": share(count, summary.failures),
            }
            for reason, count in summary.top_reasons(top)
        ],
        "top_codes": {
            p.data(channel) or "": [
                {
                    "code": p.data(code),
                    "count": count,
                    "reason": summary.code_reason(channel, code),
                }
                for code, count in codes
            ]
            for channel, codes in summary.top_codes(top).items()
        },
        "unknown_templates": templates_dict(summary, p, top),
        "by_channel": {
            p.data(channel) or "": {
                "records": total,
                "failures": summary.failures_by_channel[channel],
            }
            for channel, total in summary.by_channel.most_common()
        },
        "retryable": dict(summary.retryable),
        "unreadable": {
            "total": summary.unreadable,
            "by_cause": dict(summary.unreadable_by_cause),
            "examples": [
                {"source": p.data(u.source), "line": u.line, "cause": u.cause.value,
                 "detail": p.data(u.detail)}
                for u in summary.unreadable_examples
            ],
        },
        "inputs": inputs_list(inputs, p),
    }
    if timeline is not None:
        data["timeline"] = timeline_dict(timeline, spike_params or SpikeParams())
        data["spikes"] = [spike_dict(spike) for spike in spikes]
    return data


def templates_dict(summary: Summary, p: Presenter, top: int = 10) -> dict[str, Any]:
    """The failures no rule explains, grouped by message template (most frequent first)."""
    miner = summary.templates
    failures = miner.failures
    return {
        "failures": failures,
        "distinct": len(miner.counts),
        "max_templates": miner.max_templates,
        "capped": miner.capped,
        "overflow": miner.overflow,
        "templates": [
            {
                "channel": p.data(channel) or "",
                "code": p.data(code) or "",
                "template": p.data(template) or "",
                "count": count,
                "share_of_unknown": share(count, failures),
                "example": p.data(example) or "",
            }
            for channel, code, template, count, example in miner.top(top)
        ],
    }


def timeline_dict(timeline: Timeline, params: SpikeParams) -> dict[str, Any]:
    """Failures per time bucket (only buckets with records), and how spikes were detected."""
    first, last = timeline.first, timeline.last
    return {
        "bucket_seconds": timeline.width,
        "bucket": describe_width(timeline.width),
        "requested_seconds": timeline.requested,
        "start": format_time(timeline.start_of(first)) if first is not None else None,
        "end": format_time(timeline.start_of(last + 1)) if last is not None else None,
        "records": timeline.bucketed,
        "no_timestamp": timeline.no_timestamp,
        "dropped": timeline.dropped,
        "buckets": [
            {
                "start": format_time(timeline.start_of(key)),
                "records": bucket.records,
                "failures": bucket.failed,
                "by_category": {c: bucket.failures.get(c, 0) for c in CATEGORIES},
            }
            for key, bucket in sorted(timeline.buckets.items())
        ],
        "spike_detection": {
            "method": "rolling_median_mad",
            "bucket_seconds": detection_width(timeline, params),
            "baseline_buckets": params.baseline_buckets,
            "min_history": params.min_history,
            "z": params.z,
            "min_scale": params.min_scale,
            "min_rise": params.min_rise,
            "max_p_value": params.max_p_value,
            "min_records": params.min_records,
            "min_failures": params.min_failures,
        },
    }


def spike_dict(spike: Spike) -> dict[str, Any]:
    return {
        "category": spike.category,
        "start": format_time(spike.start),
        "end": format_time(spike.end),
        "buckets": spike.buckets,
        "peak_rate": round(spike.peak_rate, 4),
        "peak_at": format_time(spike.peak_at),
        "baseline_rate": round(spike.baseline_rate, 4),
        "p_value": float(f"{spike.p_value:.3g}"),
        "affected": spike.affected,
        "excess": spike.excess,
        "records": spike.records,
        "top_reason": spike.top_reason,
        "top_reason_count": spike.top_reason_count,
        "ongoing": spike.ongoing,
    }
