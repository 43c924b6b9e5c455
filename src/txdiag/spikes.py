"""Spikes: where a category's failure rate stood far above its baseline in a timeline.

Detection (:func:`detect_spikes`) runs over the finished buckets of a
:class:`~txdiag.timeline.Timeline`, per category:

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
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from statistics import median

from txdiag.timeline import CATEGORIES, Bucket, Timeline, from_epoch, grow_width

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
