"""The one time parser: what it reads, and what it refuses rather than misreads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from txdiag.timeparse import EARLIEST, LATEST, in_range, parse_timestamp

SHANGHAI = timezone(timedelta(hours=8))


@pytest.mark.parametrize("value", [
    "²", "①", "１２３", "１７６２７９０４０１", "٣٤٥",  # digits that are not ASCII
    "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00",  # cannot be placed in UTC
    "19999999999", 19999999999,  # seconds: the year 2603
    "0", 0, "1", -5,  # placeholders, not 1970
    "1e5", "nan", "inf", "1_000_000_000", " 1762790401 x",
    "9" * 400, int("9" * 400), float("nan"), float("inf"),
    "２０２６年11月11日 00:00:01", "2026/１1/11 00:00:01",
])
def test_refused_not_misread(value: object) -> None:
    assert parse_timestamp(value) is None


@pytest.mark.parametrize(("value", "expected"), [
    ("20241111000001", datetime(2024, 11, 11, 0, 0, 1, tzinfo=SHANGHAI)),
    (20241111000001, datetime(2024, 11, 11, 0, 0, 1, tzinfo=SHANGHAI)),
    ("1762790401", datetime(2025, 11, 10, 16, 0, 1, tzinfo=UTC)),
    ("1762790401123", datetime(2025, 11, 10, 16, 0, 1, 123000, tzinfo=UTC)),
    ("1762790401.5", datetime(2025, 11, 10, 16, 0, 1, 500000, tzinfo=UTC)),
    ("2026-11-11T00:00:01+08:00", datetime(2026, 11, 11, 0, 0, 1, tzinfo=SHANGHAI)),
    ("2026年11月11日 00:00:01", datetime(2026, 11, 11, 0, 0, 1, tzinfo=SHANGHAI)),
])
def test_read(value: object, expected: datetime) -> None:
    assert parse_timestamp(value, SHANGHAI) == expected


def test_compact_that_is_no_date_is_an_epoch() -> None:
    # 14 digits that are no valid yyyyMMddHHmmss fall back to the epoch rule (milliseconds).
    assert parse_timestamp("17627904011230") is None  # month 27: and as ms, the year 2528
    assert parse_timestamp("20241399000001") is None


def test_range_edges() -> None:
    assert in_range(EARLIEST) and not in_range(LATEST)
    assert not in_range(EARLIEST - timedelta(microseconds=1))
    assert in_range(datetime(2199, 12, 31, 23, 59, tzinfo=UTC))
    assert not in_range(datetime(9999, 12, 31, 23, 59, tzinfo=timezone(-timedelta(hours=14))))
