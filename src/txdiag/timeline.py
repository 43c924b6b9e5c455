"""Failures over time: a constant-memory fold into time buckets.

The fold (:class:`Timeline`) keeps one small :class:`Bucket` per time bucket: records, failures
per category, failures per reason, and failures per reason and channel (which channels an
incident hit). Buckets are aligned to the Unix epoch (UTC), so a bucket
of width ``w`` holding time ``t`` is ``floor(t / w)`` whatever order records come in.

Memory is bounded by ``max_buckets`` for any span:

- ``keep="merge"`` (``summary``): when the span would need more buckets, the width grows to the
  next width of :data:`WIDTHS` that is a whole multiple of the current one (or doubles) and
  neighbouring buckets merge. Because every step is a whole multiple and buckets are
  epoch-aligned, merging is exact: the result is what folding at the wider width from the start
  would have given. Out-of-order and late records are therefore fine.
- ``keep="recent"`` (``watch``): the width stays fixed and the oldest buckets are dropped; a
  record older than the oldest kept bucket is counted in :attr:`Timeline.dropped`.

Spike detection on the buckets is in :mod:`txdiag.spikes`.

This module does not import Typer or Rich.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Literal

from txdiag.errors import UsageError
from txdiag.pipeline import Observation
from txdiag.timeparse import parse_timestamp
from txdiag.vocabulary import Category

CATEGORIES: tuple[str, ...] = tuple(c.value for c in Category)

WIDTHS: tuple[int, ...] = (
    1, 5, 10, 30, 60, 300, 600, 1800, 3600, 7200, 21600, 43200, 86400,
)
"""Bucket widths (seconds) the automatic size grows through; each divides the next."""

DEFAULT_MAX_BUCKETS = 240
"""Enough for a day of 10-minute or two hours of 30-second buckets; about 100 KB at most."""

_DURATION = re.compile(r"^\s*(\d+)\s*(s|sec|m|min|h|d)?\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_duration(text: str, option: str) -> int:
    """``30s``, ``5m``, ``1h``, ``1d`` or plain seconds, as whole seconds (UsageError if not)."""
    match = _DURATION.match(text)
    seconds = 0
    if match:
        seconds = int(match.group(1)) * _UNIT_SECONDS[(match.group(2) or "s").lower()]
    if seconds <= 0:
        raise UsageError(f"{option} {text!r}: expected a duration such as 30s, 5m, 1h or 1d")
    return seconds


def describe_width(seconds: int) -> str:
    """A width in days, hours, minutes and seconds: ``300`` -> ``5m``, ``150`` -> ``2m30s``."""
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


def epoch_seconds(moment: datetime) -> float:
    """Seconds since the Unix epoch of an aware time (a naive one is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def from_epoch(seconds: float) -> datetime:
    return _EPOCH + timedelta(seconds=seconds)


def grow_width(width: int) -> int:
    """The next automatic width: the next of :data:`WIDTHS` that ``width`` divides, else double."""
    for candidate in WIDTHS:
        if candidate > width and candidate % width == 0:
            return candidate
    return width * 2


def observed(obs: Observation, zone: tzinfo) -> tuple[datetime | None, str | None, str | None]:
    """What time folds need of an observation: its time, and its category and reason when it
    failed (None for a success)."""
    moment = parse_timestamp(obs.fields.timestamp, zone)
    diagnosis = obs.diagnosis
    if diagnosis is None:
        return moment, None, None
    return moment, diagnosis.category.value, diagnosis.reason


NO_CHANNEL = "(none)"
"""The channel of a record that names none (as in :mod:`txdiag.aggregate`)."""


@dataclass(slots=True)

class Bucket:
    """What happened in one time bucket."""

    records: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    """Failures per category."""
    reasons: Counter[str] = field(default_factory=Counter)
    """Failures per reason (the set of reasons is the rulebook's: bounded)."""
    channels: Counter[tuple[str, str]] = field(default_factory=Counter)
    """Failures per (reason, channel), for failures whose channel was given to
    :meth:`Timeline.add` (bounded by the rulebook's reasons times the channels seen)."""

    @property
    def failed(self) -> int:
        return sum(self.failures.values())

    def merge(self, other: Bucket) -> None:
        self.records += other.records
        self.failures.update(other.failures)
        self.reasons.update(other.reasons)
        self.channels.update(other.channels)


class Timeline:
    """Records and failures per time bucket, in memory bounded by ``max_buckets``."""

    def __init__(
        self,
        width: int | None = None,
        *,
        max_buckets: int = DEFAULT_MAX_BUCKETS,
        keep: Literal["merge", "recent"] = "merge",
    ) -> None:
        if max_buckets < 2:
            raise ValueError("max_buckets must be at least 2")
        self.requested = width
        """The width asked for (None: automatic)."""
        self.width = width or WIDTHS[0]
        self.max_buckets = max_buckets
        self.keep = keep
        self.buckets: dict[int, Bucket] = {}
        self.first: int | None = None
        self.last: int | None = None
        self.no_timestamp = 0
        """Records without a usable time: counted, never bucketed."""
        self.dropped = 0
        """``keep="recent"``: records older than the oldest kept bucket."""
        self.reason_category: dict[str, str] = {}

    # -- folding ---------------------------------------------------------------------------

    def add_observation(self, obs: Observation, zone: tzinfo = UTC) -> None:
        self.add(*observed(obs, zone), channel=obs.fields.channel or NO_CHANNEL)

    def add(self, moment: datetime | None, category: str | None = None,
            reason: str | None = None, *, count: int = 1, channel: str | None = None) -> None:
        """Count one record at ``moment`` (``count`` alike ones: the summary's fast path);
        ``category`` is None for a success; ``channel``, when given, is counted with the
        reason of a failure."""
        if moment is None:
            self.no_timestamp += count
            return
        seconds = epoch_seconds(moment)
        key = math.floor(seconds / self.width)
        bucket = self.buckets.get(key)
        if bucket is None:
            if not self._make_room(key):
                self.dropped += count
                return
            key = math.floor(seconds / self.width)  # the width may have grown
            bucket = self.buckets.get(key)
            if bucket is None:
                bucket = self.buckets[key] = Bucket()
            self.first = key if self.first is None else min(self.first, key)
            self.last = key if self.last is None else max(self.last, key)
        bucket.records += count
        if category is not None:
            bucket.failures[category] += count
            if reason is not None:
                bucket.reasons[reason] += count
                self.reason_category.setdefault(reason, category)
                if channel is not None:
                    bucket.channels[(reason, channel)] += count

    def _make_room(self, key: int) -> bool:
        """Make ``key`` fit in ``max_buckets``; False when it is too old to keep (``recent``)."""
        if self.first is None or self.last is None:
            return True
        first, last = min(self.first, key), max(self.last, key)
        if last - first + 1 <= self.max_buckets:
            return True
        if self.keep == "recent":
            oldest = last - self.max_buckets + 1
            if key < oldest:
                return False
            for old in [k for k in self.buckets if k < oldest]:
                self.dropped += self.buckets.pop(old).records
            remaining = list(self.buckets)
            self.first = min(remaining) if remaining else None
            self.last = max(remaining) if remaining else None
            return True
        self._widen(first, last)
        return True

    def _widen(self, first: int, last: int) -> None:
        """Grow the width until ``first..last`` fits, merging buckets exactly.

        Keys are epoch-aligned and each new width is a whole multiple ``f`` of the old one, so
        ``floor(floor(t / w) / f) == floor(t / (w * f))``: merged buckets hold exactly what they
        would have held at the new width from the start.
        """
        width = self.width
        while True:
            width = grow_width(width)
            factor = width // self.width
            if last // factor - first // factor + 1 <= self.max_buckets:
                break
        merged: dict[int, Bucket] = {}
        for key, bucket in self.buckets.items():
            target = merged.get(key // factor)
            if target is None:
                merged[key // factor] = bucket
            else:
                target.merge(bucket)
        self.buckets = merged
        self.width = width
        self.first = min(merged) if merged else None
        self.last = max(merged) if merged else None

    # -- reading ---------------------------------------------------------------------------

    @property
    def bucketed(self) -> int:
        return sum(b.records for b in self.buckets.values())

    def start_of(self, key: int) -> datetime:
        return from_epoch(key * self.width)

    def failures_between(self, category: str, start: datetime,
                         end: datetime) -> tuple[Counter[str], Counter[str]]:
        """Failures of ``category`` per reason and per channel in the buckets starting in
        ``[start, end)`` (an incident window: its bounds are bucket bounds). Per channel
        counts only failures added with their channel."""
        first = math.ceil(epoch_seconds(start) / self.width)
        last = math.ceil(epoch_seconds(end) / self.width)
        reasons: Counter[str] = Counter()
        channels: Counter[str] = Counter()
        reason_category = self.reason_category
        for key in range(first, last):
            bucket = self.buckets.get(key)
            if bucket is None:
                continue
            for reason, count in bucket.reasons.items():
                if reason_category.get(reason) == category:
                    reasons[reason] += count
            for (reason, channel), count in bucket.channels.items():
                if reason_category.get(reason) == category:
                    channels[channel] += count
        return reasons, channels

    def series(self) -> Iterator[tuple[int, Bucket]]:
        """Every bucket from the first to the last, empty ones included, in time order."""
        if self.first is None or self.last is None:
            return
        empty = Bucket()
        for key in range(self.first, self.last + 1):
            yield key, self.buckets.get(key, empty)
