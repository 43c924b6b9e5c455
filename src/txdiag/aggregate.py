"""Aggregation is a fold: :meth:`Summary.add` takes one event at a time, in constant memory.

:meth:`Summary.add_outcome` folds many records that end up alike at once (the fast path of
:mod:`txdiag.fold`), and :meth:`Summary.merge` adds up the folds of parts of the input read in
parallel; both give exactly what adding the records one by one would.

Failures no rule explains are also grouped by message template (:mod:`txdiag.mining`), in
bounded memory: :attr:`Summary.templates`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from txdiag.mining import TemplateMiner, cached_template
from txdiag.pipeline import Event, Observation
from txdiag.readers import ReadStats, Unreadable
from txdiag.rulebook import NO_MATCH_REASON
from txdiag.vocabulary import Category

if TYPE_CHECKING:
    from txdiag.models import Diagnosis

STOPS = ("interrupted", "terminated", "input error", "truncated")
"""What can stop a run early: Ctrl-C, SIGTERM, an input error (what was read is kept), or an
input that ended before its end without an error: an API walk stopped by ``--max-pages`` with
pages left, a file that shrank while it was read (``ReadStats.partial``)."""
UNREADABLE_EXAMPLES = 5
NO_CHANNEL = "(none)"
NO_CODE = "(none)"
MAX_TEMPLATES = 1000
"""Unknown-failure templates a summary keeps (see :class:`~txdiag.mining.TemplateMiner`)."""

Verdict = tuple[str, str, str]
"""What aggregation keeps of a failure's diagnosis: (category, reason, retryable)."""
Unknown = tuple[str, str]
"""What aggregation keeps of a failure no rule explains: (template, message)."""
Target = tuple[str, Verdict | None, str, Unknown | None]
"""Where a record goes in the summary: (channel, verdict or None for a success, code, and
for a failure no rule explains its template and message)."""


def verdict_of(diagnosis: Diagnosis) -> Verdict:
    return diagnosis.category.value, diagnosis.reason, diagnosis.retryable.value


def unknown_of(verdict: Verdict | None, message: str | None) -> Unknown | None:
    """A failure no rule explains (reason ``unknown.no_match``): its template and message."""
    if verdict is None or verdict[1] != NO_MATCH_REASON:
        return None
    return cached_template(message), message or ""


def target_of(obs: Observation, *, templates: bool = True) -> Target:
    """Where an observation goes in the summary (``templates``: with the template of a failure
    no rule explains)."""
    diagnosis = obs.diagnosis
    fields = obs.fields
    verdict = None if diagnosis is None else verdict_of(diagnosis)
    return (fields.channel or NO_CHANNEL, verdict, fields.error_code or NO_CODE,
            unknown_of(verdict, fields.message) if templates else None)


@dataclass
class Summary:
    """Totals and breakdowns of a run. ``records == successes + failures``, always."""

    records: int = 0
    successes: int = 0
    failures: int = 0
    unreadable: int = 0
    filtered_out: int = 0
    """Records outside --since/--until: read, but not counted as records."""
    stopped: str | None = None
    """Why reading stopped before the end of the input (:data:`STOPS`); None when it did not:
    the totals then cover part of the input."""
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
    mine_templates: bool = True
    """Whether failures no rule explains are grouped by message template (``summary`` and
    ``watch`` show them; commands that do not, such as ``diagnose``, skip the work)."""
    mask_examples: bool = True
    """Examples of unknown-failure templates masked as they are kept (False for --no-mask)."""
    max_templates: int = MAX_TEMPLATES
    templates: TemplateMiner = field(init=False)
    """Failures no rule explains, by (channel, code, message template)."""

    def __post_init__(self) -> None:
        self.templates = TemplateMiner(self.max_templates, mask_examples=self.mask_examples)

    def add(self, event: Event) -> None:
        if isinstance(event, Unreadable):
            self.add_unreadable(event)
            return
        self.add_observation(event)

    def add_observation(self, obs: Observation) -> None:
        channel, verdict, code, unknown = target_of(obs, templates=self.mine_templates)
        self.add_outcome(channel, verdict, code, 1, unknown)

    def add_outcome(self, channel: str, verdict: Verdict | None, code: str,
                    count: int = 1, unknown: Unknown | None = None) -> None:
        """``count`` records of ``channel`` that succeeded (``verdict`` None) or failed alike
        (``unknown``: the template and message of failures no rule explains)."""
        self.records += count
        self.by_channel[channel] += count
        if verdict is None:
            self.successes += count
            return
        category, reason, retryable = verdict
        self.failures += count
        self.by_category[category] += count
        self.by_reason[reason] += count
        self.reason_category[reason] = category
        self.retryable[retryable] += count
        self.failures_by_channel[channel] += count
        codes = self.codes_by_channel.get(channel)
        if codes is None:
            codes = self.codes_by_channel[channel] = Counter()
        codes[code] += count
        reasons = self.code_reasons.get((channel, code))
        if reasons is None:
            reasons = self.code_reasons[(channel, code)] = Counter()
        reasons[reason] += count
        if unknown is not None and self.mine_templates:
            self.templates.add_template(channel, code, unknown[0], unknown[1], count)

    def add_unreadable(self, event: Unreadable) -> None:
        self.unreadable += 1
        self.unreadable_by_cause[event.cause.value] += 1
        if len(self.unreadable_examples) < UNREADABLE_EXAMPLES:
            self.unreadable_examples.append(event)

    def merge(self, other: Summary) -> None:
        """Add the fold of the input that followed this one's (``--jobs``): the result is what
        folding both in order would have given, down to the order of ties."""
        self.records += other.records
        self.successes += other.successes
        self.failures += other.failures
        self.unreadable += other.unreadable
        self.filtered_out += other.filtered_out
        self.by_category.update(other.by_category)
        self.by_reason.update(other.by_reason)
        self.reason_category.update(other.reason_category)
        self.by_channel.update(other.by_channel)
        self.failures_by_channel.update(other.failures_by_channel)
        for channel, codes in other.codes_by_channel.items():
            self.codes_by_channel.setdefault(channel, Counter()).update(codes)
        for key, reasons in other.code_reasons.items():
            self.code_reasons.setdefault(key, Counter()).update(reasons)
        self.unreadable_by_cause.update(other.unreadable_by_cause)
        room = UNREADABLE_EXAMPLES - len(self.unreadable_examples)
        if room > 0:
            self.unreadable_examples.extend(other.unreadable_examples[:room])
        self.retryable.update(other.retryable)
        self.templates.merge(other.templates)

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
