"""Timestamp parsing for the layouts payment logs use.

Accepted:

- ISO 8601 (``2026-11-11T00:00:01.123+08:00``, ``...Z``) and ``YYYY-MM-DD HH:MM:SS[.fff]``
  (also with ``,fff`` as log4j writes it, and ``YYYY/MM/DD``);
- ``2026年11月11日 00:00:01``;
- ``yyyyMMddHHmmss`` as 14 digits (UnionPay's ``txnTime``, ``20241111000001``);
- epoch numbers, whose unit is decided by magnitude: below 10^11 seconds (up to year 5138),
  below 10^14 milliseconds, below 10^17 microseconds, otherwise nanoseconds.

Digits must be ASCII: ``"１２３"``, ``"²"`` or ``"①"`` are refused, not read as numbers. A time
outside :data:`EARLIEST` .. :data:`LATEST` is refused too (``19999999999`` read as seconds is
the year 2603; ``0`` is a placeholder, not 1970), as is one that cannot be placed in UTC
(``9999-12-31T23:59:59-14:00``).

A time without a zone is read in the ``assume_tz`` zone. Parsing never raises: an unparseable
or refused value gives ``None`` and the record keeps its raw text.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from txdiag.errors import UsageError

_CN_DATE = re.compile(
    r"^\s*(\d{4})年(\d{1,2})月(\d{1,2})日\s*"
    r"(?:(\d{1,2})[:时](\d{1,2})[:分](\d{1,2})"
    r"(?:[.,](\d{1,6}))?秒?)?\s*$",
    re.ASCII,
)
_SLASH_DATE = re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})", re.ASCII)
_OFFSET = re.compile(r"^(?:UTC|GMT)?([+-])(\d{1,2}):?(\d{2})?$", re.IGNORECASE)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ASCII_INTEGER = re.compile(r"-?[0-9]+")
_ASCII_DECIMAL = re.compile(r"-?[0-9]+\.[0-9]+")
_COMPACT = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})([0-9]{2})")

EARLIEST = datetime(1980, 1, 1, tzinfo=UTC)
"""The earliest time a payment log is taken to hold; anything before is refused."""
LATEST = datetime(2200, 1, 1, tzinfo=UTC)
"""The first time refused as too late (a misread unit, a year 9999 placeholder)."""


def in_range(moment: datetime) -> bool:
    """Whether an aware ``moment`` lies in ``EARLIEST <= moment < LATEST``.

    The year is looked at first, so extreme values (year 1 at +14:00) never reach the
    arithmetic that would overflow.
    """
    if not EARLIEST.year - 1 <= moment.year <= LATEST.year:
        return False
    return EARLIEST <= moment < LATEST


def parse_zone(name: str) -> tzinfo:
    """``UTC``, ``Asia/Shanghai``, ``+08:00`` or ``UTC+8`` as a tzinfo (UsageError if none)."""
    text = name.strip()
    if text.upper() in {"UTC", "Z", "GMT"}:
        return UTC
    match = _OFFSET.match(text)
    if match:
        sign, hours, minutes = match.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
        if delta >= timedelta(hours=24):
            raise UsageError(f"time zone offset out of range: {name!r}")
        return timezone(-delta if sign == "-" else delta)
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(
            f"unknown time zone: {name!r}",
            hint="use an IANA name such as Asia/Shanghai, UTC, or an offset such as +08:00",
        ) from None


def _from_epoch(number: float) -> datetime | None:
    if not math.isfinite(number):
        return None
    magnitude = abs(number)
    if magnitude < 1e11:
        seconds = number
    elif magnitude < 1e14:
        seconds = number / 1e3
    elif magnitude < 1e17:
        seconds = number / 1e6
    else:
        seconds = number / 1e9
    try:
        moment = _EPOCH + timedelta(seconds=seconds)
    except OverflowError:
        return None
    return moment if in_range(moment) else None


def _digits(text: str, assume_tz: tzinfo) -> datetime | None:
    """An all-digit value: ``yyyyMMddHHmmss`` when it is a valid one, otherwise an epoch."""
    compact = _COMPACT.fullmatch(text)
    if compact is not None:
        try:
            year, month, day, hour, minute, second = map(int, compact.groups())
            moment = datetime(year, month, day, hour, minute, second, tzinfo=assume_tz)
        except ValueError:
            moment = None
        if moment is not None and in_range(moment):
            return moment
    try:
        return _from_epoch(float(text))
    except OverflowError:  # more digits than a float holds
        return None


def parse_timestamp(value: object, assume_tz: tzinfo = UTC) -> datetime | None:
    """Parse one timestamp value (string or number); ``None`` when it is not a time."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return _digits(str(value), assume_tz)
    if isinstance(value, float):
        return _from_epoch(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    if _ASCII_INTEGER.fullmatch(text):
        return _digits(text, assume_tz)
    parsed: datetime | None
    try:
        parsed = datetime.fromisoformat(text.replace(",", ".", 1) if "," in text else text)
    except ValueError:
        parsed = _parse_other(text)
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=assume_tz)
    try:
        return parsed if in_range(parsed) else None
    except OverflowError:  # a zone that cannot place it in UTC
        return None


def _parse_other(text: str) -> datetime | None:
    match = _CN_DATE.match(text)
    if match:
        year, month, day, hour, minute, second, fraction = match.groups()
        try:
            return datetime(
                int(year),
                int(month),
                int(day),
                int(hour or 0),
                int(minute or 0),
                int(second or 0),
                int((fraction or "0").ljust(6, "0")[:6]),
            )
        except ValueError:
            return None
    if _SLASH_DATE.match(text):
        try:
            return datetime.fromisoformat(text.replace("/", "-", 2).replace(",", ".", 1))
        except ValueError:
            return None
    if _ASCII_DECIMAL.fullmatch(text):
        # A float epoch such as "1762790401.123".
        return _from_epoch(float(text))
    return None
