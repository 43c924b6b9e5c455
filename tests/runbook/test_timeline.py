"""The time-bucket fold and spike detection, on generated data with known shapes."""

from __future__ import annotations

import math
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from txdiag.errors import UsageError
from txdiag.spikes import (
    Spike,
    SpikeParams,
    binomial_tail,
    detect_spikes,
    detection_width,
    merge_adjacent,
)
from txdiag.timeline import WIDTHS, Timeline, describe_width, grow_width, parse_duration

START = datetime(2026, 11, 11, tzinfo=UTC)
REASONS = {
    "balance": "balance.insufficient_funds",
    "network": "network.gateway_timeout",
    "system": "system.bank_error",
    "risk_control": "risk_control.suspected_fraud",
    "card_binding": "card_binding.invalid_card_number",
}


def feed(timeline: Timeline, rows: list[tuple[datetime | None, str | None]]) -> Timeline:
    for when, category in rows:
        timeline.add(when, category, REASONS.get(category or ""))
    return timeline


def rows_with_spike(*, minutes: int = 90, per_minute: int = 40, seed: int = 1,
                    spike: tuple[int, int, str, float] | None = None,
                    base: dict[str, float] | None = None) -> list[tuple[datetime, str | None]]:
    rng = random.Random(seed)
    rates = base or {"balance": 0.08, "network": 0.03, "system": 0.03}
    rows: list[tuple[datetime, str | None]] = []
    for minute in range(minutes):
        current = dict(rates)
        if spike and spike[0] <= minute <= spike[1]:
            current[spike[2]] = spike[3]
        for n in range(per_minute):
            roll, category = rng.random(), None
            for name, rate in current.items():
                if roll < rate:
                    category = name
                    break
                roll -= rate
            rows.append((START + timedelta(minutes=minute, seconds=60 * n / per_minute),
                         category))
    return rows


def snapshot(t: Timeline) -> dict[int, tuple[int, dict[str, int], dict[str, int]]]:
    return {k: (b.records, dict(b.failures), dict(b.reasons)) for k, b in t.buckets.items()}


# -- durations ------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("5m", 300), ("1h", 3600),
                                               ("2d", 172800), ("90", 90), (" 10 min ", 600)])
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text, "--bucket") == seconds


@pytest.mark.parametrize("text", ["", "0", "0m", "5x", "-5m", "1.5m", "m"])
def test_parse_duration_rejects_with_the_option_named(text: str) -> None:
    with pytest.raises(UsageError, match="--window"):
        parse_duration(text, "--window")


def test_widths_each_divide_the_next() -> None:
    assert all(b % a == 0 for a, b in zip(WIDTHS, WIDTHS[1:], strict=False))
    assert grow_width(86400) == 172800
    assert grow_width(7) == 14  # an odd width the ladder does not know: doubles
    assert describe_width(300) == "5m" and describe_width(90) == "1m30s"
    assert describe_width(86400 + 7200) == "1d2h" and describe_width(45) == "45s"


# -- the fold -------------------------------------------------------------------------------

def test_buckets_are_epoch_aligned_and_count_everything() -> None:
    t = Timeline(60)
    t.add(START + timedelta(seconds=59), "system", "system.bank_error")
    t.add(START + timedelta(seconds=60))
    t.add(None, "balance", "balance.insufficient_funds")
    assert t.no_timestamp == 1
    assert t.bucketed == 2
    keys = sorted(t.buckets)
    assert [t.start_of(k) for k in keys] == [START, START + timedelta(minutes=1)]
    assert t.buckets[keys[0]].failures == Counter({"system": 1})
    assert t.buckets[keys[1]].failed == 0


def test_automatic_width_starts_fine_and_stays_bounded() -> None:
    t = Timeline(max_buckets=50)
    t.add(START)
    t.add(START + timedelta(seconds=3))
    assert t.width == 1
    t.add(START + timedelta(days=3))
    assert len(t.buckets) <= 50 and t.last is not None and t.first is not None
    assert t.last - t.first + 1 <= 50
    assert t.bucketed == 3
    assert t.width in WIDTHS or t.width % WIDTHS[-1] == 0


def test_widening_is_exact_and_order_does_not_matter() -> None:
    """Folding with automatic widening, in any order, equals folding at the final width."""
    rows = rows_with_spike(minutes=300, per_minute=5, spike=(100, 110, "system", 0.5))
    rows.append((START - timedelta(hours=3), "network"))  # an early straggler
    auto = feed(Timeline(max_buckets=60), rows)
    shuffled = rows[:]
    random.Random(3).shuffle(shuffled)
    auto_shuffled = feed(Timeline(max_buckets=60), shuffled)
    direct = feed(Timeline(auto.width, max_buckets=10_000), rows)
    assert auto.width == auto_shuffled.width == 600
    assert snapshot(auto) == snapshot(auto_shuffled) == snapshot(direct)
    assert auto.bucketed == len(rows)


def test_recent_mode_keeps_the_latest_buckets_and_counts_the_rest() -> None:
    t = Timeline(60, max_buckets=10, keep="recent")
    for minute in range(30):
        t.add(START + timedelta(minutes=minute))
    assert t.width == 60
    assert len(t.buckets) == 10
    assert t.first is not None and t.start_of(t.first) == START + timedelta(minutes=20)
    assert t.dropped == 20
    t.add(START)  # late: older than anything kept
    assert t.dropped == 21 and t.bucketed == 10


def test_series_fills_empty_buckets() -> None:
    t = Timeline(60)
    t.add(START)
    t.add(START + timedelta(minutes=3), "network")
    series = list(t.series())
    assert [b.records for _, b in series] == [1, 0, 0, 1]


def test_empty_timeline() -> None:
    t = Timeline()
    assert list(t.series()) == [] and detect_spikes(t) == []
    assert detection_width(t) == t.width


# -- spikes ---------------------------------------------------------------------------------

def test_binomial_tail_matches_the_exact_sum() -> None:
    for n, q in ((25, Fraction(1, 25)), (100, Fraction(3, 10)), (7, Fraction(1, 2)),
                 (400, Fraction(1, 100))):
        p = float(q)  # the reference is exact: floats underflow in the far tail
        for k in range(0, n + 1, max(1, n // 9)):
            if k >= n * p:
                exact = sum(math.comb(n, i) * q**i * (1 - q) ** (n - i) for i in range(k, n + 1))
                assert binomial_tail(k, n, p) == pytest.approx(float(exact), rel=1e-9)
    assert binomial_tail(0, 10, 0.2) == 1.0
    assert binomial_tail(11, 10, 0.2) == 0.0
    assert binomial_tail(3, 10, 0.0) == 0.0


def test_injected_spike_is_found_with_its_start_end_and_reason() -> None:
    rows = rows_with_spike(spike=(50, 57, "network", 0.45))
    spikes = detect_spikes(feed(Timeline(60), rows))
    assert len(spikes) == 1, spikes
    spike = spikes[0]
    assert spike.category == "network"
    assert spike.start == START + timedelta(minutes=50)
    assert spike.end == START + timedelta(minutes=58)
    assert spike.buckets == 8
    assert 0.3 < spike.peak_rate <= 0.7
    assert spike.baseline_rate < 0.08
    assert spike.top_reason == "network.gateway_timeout"
    assert spike.affected == spike.top_reason_count
    assert spike.records == 8 * 40
    assert spike.excess > 0.6 * spike.affected
    assert not spike.ongoing
    assert spike.p_value < SpikeParams().max_p_value


def test_a_spike_at_the_end_is_ongoing() -> None:
    rows = rows_with_spike(minutes=40, spike=(35, 39, "system", 0.6))
    (spike,) = detect_spikes(feed(Timeline(60), rows))
    assert spike.category == "system" and spike.ongoing
    assert spike.end == START + timedelta(minutes=40)


def test_a_long_incident_does_not_become_its_own_baseline() -> None:
    """Spike buckets stay out of the baseline: a 30-bucket outage is one spike, end to end."""
    rows = rows_with_spike(minutes=80, spike=(30, 59, "system", 0.5))
    (spike,) = detect_spikes(feed(Timeline(60), rows))
    assert (spike.start, spike.end) == (START + timedelta(minutes=30),
                                        START + timedelta(minutes=60))


@pytest.mark.parametrize("seed", range(8))
def test_steady_traffic_has_no_spikes(seed: int) -> None:
    rows = rows_with_spike(minutes=180, per_minute=30, seed=seed,
                           base={"balance": 0.1, "network": 0.04, "system": 0.03,
                                 "risk_control": 0.02, "card_binding": 0.02})
    assert detect_spikes(feed(Timeline(60), rows)) == []


def test_quiet_buckets_are_not_judged_and_do_not_break_a_spike() -> None:
    rows = rows_with_spike(minutes=60, spike=(40, 45, "system", 0.6))
    # minute 43 almost empty: 3 records, all failures (would be a 100% rate)
    rows = [r for r in rows if not (START + timedelta(minutes=43) <= r[0]
                                    < START + timedelta(minutes=43, seconds=55))]
    spikes = detect_spikes(feed(Timeline(60), rows))
    assert [(s.category, s.start, s.end) for s in spikes] == [
        ("system", START + timedelta(minutes=40), START + timedelta(minutes=46))]


def test_a_lone_quiet_bucket_full_of_failures_is_no_spike() -> None:
    rows = rows_with_spike(minutes=60)
    rows += [(START + timedelta(minutes=30, seconds=s), "card_binding") for s in range(8)]
    rows = [r for r in rows if not (START + timedelta(minutes=30) <= r[0]
                                    < START + timedelta(minutes=31)) or r[1] == "card_binding"]
    assert detect_spikes(feed(Timeline(60), rows)) == []


def test_sparse_data_is_judged_at_a_wider_width() -> None:
    """5 records a minute never reach min_records: buckets merge until they do."""
    rows = rows_with_spike(minutes=240, per_minute=5, spike=(120, 149, "system", 0.7))
    timeline = feed(Timeline(60), rows)
    width = detection_width(timeline)
    assert width == 300
    spikes = detect_spikes(timeline)
    assert [s.category for s in spikes] == ["system"]
    assert spikes[0].start == START + timedelta(minutes=120)
    assert spikes[0].end == START + timedelta(minutes=150)


def test_out_of_order_input_gives_the_same_spikes() -> None:
    rows = rows_with_spike(spike=(50, 57, "network", 0.45))
    shuffled = rows[:]
    random.Random(5).shuffle(shuffled)
    assert detect_spikes(feed(Timeline(60), rows)) == detect_spikes(feed(Timeline(60), shuffled))


def spike_at(category: str, minute: int, minutes: int, affected: int, *,
             baseline: float = 0.02, reason_count: int = 1) -> Spike:
    start = START + timedelta(minutes=minute)
    return Spike(category=category, start=start, end=start + timedelta(minutes=minutes),
                 peak_rate=affected / 100, peak_at=start, baseline_rate=baseline,
                 p_value=1e-9, affected=affected, records=100 * minutes, buckets=minutes,
                 top_reason=REASONS[category], top_reason_count=reason_count, ongoing=False)


def test_spikes_of_a_category_a_bucket_apart_merge_others_stay() -> None:
    spikes = [spike_at("system", 0, 2, 30), spike_at("system", 3, 1, 50, reason_count=9),
              spike_at("network", 1, 1, 10), spike_at("system", 10, 1, 20)]
    merged = merge_adjacent(spikes, timedelta(minutes=1))
    assert [(s.category, s.start.minute, s.end.minute) for s in merged] == [
        ("system", 0, 4), ("network", 1, 2), ("system", 10, 11)]
    first = merged[0]
    assert first.affected == 80 and first.records == 300 and first.buckets == 3
    assert first.peak_rate == 0.5 and first.peak_at == spikes[1].start
    assert first.baseline_rate == spikes[0].baseline_rate and first.top_reason_count == 9
    assert merge_adjacent(spikes, timedelta(0)) == sorted(
        spikes, key=lambda s: (s.start, s.category != "network"))
