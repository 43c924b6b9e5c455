"""Threshold parsing and judging, over the run and over tumbling windows."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from txdiag.errors import UsageError
from txdiag.exitcodes import ExitCode
from txdiag.gate import (
    ALL_FAILURES,
    MAX_BREACHES,
    Gate,
    Kind,
    Verdict,
    parse_max_count,
    parse_max_rate,
    parse_min_success_rate,
    parse_thresholds,
)

START = datetime(2026, 11, 11, tzinfo=UTC)


def minute(m: float) -> datetime:
    return START + timedelta(minutes=m)


# -- parsing --------------------------------------------------------------------------------

def test_parse_rates_counts_and_success_rate() -> None:
    rate = parse_max_rate("system=5")
    assert (rate.kind, rate.target, rate.limit) == (Kind.MAX_RATE, "system", 0.05)
    assert rate.text == "--max-rate system=5"
    assert parse_max_rate("Failure=2.5%").limit == pytest.approx(0.025)
    assert parse_max_rate("failure=2.5%").target == ALL_FAILURES
    assert parse_max_rate("network=.5").limit == pytest.approx(0.005)
    count = parse_max_count("risk_control=100")
    assert (count.kind, count.target, count.limit) == (Kind.MAX_COUNT, "risk_control", 100)
    success = parse_min_success_rate("99.5")
    assert (success.kind, success.target, success.limit) == (
        Kind.MIN_SUCCESS_RATE, None, pytest.approx(0.995))


@pytest.mark.parametrize(("call", "argument", "words"), [
    (lambda: parse_max_rate("system"), "--max-rate system", "CATEGORY=VALUE"),
    (lambda: parse_max_rate("=5"), "--max-rate =5", "CATEGORY=VALUE"),
    (lambda: parse_max_rate("system="), "--max-rate system=", "CATEGORY=VALUE"),
    (lambda: parse_max_rate("sytem=5"), "--max-rate sytem=5", "unknown category 'sytem'"),
    (lambda: parse_max_rate("system=abc"), "--max-rate system=abc", "not a percentage"),
    (lambda: parse_max_rate("system=101"), "--max-rate system=101", "not a percentage"),
    (lambda: parse_max_rate("system=-1"), "--max-rate system=-1", "not a percentage"),
    (lambda: parse_max_rate("system=nan"), "--max-rate system=nan", "not a percentage"),
    (lambda: parse_max_count("system=1.5"), "--max-count system=1.5", "whole number"),
    (lambda: parse_max_count("timeout=3"), "--max-count timeout=3", "unknown category"),
    (lambda: parse_min_success_rate("high"), "--min-success-rate high", "not a percentage"),
])
def test_bad_thresholds_are_usage_errors_naming_the_argument(call, argument, words) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError) as info:
        call()
    assert info.value.exit_code == ExitCode.USAGE
    assert info.value.message.startswith(argument + ":")
    assert words in info.value.message
    assert info.value.hint


def test_unknown_category_hint_lists_the_categories() -> None:
    with pytest.raises(UsageError) as info:
        parse_max_rate("fraud=1")
    assert info.value.hint is not None
    assert "risk_control" in info.value.hint and "failure" in info.value.hint


def test_no_threshold_at_all_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="nothing to check"):
        parse_thresholds()


# -- judging the run ------------------------------------------------------------------------

def run_gate(rows: list[tuple[datetime | None, str | None]], *args: str, **kwargs: int) -> Gate:
    rates = [a.removeprefix("rate:") for a in args if a.startswith("rate:")]
    counts = [a.removeprefix("count:") for a in args if a.startswith("count:")]
    success = next((a.removeprefix("success:") for a in args if a.startswith("success:")), None)
    gate = Gate(parse_thresholds(rates, counts, success), **kwargs)
    for when, category in rows:
        gate.add(when, category, f"{category}.x" if category else None)
    return gate


def test_a_rate_equal_to_its_limit_is_within_it() -> None:
    rows: list[tuple[datetime | None, str | None]] = [(None, "system")] * 5 + [(None, None)] * 95
    assert run_gate(rows, "rate:system=5").result().verdict is Verdict.OK
    result = run_gate(rows, "rate:system=4.99").result()
    assert result.verdict is Verdict.BREACH
    (breach,) = result.breaches
    assert breach.measured == pytest.approx(0.05)
    assert breach.window is None and breach.records == 100 and breach.top_reason == "system.x"


def test_rates_are_of_all_records_and_failure_means_every_failure() -> None:
    rows: list[tuple[datetime | None, str | None]] = (
        [(None, "system")] * 3 + [(None, "network")] * 3 + [(None, None)] * 14)
    result = run_gate(rows, "rate:failure=30", "rate:network=10", "count:failure=5",
                      "success:70").result()
    measured = {c.threshold.text: (c.measured, c.ok) for c in result.checks}
    assert measured == {
        "--max-rate failure=30": (pytest.approx(0.3), True),
        "--max-rate network=10": (pytest.approx(0.15), False),
        "--max-count failure=5": (6, False),
        "--min-success-rate 70": (pytest.approx(0.7), True),
    }
    assert result.verdict is Verdict.BREACH and result.breach_count == 2


def test_no_records_is_its_own_verdict_never_a_pass() -> None:
    result = run_gate([], "rate:system=5").result()
    assert result.verdict is Verdict.NO_RECORDS and not result.ok
    assert result.checks[0].measured is None and result.judged == 0


def test_min_records_applies_to_the_run() -> None:
    rows: list[tuple[datetime | None, str | None]] = [(None, "system")] * 3
    result = run_gate(rows, "rate:system=5", min_records=10).result()
    assert result.verdict is Verdict.NO_RECORDS and result.quiet == 1


# -- windows --------------------------------------------------------------------------------

def test_windows_are_aligned_and_any_breach_breaches() -> None:
    rows: list[tuple[datetime | None, str | None]] = []
    for m in range(15):  # 15 minutes, 20 records a minute, 10% system in minutes 5..9
        for n in range(20):
            failed = 5 <= m < 10 and n < 4
            rows.append((minute(m + n / 20), "system" if failed else None))
    result = run_gate(rows, "rate:system=10", window=300, min_records=20).result()
    assert result.judged == 3
    assert result.verdict is Verdict.BREACH
    (breach,) = result.breaches
    assert breach.window is not None
    assert (breach.window.start, breach.window.end) == (minute(5), minute(10))
    assert breach.measured == pytest.approx(0.2) and breach.records == 100
    check = result.checks[0]
    assert (check.judged, check.breached) == (3, 1)
    assert check.window == breach.window
    whole = run_gate(rows, "rate:system=10").result()
    assert whole.verdict is Verdict.OK  # 6.7% over the run: only the window shows it


def test_a_quiet_window_cannot_trip_a_rate() -> None:
    rows = [(minute(n / 30), None) for n in range(30)]  # a busy first minute, all fine
    rows += [(minute(7), "system"), (minute(7.5), "system")]  # a quiet minute: 100% failures
    result = run_gate(rows, "rate:system=5", window=60, min_records=20).result()
    assert result.verdict is Verdict.OK
    assert (result.judged, result.quiet) == (1, 1)


def test_empty_windows_between_records_are_not_judged_or_counted() -> None:
    rows = [(minute(n / 25), None) for n in range(25)]
    rows += [(minute(600 + n / 25), None) for n in range(25)]  # ten hours later
    result = run_gate(rows, "rate:failure=1", window=60, min_records=20).result()
    assert (result.judged, result.quiet) == (2, 0)


def test_only_quiet_windows_is_no_records() -> None:
    rows = [(minute(m), "system") for m in range(50)]  # one record a minute
    result = run_gate(rows, "rate:system=5", window=60, min_records=20).result()
    assert result.verdict is Verdict.NO_RECORDS
    assert result.quiet == 50 and result.judged == 0


def test_records_without_a_time_are_counted_not_windowed() -> None:
    rows: list[tuple[datetime | None, str | None]] = [(None, "system")] * 50
    rows += [(minute(n / 30), None) for n in range(30)]
    result = run_gate(rows, "rate:system=5", window=60, min_records=20).result()
    assert result.verdict is Verdict.OK
    assert result.no_timestamp == 50 and result.run.records == 80


def test_out_of_order_records_land_in_their_windows() -> None:
    rows: list[tuple[datetime | None, str | None]] = []
    for m in range(10):
        rows += [(minute(m + n / 40), "network" if m == 4 and n < 10 else None)
                 for n in range(40)]
    ordered = run_gate(rows, "rate:network=20", window=60, min_records=20).result()
    random.Random(2).shuffle(rows)
    shuffled = run_gate(rows, "rate:network=20", window=60, min_records=20).result()
    assert ordered.verdict is shuffled.verdict is Verdict.BREACH
    assert [(b.window, b.measured) for b in ordered.breaches] == [
        (b.window, b.measured) for b in shuffled.breaches]
    assert ordered.breaches[0].measured == pytest.approx(0.25)


def test_memory_is_bounded_and_late_records_are_counted() -> None:
    rows = [(minute(m + n / 20), None) for m in range(30) for n in range(20)]
    rows.append((minute(0.5), "system"))  # long after its window was closed
    gate = run_gate(rows, "rate:system=50", window=60, min_records=20, max_open_windows=5)
    assert len(gate.open) <= 5
    result = gate.result()
    assert result.late == 1 and result.judged == 30
    assert result.verdict is Verdict.OK


def test_breaches_kept_in_detail_are_capped_but_all_counted() -> None:
    rows = [(minute(m + n / 20), "system" if n == 0 else None)
            for m in range(MAX_BREACHES + 50) for n in range(20)]
    result = run_gate(rows, "rate:system=1", window=60, min_records=20).result()
    assert result.breach_count == MAX_BREACHES + 50
    assert len(result.breaches) == MAX_BREACHES
    starts = [b.window.start for b in result.breaches if b.window]
    assert starts == sorted(starts) and starts[0] == START


def test_worst_window_of_min_success_rate_is_the_lowest() -> None:
    rows: list[tuple[datetime | None, str | None]] = []
    for m, failures in enumerate((1, 6, 3)):
        rows += [(minute(m + n / 20), "balance" if n < failures else None) for n in range(20)]
    result = run_gate(rows, "success:80", window=60, min_records=20).result()
    check = result.checks[0]
    assert check.measured == pytest.approx(0.7)
    assert check.window is not None and check.window.start == minute(1)
    assert check.breached == 1


def test_gate_rejects_nonsense_configuration() -> None:
    with pytest.raises(ValueError):
        Gate([])
    with pytest.raises(ValueError):
        Gate(parse_thresholds(["system=1"]), window=0)
