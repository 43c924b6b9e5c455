"""Format readers: turn an input's lines into raw records (mappings) or counted unreadables.

Every physical line ends up in exactly one place: a record, a blank line, or an
:class:`Unreadable` with its cause. Readers never raise for bad content, only for a stream that
cannot be read at all (:class:`~txdiag.errors.InputError`).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from txdiag.sources import LineStats, OpenedInput, iter_lines


class UnreadableCause(StrEnum):
    """Why a line or record could not be used (the keys of ``unreadable.by_cause``)."""

    INVALID_JSON = "invalid_json"
    NOT_AN_OBJECT = "not_an_object"
    BAD_ENCODING = "bad_encoding"
    LINE_TOO_LONG = "line_too_long"
    BAD_ROW = "bad_row"
    NO_TEMPLATE_MATCH = "no_template_match"
    NO_USABLE_FIELDS = "no_usable_fields"


@dataclass(slots=True)
class Unreadable:
    """A line or record that could not be used, where it was, and why (never its content)."""

    source: str
    line: int
    cause: UnreadableCause
    detail: str = ""


RawItem = tuple[int, dict[str, Any]] | Unreadable
"""What readers yield: ``(line_number, record)`` or an :class:`Unreadable`."""


@dataclass(slots=True)
class ReadStats:
    """Per-input accounting filled in while reading."""

    name: str
    format: str = ""
    compression: str | None = None
    encoding: str = "utf-8"
    blank_lines: int = 0
    attached_lines: int = 0
    """Continuation lines (stack traces) attached to the record before them."""
    lines: LineStats = field(default_factory=LineStats)
    warnings: list[str] = field(default_factory=list)


class InputFormat(StrEnum):
    AUTO = "auto"
    JSONL = "jsonl"
    JSON = "json"
    CSV = "csv"
    TSV = "tsv"
    LOGFMT = "logfmt"
    TEXT = "text"


def decoded_lines(
    opened: OpenedInput, stats: ReadStats, max_line_bytes: int
) -> Iterator[tuple[int, str | None, bytes | None]]:
    """``(number, text, None)`` for readable lines; ``(number, None, raw)`` for undecodable."""
    first = True
    for number, raw in iter_lines(opened, stats.lines, max_line_bytes=max_line_bytes):
        if raw is None:
            yield number, None, None
            continue
        if first:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
            first = False
        try:
            yield number, raw.decode(stats.encoding), None
        except UnicodeDecodeError:
            yield number, None, raw


def read_jsonl(opened: OpenedInput, stats: ReadStats, max_line_bytes: int) -> Iterator[RawItem]:
    """One JSON object per line."""
    name = opened.name
    loads = json.loads
    first = True
    for number, raw in iter_lines(opened, stats.lines, max_line_bytes=max_line_bytes):
        if raw is None:
            yield Unreadable(name, number, UnreadableCause.LINE_TOO_LONG,
                             f"longer than {max_line_bytes} bytes")
            continue
        if first:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
            first = False
        if not raw.strip():
            stats.blank_lines += 1
            continue
        try:
            data = loads(raw.decode(stats.encoding))
        except UnicodeDecodeError as exc:
            yield Unreadable(name, number, UnreadableCause.BAD_ENCODING,
                             f"not valid {stats.encoding} at byte {exc.start}")
            continue
        except (ValueError, RecursionError) as exc:
            yield Unreadable(name, number, UnreadableCause.INVALID_JSON, _json_error(exc))
            continue
        if isinstance(data, dict):
            yield number, data
        else:
            yield Unreadable(name, number, UnreadableCause.NOT_AN_OBJECT,
                             f"a JSON {type(data).__name__}, not an object")


def _json_error(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at column {exc.colno}"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return "invalid JSON"


def _read_delimited(
    opened: OpenedInput, stats: ReadStats, max_line_bytes: int, delimiter: str
) -> Iterator[RawItem]:
    """CSV or TSV with a header row. A quoted field may span lines; numbering stays physical."""
    name = opened.name
    lines = decoded_lines(opened, stats, max_line_bytes)
    header: list[str] | None = None
    # csv needs text lines; bad lines are replaced by an empty marker and reported here.
    for number, text, undecodable in lines:
        if text is None:
            cause = UnreadableCause.BAD_ENCODING if undecodable is not None else (
                UnreadableCause.LINE_TOO_LONG)
            yield Unreadable(name, number, cause, "")
            continue
        if not text.strip():
            stats.blank_lines += 1
            continue
        row_start = number
        buffer = text
        while True:
            try:
                rows = list(csv.reader([buffer], delimiter=delimiter, strict=True))
            except csv.Error:
                rows = None
            if rows is not None or buffer.count('"') % 2 == 0:
                break
            nxt = next(lines, None)
            if nxt is None or nxt[1] is None:
                rows = None
                if nxt is not None:
                    yield Unreadable(name, nxt[0], UnreadableCause.BAD_ENCODING, "")
                break
            buffer += "\n" + nxt[1]
        if not rows:
            yield Unreadable(name, row_start, UnreadableCause.BAD_ROW, "unbalanced quotes")
            continue
        row = rows[0]
        if header is None:
            header = [cell.strip() for cell in row]
            continue
        if len(row) != len(header):
            yield Unreadable(name, row_start, UnreadableCause.BAD_ROW,
                             f"{len(row)} fields where the header has {len(header)}")
            continue
        yield row_start, {key: value for key, value in zip(header, row, strict=True) if value != ""}


def read_csv(opened: OpenedInput, stats: ReadStats, max_line_bytes: int) -> Iterator[RawItem]:
    return _read_delimited(opened, stats, max_line_bytes, ",")


def read_tsv(opened: OpenedInput, stats: ReadStats, max_line_bytes: int) -> Iterator[RawItem]:
    return _read_delimited(opened, stats, max_line_bytes, "\t")
