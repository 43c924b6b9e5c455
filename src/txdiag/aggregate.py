"""Aggregation is a fold: :meth:`Summary.add` takes one event at a time, in constant memory."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from txdiag.models import Category
from txdiag.pipeline import Event, Observation
from txdiag.readers import ReadStats, Unreadable

UNREADABLE_EXAMPLES = 5
NO_CHANNEL = "(none)"
NO_CODE = "(none)"


@dataclass
class Summary:
    """Totals and breakdowns of a run. ``records == successes + failures``, always."""

    records: int = 0
    successes: int = 0
    failures: int = 0
    unreadable: int = 0
    filtered_out: int = 0
    """Records outside --since/--until: read, but not counted as records."""
    by_category: Counter[str] = field(
        default_factory=lambda: Counter({c.value: 0 for c in Category})
    )
    by_reason: Counter[str] = field(default_factory=Counter)
    reason_category: dict[str, str] = field(default_factory=dict)
    by_channel: Counter[str] = field(default_factory=Counter)
    failures_by_channel: Counter[str] = field(default_factory=Counter)
    codes_by_channel: dict[str, Counter[str]] = field(default_factory=dict)
    code_reasons: dict[tuple[str, str], Counter[str]] = field(default_factory=dict)
    unreadable_by_cause: Counter[str] = field(default_factory=Counter)
    unreadable_examples: list[Unreadable] = field(default_factory=list)
    retryable: Counter[str] = field(default_factory=Counter)

    def add(self, event: Event) -> None:
        if isinstance(event, Unreadable):
            self.unreadable += 1
            self.unreadable_by_cause[event.cause.value] += 1
            if len(self.unreadable_examples) < UNREADABLE_EXAMPLES:
                self.unreadable_examples.append(event)
            return
        self.add_observation(event)

    def add_observation(self, obs: Observation) -> None:
        self.records += 1
        channel = obs.fields.channel or NO_CHANNEL
        self.by_channel[channel] += 1
        diagnosis = obs.diagnosis
        if diagnosis is None:
            self.successes += 1
            return
        self.failures += 1
        self.by_category[diagnosis.category.value] += 1
        self.by_reason[diagnosis.reason] += 1
        self.reason_category[diagnosis.reason] = diagnosis.category.value
        self.retryable[diagnosis.retryable.value] += 1
        self.failures_by_channel[channel] += 1
        code = obs.fields.error_code or NO_CODE
        self.codes_by_channel.setdefault(channel, Counter())[code] += 1
        reasons = self.code_reasons.get((channel, code))
        if reasons is None:
            reasons = self.code_reasons[(channel, code)] = Counter()
        reasons[diagnosis.reason] += 1

    def top_reasons(self, limit: int = 10) -> list[tuple[str, int]]:
        return self.by_reason.most_common(limit)

    def code_reason(self, channel: str, code: str) -> str:
        """The most frequent reason of a code on a channel."""
        return self.code_reasons[(channel, code)].most_common(1)[0][0]

    def top_codes(self, limit: int = 5) -> dict[str, list[tuple[str, int]]]:
        ordered = sorted(self.codes_by_channel, key=lambda ch: -self.failures_by_channel[ch])
        return {ch: self.codes_by_channel[ch].most_common(limit) for ch in ordered}


@dataclass
class RunReport:
    """What the caller needs besides the summary: the inputs read and their formats."""

    summary: Summary
    inputs: list[ReadStats]
    blank_lines: int = 0
