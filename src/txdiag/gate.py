"""Thresholds for ``txdiag check``: parse them, and judge a run or its time windows against them.

>>> from txdiag.gate import Gate, parse_thresholds
>>> gate = Gate(parse_thresholds(max_rate=["system=5"]))
>>> for _ in range(19):
...     gate.add(None)
>>> gate.add(None, "system", "system.internal_error")
>>> result = gate.result()
>>> result.ok, result.checks[0].measured
(True, 0.05)

Rates are fractions (0.05 is 5 %) of *all* records, successes included, so they compare with
``failure_rate`` in ``summary --format json``. A rate equal to its limit is within it.

Without a window the whole run is judged once. With ``window`` (seconds) every tumbling window
aligned to the Unix epoch (``floor(t / window)``) with at least ``min_records`` records is
judged, and the check breaches when any window does. Records without a time are counted in
``no_timestamp`` and are not in any window. Windows are kept open while records arrive, so
out-of-order input is fine; to bound memory, once more than ``max_open_windows`` are open the
oldest is judged and closed, and a record that arrives later for a closed window is counted in
``late`` instead of re-opening it.

This module does not import Typer or Rich.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from enum import StrEnum
from itertools import compress

from txdiag.errors import UsageError
from txdiag.pipeline import Observation
from txdiag.timeline import CATEGORIES, epoch_seconds, from_epoch, observed

ALL_FAILURES = "failure"
"""In ``--max-rate`` and ``--max-count``: every failure, whatever its category."""
TARGETS: tuple[str, ...] = (ALL_FAILURES, *CATEGORIES)

MAX_OPEN_WINDOWS = 4096
MAX_BREACHES = 200
"""Breaches kept in detail (all are counted); the earliest ones, in time order."""

_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*(%?)\s*$")


class Kind(StrEnum):
    MAX_RATE = "max_rate"
    MAX_COUNT = "max_count"
    MIN_SUCCESS_RATE = "min_success_rate"


@dataclass(frozen=True, slots=True)
class Threshold:
    """One limit. ``target`` is a category or ``failure`` (None for the success rate)."""

    kind: Kind
    target: str | None
    limit: float
    """A fraction for rates (0.05), a whole number for counts."""
    text: str
    """As given on the command line, e.g. ``--max-rate system=5``."""

    def measure(self, counts: Counts) -> float:
        if self.kind is Kind.MIN_SUCCESS_RATE:
            return counts.successes / counts.records if counts.records else 0.0
        failed = counts.failures if self.target == ALL_FAILURES else (
            counts.by_category.get(self.target or "", 0))
        if self.kind is Kind.MAX_COUNT:
            return float(failed)
        return failed / counts.records if counts.records else 0.0

    def breached_by(self, value: float) -> bool:
        if self.kind is Kind.MIN_SUCCESS_RATE:
            return value < self.limit
        return value > self.limit

    def worse(self, value: float, than: float) -> bool:
        return value < than if self.kind is Kind.MIN_SUCCESS_RATE else value > than


def _percent(text: str, argument: str) -> float:
    match = _NUMBER.match(text)
    value = float(match.group(1)) if match else math.nan
    if not 0 <= value <= 100:
        raise UsageError(f"{argument}: {text.strip()!r} is not a percentage from 0 to 100",
                         hint="write a percentage such as 5 or 2.5%")
    return value / 100


def _target(name: str, argument: str) -> str:
    target = name.strip().lower()
    if target not in TARGETS:
        raise UsageError(f"{argument}: unknown category {name.strip()!r}",
                         hint="one of " + ", ".join(TARGETS) + " (failure: all failures)")
    return target


def _pair(text: str, option: str) -> tuple[str, str, str]:
    argument = f"{option} {text}"
    name, sep, value = text.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise UsageError(f"{argument}: expected CATEGORY=VALUE",
                         hint=f"for example {option} system=5")
    return _target(name, argument), value, argument


def parse_max_rate(text: str) -> Threshold:
    target, value, argument = _pair(text, "--max-rate")
    return Threshold(Kind.MAX_RATE, target, _percent(value, argument), argument)


def parse_max_count(text: str) -> Threshold:
    target, value, argument = _pair(text, "--max-count")
    if not value.strip().isdigit():
        raise UsageError(f"{argument}: {value.strip()!r} is not a whole number",
                         hint="for example --max-count risk_control=100")
    return Threshold(Kind.MAX_COUNT, target, float(int(value)), argument)


def parse_min_success_rate(text: str) -> Threshold:
    argument = f"--min-success-rate {text}"
    return Threshold(Kind.MIN_SUCCESS_RATE, None, _percent(text, argument), argument)


def parse_thresholds(
    max_rate: Sequence[str] = (),
    max_count: Sequence[str] = (),
    min_success_rate: str | None = None,
) -> list[Threshold]:
    """Every threshold of the command line, in the order of the options (UsageError if bad)."""
    thresholds = [*map(parse_max_rate, max_rate), *map(parse_max_count, max_count)]
    if min_success_rate is not None:
        thresholds.append(parse_min_success_rate(min_success_rate))
    if not thresholds:
        raise UsageError("nothing to check: give at least one threshold",
                         hint="for example --max-rate system=5 --min-success-rate 90")
    return thresholds


@dataclass(slots=True)
class Counts:
    """Records of a run or a window."""

    records: int = 0
    successes: int = 0
    failures: int = 0
    by_category: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    first: datetime | None = None
    last: datetime | None = None

    def add_many(self, moments: Sequence[datetime | None], categories: Sequence[str | None],
                 reasons: Sequence[str | None]) -> None:
        """:meth:`add` for each record, in order (the same counts, first and last)."""
        self.records += len(categories)
        failed = [category is not None for category in categories]
        failures = sum(failed)
        self.successes += len(categories) - failures
        self.failures += failures
        if failures:
            self.by_category.update(compress(categories, failed))  # type: ignore[arg-type]
            self.reasons.update(reason for reason in compress(reasons, failed)
                                if reason is not None)
        known = [moment for moment in moments if moment is not None]
        if known:
            # min() and max() keep the first of equal times, as add() does one by one.
            low, high = min(known), max(known)
            if self.first is None or low < self.first:
                self.first = low
            if self.last is None or high > self.last:
                self.last = high

    def add(self, moment: datetime | None, category: str | None, reason: str | None) -> None:
        self.records += 1
        if moment is not None:
            if self.first is None or moment < self.first:
                self.first = moment
            if self.last is None or moment > self.last:
                self.last = moment
        if category is None:
            self.successes += 1
            return
        self.failures += 1
        self.by_category[category] += 1
        if reason is not None:
            self.reasons[reason] += 1


@dataclass(frozen=True, slots=True)
class Window:
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Breach:
    """One threshold over its limit, over the run (``window`` None) or one window."""

    threshold: Threshold
    measured: float
    records: int
    failures: int
    window: Window | None
    top_reason: str | None
    """The most frequent reason behind the breach (in the category, for a category limit)."""


@dataclass(slots=True)
class CheckResult:
    """One threshold's outcome: the worst value measured and how many windows breached."""

    threshold: Threshold
    measured: float | None = None
    """The worst value over the judged windows (the run's value without windows)."""
    records: int = 0
    """Records where the worst value was measured."""
    window: Window | None = None
    judged: int = 0
    breached: int = 0

    @property
    def ok(self) -> bool:
        return self.breached == 0


class Verdict(StrEnum):
    OK = "ok"
    BREACH = "breach"
    NO_RECORDS = "no_records"


@dataclass(slots=True)
class GateResult:
    verdict: Verdict
    checks: list[CheckResult]
    breaches: list[Breach]
    """The earliest :data:`MAX_BREACHES` breaches, in time order."""
    breach_count: int
    run: Counts
    window_seconds: int | None
    min_records: int
    judged: int
    """Windows judged (1 or 0 for the whole run)."""
    quiet: int
    """Windows (or the run) with records but fewer than ``min_records``: not judged."""
    late: int
    no_timestamp: int

    @property
    def ok(self) -> bool:
        return self.verdict is Verdict.OK


def _top_reason(counts: Counts, threshold: Threshold, reason_category: dict[str, str]) -> (
        str | None):
    target = threshold.target
    for reason, _ in counts.reasons.most_common():
        if target in (None, ALL_FAILURES) or reason_category.get(reason) == target:
            return reason
    return None


class Gate:
    """A fold over records that judges thresholds over the run or over tumbling windows."""

    def __init__(self, thresholds: Sequence[Threshold], *, window: int | None = None,
                 min_records: int = 1, max_open_windows: int = MAX_OPEN_WINDOWS) -> None:
        if not thresholds:
            raise ValueError("a gate needs at least one threshold")
        if window is not None and window <= 0:
            raise ValueError("window must be positive")
        self.thresholds = list(thresholds)
        self.window = window
        self.min_records = max(1, min_records)
        self.max_open_windows = max(1, max_open_windows)
        self.run = Counts()
        self.open: dict[int, Counts] = {}
        self.closed_up_to: int | None = None
        """Every window key at or below this one has been judged and closed."""
        self.checks = [CheckResult(t) for t in self.thresholds]
        self.breaches: list[Breach] = []
        self.breach_count = 0
        self.judged = 0
        self.quiet = 0
        self.late = 0
        self.no_timestamp = 0
        self.reason_category: dict[str, str] = {}

    def add_observation(self, obs: Observation, zone: tzinfo) -> None:
        self.add(*observed(obs, zone))

    def add_verdicts(self, moments: Sequence[datetime | None],
                     verdicts: Sequence[tuple[str, str, str] | None]) -> None:
        """Count records in order: their times, and their verdicts (category, reason,
        retryable; None for a success). The same as :meth:`add` for each."""
        categories = [None if verdict is None else verdict[0] for verdict in verdicts]
        reasons = [None if verdict is None else verdict[1] for verdict in verdicts]
        if self.window is not None:
            for moment, category, reason in zip(moments, categories, reasons, strict=True):
                self.add(moment, category, reason)
            return
        for reason, category in dict.fromkeys(zip(reasons, categories, strict=True)):
            if reason is not None and category is not None:
                self.reason_category.setdefault(reason, category)
        self.run.add_many(moments, categories, reasons)

    def add(self, moment: datetime | None, category: str | None = None,
            reason: str | None = None) -> None:
        """Count one record; ``category`` is None for a success."""
        if reason is not None and category is not None:
            self.reason_category.setdefault(reason, category)
        self.run.add(moment, category, reason)
        if self.window is None:
            return
        if moment is None:
            self.no_timestamp += 1
            return
        key = math.floor(epoch_seconds(moment) / self.window)
        counts = self.open.get(key)
        if counts is None:
            if self.closed_up_to is not None and key <= self.closed_up_to:
                self.late += 1
                return
            counts = self.open[key] = Counts()
            if len(self.open) > self.max_open_windows:
                oldest = min(self.open)
                self._judge(self.open.pop(oldest), self._window(oldest))
                self.closed_up_to = oldest
        counts.add(moment, category, reason)

    def _window(self, key: int) -> Window:
        assert self.window is not None
        return Window(from_epoch(key * self.window), from_epoch((key + 1) * self.window))

    def _judge(self, counts: Counts, window: Window | None) -> None:
        if counts.records < self.min_records:
            if counts.records:
                self.quiet += 1
            return
        self.judged += 1
        for check in self.checks:
            threshold = check.threshold
            value = threshold.measure(counts)
            check.judged += 1
            if check.measured is None or threshold.worse(value, check.measured):
                check.measured, check.records, check.window = value, counts.records, window
            if not threshold.breached_by(value):
                continue
            check.breached += 1
            self.breach_count += 1
            if len(self.breaches) < MAX_BREACHES:
                self.breaches.append(Breach(
                    threshold, value, counts.records, counts.failures, window,
                    _top_reason(counts, threshold, self.reason_category),
                ))

    def result(self) -> GateResult:
        """Judge what is still open and give the verdict. Call once, at the end."""
        if self.window is None:
            self._judge(self.run, None)
        else:
            for key in sorted(self.open):
                self._judge(self.open[key], self._window(key))
            self.open.clear()
        if self.judged == 0:
            verdict = Verdict.NO_RECORDS
        elif self.breach_count:
            verdict = Verdict.BREACH
        else:
            verdict = Verdict.OK
        # Windows are judged oldest first; the sort only makes the order exact (and stable).
        self.breaches.sort(key=lambda b: b.window.start.timestamp() if b.window else 0.0)
        return GateResult(verdict, self.checks, self.breaches, self.breach_count, self.run,
                          self.window, self.min_records, self.judged, self.quiet, self.late,
                          self.no_timestamp)
