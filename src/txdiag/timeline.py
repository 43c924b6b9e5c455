"""Failures over time: a constant-memory fold into time buckets, and spike detection on it.

The fold (:class:`Timeline`) keeps one small :class:`Bucket` per time bucket: records, failures
per category and failures per reason. Buckets are aligned to the Unix epoch (UTC), so a bucket
of width ``w`` holding time ``t`` is ``floor(t / w)`` whatever order records come in.

Memory is bounded by ``max_buckets`` for any span:

- ``keep="merge"`` (``summary``): when the span would need more buckets, the width grows to the
  next width of :data:`WIDTHS` that is a whole multiple of the current one (or doubles) and
  neighbouring buckets merge. Because every step is a whole multiple and buckets are
  epoch-aligned, merging is exact: the result is what folding at the wider width from the start
  would have given. Out-of-order and late records are therefore fine.
- ``keep="recent"`` (``watch``): the width stays fixed and the oldest buckets are dropped; a
  record older than the oldest kept bucket is counted in :attr:`Timeline.dropped`.

Spike detection (:func:`detect_spikes`) runs over the finished buckets, per category:

- ``rate = failures of the category / records`` in a bucket; only buckets with at least
  ``min_records`` records are judged (a quiet minute says nothing). On sparse data the buckets
  are first merged to a wider width (:func:`detection_width`) so that they have enough;
- ``baseline`` = median of the rate over the previous ``baseline_buckets`` judged buckets that
  were not spikes themselves (so a long incident does not become its own baseline); at least
  ``min_history`` of them must exist;
- ``scale`` = ``1.4826 * MAD`` of those rates (their robust spread), at least ``min_scale``;
- a bucket is a spike when ``rate >= baseline + min_rise``, ``rate > baseline + z * scale``,
  the category has at least ``min_failures`` failures in it, and that many failures are
  unlikely to be sampling noise: ``P(X >= failures) <= max_p_value`` for
  ``X ~ Binomial(records, p)`` with ``p`` the baseline, or the history's pooled rate
  ``(F + 2) / (N + 4)`` when higher. The last test is what keeps small buckets honest (the
  median of small buckets' rates is often 0): 6 failures out of 25 over a 3 % baseline are
  not enough (p = 8e-5), 8 are (p = 4e-7);
- consecutive spike buckets of a category (quiet buckets in between do not break a run) merge
  into one :class:`Spike` with start, end, peak rate, baseline, affected failures and the top
  reason.

This module does not import Typer or Rich.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, tzinfo
from statistics import median
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


@dataclass(slots=True)

class Bucket:
    """What happened in one time bucket."""

    records: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    """Failures per category."""
    reasons: Counter[str] = field(default_factory=Counter)
    """Failures per reason (the set of reasons is the rulebook's: bounded)."""

    @property
    def failed(self) -> int:
        return sum(self.failures.values())

    def merge(self, other: Bucket) -> None:
        self.records += other.records
        self.failures.update(other.failures)
        self.reasons.update(other.reasons)


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
        self.add(*observed(obs, zone))

    def add(self, moment: datetime | None, category: str | None = None,
            reason: str | None = None, *, count: int = 1) -> None:
        """Count one record at ``moment`` (``count`` alike ones: the summary's fast path);
        ``category`` is None for a success."""
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

    def series(self) -> Iterator[tuple[int, Bucket]]:
        """Every bucket from the first to the last, empty ones included, in time order."""
        if self.first is None or self.last is None:
            return
        empty = Bucket()
        for key in range(self.first, self.last + 1):
            yield key, self.buckets.get(key, empty)


# -- spikes --------------------------------------------------------------------------------

MAD_TO_SD = 1.4826
"""Scales a median absolute deviation to a standard deviation for normally spread data."""


@dataclass(frozen=True, slots=True)
class SpikeParams:
    """The knobs of :func:`detect_spikes` (documented in docs/runbooks.md)."""

    baseline_buckets: int = 12
    """How many previous judged, non-spike buckets the baseline median is taken over."""
    min_history: int = 4
    """A bucket is judged only when at least this many baseline buckets precede it."""
    z: float = 4.0
    """How many scales (1.4826 * MAD of the baseline rates) above the baseline a rate must be."""
    min_scale: float = 0.005
    """The scale never goes below this rate (a perfectly flat baseline has a MAD of 0)."""
    min_rise: float = 0.05
    """The rate must be at least this much above the baseline (0.05 = 5 percentage points)."""
    max_p_value: float = 1e-5
    """The bucket's failures must be this unlikely as sampling noise at the baseline rate."""
    min_records: int = 20
    """Buckets with fewer records are not judged, and do not enter baselines."""
    min_failures: int = 5
    """A spike bucket has at least this many failures of the category."""


@dataclass(slots=True)
class Spike:
    """A run of buckets where one category's failure rate stood far above its baseline."""

    category: str
    start: datetime
    end: datetime
    peak_rate: float
    peak_at: datetime
    baseline_rate: float
    p_value: float
    """At the peak: the chance of that many failures or more at the baseline rate."""
    affected: int
    """Failures of the category in the spike's buckets."""
    records: int
    """Records in the spike's buckets."""
    buckets: int
    top_reason: str | None
    top_reason_count: int
    ongoing: bool
    """No judged bucket after the spike was normal again: it may not be over."""

    @property
    def excess(self) -> int:
        """Failures above what the baseline rate predicts for the spike's records."""
        return max(0, round(self.affected - self.baseline_rate * self.records))


@dataclass(slots=True)
class _Run:
    keys: list[int] = field(default_factory=list)
    rates: list[float] = field(default_factory=list)
    p_values: list[float] = field(default_factory=list)
    baseline: float = 0.0
    affected: int = 0
    records: int = 0
    reasons: Counter[str] = field(default_factory=Counter)


def binomial_tail(successes: int, trials: int, p: float) -> float:
    """``P(X >= successes)`` for ``X ~ Binomial(trials, p)``, for ``successes`` above the mean.

    Summed from ``successes`` upwards, where the terms only shrink, until they stop mattering:
    a few dozen terms even for large buckets, with no dependency on SciPy.
    """
    if successes <= 0:
        return 1.0
    if successes > trials:
        return 0.0
    if p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    log_term = (math.lgamma(trials + 1) - math.lgamma(successes + 1)
                - math.lgamma(trials - successes + 1)
                + successes * math.log(p) + (trials - successes) * math.log1p(-p))
    term = math.exp(log_term)
    total = term
    ratio = p / (1 - p)
    for k in range(successes, trials):
        term *= (trials - k) / (k + 1) * ratio
        total += term
        if term < total * 1e-12:
            break
    return min(1.0, total)


def _mad(values: list[float], center: float) -> float:
    return median(abs(v - center) for v in values)


def _coarsened(timeline: Timeline, factor: int) -> list[tuple[int, Bucket]]:
    """The series with every ``factor`` epoch-aligned buckets merged (keys at the new width)."""
    if factor == 1:
        return list(timeline.series())
    merged: dict[int, Bucket] = {}
    for key, bucket in timeline.buckets.items():
        merged.setdefault(key // factor, Bucket()).merge(bucket)
    if not merged:
        return []
    empty = Bucket()
    return [(key, merged.get(key, empty)) for key in range(min(merged), max(merged) + 1)]


def detection_width(timeline: Timeline, params: SpikeParams | None = None) -> int:
    """The bucket width spikes are judged at: the timeline's, or wider when buckets are thin.

    A bucket with fewer than ``min_records`` records is not judged, so on sparse data buckets
    are merged (through :func:`grow_width`) until the median bucket with records has
    ``min_records``, as long as enough buckets remain to form a baseline.
    """
    params = params or SpikeParams()
    width = timeline.width
    counts = [b.records for b in timeline.buckets.values()]
    if timeline.first is None or timeline.last is None or not counts:
        return width
    needed = params.min_history + 2
    while median(counts) < params.min_records:
        wider = grow_width(width)
        factor = wider // timeline.width
        if timeline.last // factor - timeline.first // factor + 1 < needed:
            break
        width = wider
        grouped: Counter[int] = Counter()
        for key, bucket in timeline.buckets.items():
            grouped[key // factor] += bucket.records
        counts = list(grouped.values())
    return width


def detect_spikes(timeline: Timeline, params: SpikeParams | None = None) -> list[Spike]:
    """Spikes of every category, ordered by start then category (method: module docstring).

    Judged at :func:`detection_width`, so start and end are at that resolution.
    """
    params = params or SpikeParams()
    spikes: list[Spike] = []
    if timeline.last is None:
        return spikes
    width = detection_width(timeline, params)
    series = _coarsened(timeline, width // timeline.width)
    for category in CATEGORIES:
        spikes.extend(_category_spikes(series, width, timeline.reason_category, category,
                                       params))
    spikes.sort(key=lambda s: (s.start, CATEGORIES.index(s.category)))
    return spikes


def _category_spikes(series: list[tuple[int, Bucket]], width: int,
                     reason_category: dict[str, str], category: str,
                     params: SpikeParams) -> list[Spike]:
    history: list[tuple[int, int]] = []
    """(failures, records) of the latest judged, non-spike buckets."""
    runs: list[_Run] = []
    current: _Run | None = None
    for key, bucket in series:
        if bucket.records < params.min_records:
            continue  # quiet: judged neither way, and a run of spikes goes on across it
        failed = bucket.failures.get(category, 0)
        rate = failed / bucket.records
        spike = False
        base = p_value = 0.0
        if len(history) >= params.min_history and failed >= params.min_failures:
            rates = [f / n for f, n in history]
            base = median(rates)
            scale = max(MAD_TO_SD * _mad(rates, base), params.min_scale)
            if rate - base >= params.min_rise and rate > base + params.z * scale:
                # The noise a bucket of this size shows at the baseline. The median of small
                # buckets' rates is often 0, so the history's pooled rate is used when higher,
                # smoothed upwards ((F + 2) / (N + 4)) since it rests on few failures.
                pooled = ((sum(f for f, _ in history) + 2)
                          / (sum(n for _, n in history) + 4))
                p_value = binomial_tail(failed, bucket.records, max(base, pooled))
                spike = p_value <= params.max_p_value
        if not spike:
            history.append((failed, bucket.records))
            if len(history) > params.baseline_buckets:
                del history[0]
            current = None
            continue
        if current is None:
            current = _Run(baseline=base)
            runs.append(current)
        current.keys.append(key)
        current.rates.append(rate)
        current.p_values.append(p_value)
        current.affected += failed
        current.records += bucket.records
        current.reasons.update({reason: n for reason, n in bucket.reasons.items()
                                if reason_category.get(reason) == category})
    # A run still open at the end (only quiet buckets after it) may not be over.
    return [_spike(width, category, run, ongoing=run is current) for run in runs]


def merge_adjacent(spikes: Sequence[Spike], gap: timedelta) -> list[Spike]:
    """Spikes of one category at most ``gap`` apart as one, ordered by start then category.

    For people reading a list: an outage that dipped below the threshold for a bucket or two
    is one incident. The merged spike adds up failures, records and buckets, keeps the highest
    peak, the first part's baseline, the last part's ``ongoing``, and the top reason of the part
    where it was most frequent (the parts' reason counts are not kept).
    """
    merged: list[Spike] = []
    last: dict[str, int] = {}
    for spike in sorted(spikes, key=lambda s: (s.start, CATEGORIES.index(s.category))):
        index = last.get(spike.category)
        if index is not None and spike.start - merged[index].end <= gap:
            before = merged[index]
            peak = spike if spike.peak_rate > before.peak_rate else before
            top = spike if spike.top_reason_count > before.top_reason_count else before
            merged[index] = replace(
                before, end=spike.end, peak_rate=peak.peak_rate, peak_at=peak.peak_at,
                p_value=peak.p_value, affected=before.affected + spike.affected,
                records=before.records + spike.records, buckets=before.buckets + spike.buckets,
                top_reason=top.top_reason, top_reason_count=top.top_reason_count,
                ongoing=spike.ongoing)
        else:
            last[spike.category] = len(merged)
            merged.append(spike)
    return merged


def _spike(width: int, category: str, run: _Run, *, ongoing: bool) -> Spike:
    peak = max(range(len(run.rates)), key=run.rates.__getitem__)
    # Ties go to the reason first in name order, whatever order the counts were added in
    # (the summary's fast path and --jobs add them in batches).
    top = sorted(run.reasons.items(), key=lambda item: (-item[1], item[0]))[:1]
    return Spike(
        category=category,
        start=from_epoch(run.keys[0] * width),
        end=from_epoch((run.keys[-1] + 1) * width),
        peak_rate=run.rates[peak],
        peak_at=from_epoch(run.keys[peak] * width),
        baseline_rate=run.baseline,
        p_value=run.p_values[peak],
        affected=run.affected,
        records=run.records,
        buckets=len(run.keys),
        top_reason=top[0][0] if top else None,
        top_reason_count=top[0][1] if top else 0,
        ongoing=ongoing,
    )
