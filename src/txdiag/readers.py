"""Format readers: turn an input's lines into raw records (mappings) or counted unreadables.

Every physical line ends up in exactly one place: a record, a blank line, or an
:class:`Unreadable` with its cause. Readers never raise for bad content, only for a stream that
cannot be read at all (:class:`~txdiag.errors.InputError`).
"""

from __future__ import annotations

import codecs
import csv
import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache, lru_cache
from itertools import repeat
from typing import Any, TypeVar

from txdiag.safety import quoted
from txdiag.sources import LineStats, OpenedInput, iter_chunks, iter_lines, split_chunk


class UnreadableCause(StrEnum):
    """Why a line or record could not be used (the keys of ``unreadable.by_cause``)."""

    INVALID_JSON = "invalid_json"
    NOT_AN_OBJECT = "not_an_object"
    BAD_ENCODING = "bad_encoding"
    LINE_TOO_LONG = "line_too_long"
    BAD_ROW = "bad_row"
    NO_TEMPLATE_MATCH = "no_template_match"
    NO_USABLE_FIELDS = "no_usable_fields"
    DUPLICATE_KEY = "duplicate_key"


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
    delimiter: str = ","
    """The field delimiter of CSV (``,``, ``;``, ``|``, ...) and TSV (tab)."""
    partial: str | None = None
    """Why the input was not read to its end without an error (``--max-pages`` stopped an API
    walk with pages left): its results are partial, and ``check`` says so."""


class InputFormat(StrEnum):
    AUTO = "auto"
    JSONL = "jsonl"
    JSON = "json"
    CSV = "csv"
    TSV = "tsv"
    LOGFMT = "logfmt"
    TEXT = "text"


def note_truncation(opened: OpenedInput, stats: ReadStats) -> None:
    """After an input was read: when the file is now shorter than when it was opened (it was
    truncated, or rotated with copytruncate, while it was read), the records are partial."""
    if opened.raw is None or opened.size is None:
        return
    try:
        now = os.fstat(opened.raw.fileno()).st_size
    except (OSError, ValueError):
        return
    if now < opened.size:
        stats.partial = (f"the file shrank from {opened.size:,} to {now:,} bytes while it was "
                         "read (truncated?): records may be missing")


def decoded_lines(
    opened: OpenedInput, stats: ReadStats, max_line_bytes: int
) -> Iterator[tuple[int, str | None, bytes | None]]:
    """``(number, text, None)`` for readable lines; ``(number, None, raw)`` for undecodable."""
    for number, raw in iter_lines(opened, stats.lines, max_line_bytes=max_line_bytes):
        if raw is None:
            yield number, None, None
            continue
        raw = raw.removeprefix(BOM)  # opening the input, or a file concatenated to it
        try:
            yield number, raw.decode(stats.encoding), None
        except UnicodeDecodeError:
            yield number, None, raw


BOM = b"\xef\xbb\xbf"

DecodedLine = tuple[int, str | None, bytes | None]


def decoded_line_chunks(
    opened: OpenedInput, stats: ReadStats, max_line_bytes: int
) -> Iterator[tuple[str | None, list[DecodedLine]]]:
    """:func:`decoded_lines` a chunk at a time: ``(text, lines)`` where ``text`` is the whole
    chunk decoded (UTF-8 chunks that decode at once) or None (decoded line by line)."""
    utf8 = is_utf8(stats.encoding)
    encoding = stats.encoding
    for chunk in iter_chunks(opened, stats.lines, max_line_bytes=max_line_bytes):
        if chunk.skipped:
            yield None, [(chunk.first, None, None)]
            continue
        data = chunk.data
        if utf8 and len(data) <= max_line_bytes:
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                pass
            else:
                lines = (text[:-1] if text.endswith("\n") else text).split("\n")
                if "\r" in text:
                    lines = [line[:-1] if line.endswith("\r") else line for line in lines]
                if "\ufeff" in text:  # opening the input, or a file concatenated to it
                    lines = [line.removeprefix("\ufeff") for line in lines]
                yield text, list(zip(range(chunk.first, chunk.first + len(lines)), lines,
                                     repeat(None)))
                continue
        out: list[DecodedLine] = []
        number = chunk.first
        for raw in split_chunk(data, keep_cr=True):
            if len(raw) > max_line_bytes:
                stats.lines.too_long += 1
                out.append((number, None, None))
                number += 1
                continue
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            raw = raw.removeprefix(BOM)
            try:
                out.append((number, raw.decode(encoding), None))
            except UnicodeDecodeError:
                out.append((number, None, raw))
            number += 1
        yield None, out

_T = TypeVar("_T")
_R = TypeVar("_R")


def is_utf8(encoding: str) -> bool:
    """Whether ``encoding`` names plain UTF-8 (not ``utf-8-sig``, which strips a BOM per line)."""
    try:
        return codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        return False


def decode_deeper(decode: Callable[[_T], _R], data: _T, depth: int = 8) -> _R:
    """``decode(data)`` called ``depth`` frames down the stack.

    Block decoders and ``json.loads`` both stop at the recursion limit, counted from where they
    are called. Calling the block decoder deeper than the per-line fallback calls
    ``json.loads`` (which adds frames of its own) makes it give up first on a deeply nested
    line, so such a line is always judged by ``json.loads``, as it was before.
    """
    if depth:
        return decode_deeper(decode, data, depth - 1)
    return decode(data)


@cache
def dict_decoder() -> Callable[[bytes], dict[str, Any]] | None:
    """msgspec's decoder of one JSON object to a ``dict`` (None without msgspec)."""
    try:
        import msgspec
    except ImportError:  # pragma: no cover - a declared dependency; the plain path still works
        return None
    decode: Callable[[bytes], dict[str, Any]] = msgspec.json.Decoder(dict).decode
    return decode


def decode_lines(job: tuple[Callable[[bytes], Any], list[bytes]]) -> list[Any]:
    decode, lines = job
    return list(map(decode, lines))


def decode_chunk(decode: Callable[[bytes], Any], data: bytes, count: int,
                 guard: KeyGuard | None = None) -> list[Any] | None:
    """The value of every line of a chunk (one JSON object each), or None when the chunk must
    go line by line: a line that is blank, not one object, or that msgspec and ``json.loads``
    might read differently (NaN, huge numbers, lone surrogates, invalid UTF-8: msgspec
    refuses them all), or a line that may give a ``guard``-ed key twice, makes the whole
    chunk take the per-line path, which decides it."""
    lines = data.split(b"\n")
    if data.endswith(b"\n"):
        lines.pop()
    if len(lines) != count:
        return None
    try:
        values = decode_deeper(decode_lines, (decode, lines))
    except (ValueError, RecursionError, TypeError):
        # msgspec's DecodeError and ValidationError are ValueErrors, and so is a
        # UnicodeDecodeError.
        return None
    if guard is not None and values:
        names: set[str] = set().union(*values)
        holding = [(name, sum(map(dict.__contains__, values, repeat(name))), True)
                   for name in names]
        if guard.suspect_chunk(data, holding):
            return None
    return values


_ESCAPED_NAME = re.compile(rb"\\u00[2-7][0-9a-fA-F]")
"""An escaped ASCII letter, digit or sign (``st\\u0061tus``): a key name may be spelt so."""


class KeyGuard:
    """Finds a JSON object giving one of the guarded top-level keys twice.

    JSON decoders keep the last of two equal keys, so ``{"status":"FAILED", ...,
    "status":"SUCCESS"}`` would silently read as a success. Only the keys that decide a
    record's outcome are guarded (``guarded(name)``), and the check is cheap: a guarded name
    whose quoted text occurs once in a line cannot be given twice there, so only a line that
    holds one more than once (or an escaped name) is parsed again, keeping every key, to see
    whether one object really gives it twice. What is given twice makes the record
    unreadable (:attr:`UnreadableCause.DUPLICATE_KEY`): which value to believe is unknown.
    """

    def __init__(self, guarded: Callable[[str], bool]) -> None:
        self._guarded = guarded
        self._patterns: dict[str, bytes | None] = {}

    def pattern(self, name: str) -> bytes | None:
        """The quoted name as it stands in a line, None when the name is not guarded."""
        patterns = self._patterns
        if name in patterns:
            return patterns[name]
        found = _quoted(name) if isinstance(name, str) and self._guarded(name) else None
        if len(patterns) >= MAX_GUARDED_NAMES:
            patterns.clear()
        patterns[name] = found
        return found

    def guards(self, name: str) -> bool:
        """Whether ``name`` decides a record's outcome (a second value for it is refused)."""
        return self.pattern(name) is not None

    def repeated(self, names: Iterable[str]) -> list[str]:
        """The guarded names that occur more than once in ``names`` (a CSV header, the keys
        of a logfmt line, the names of a JSON object), in the order they occur again."""
        seen: set[str] = set()
        twice: list[str] = []
        for name in names:
            if name in seen:
                if name not in twice and self.guards(name):
                    twice.append(name)
            else:
                seen.add(name)
        return twice

    def suspect(self, raw: bytes, names: Iterable[str]) -> bool:
        """Whether a line whose top-level names are ``names`` may give a guarded one twice."""
        pattern = self.pattern
        for name in names:
            quoted_name = pattern(name)
            if quoted_name is not None and (raw.count(quoted_name) > 1 or self._escaped(
                    raw, name)):
                return True
        return False

    def suspect_chunk(self, data: bytes, holding: Iterable[tuple[str, int, bool]]) -> bool:
        """Whether a chunk may hold a line giving a guarded name twice.

        ``holding`` gives names met, how many of the chunk's objects hold each (or fewer: one
        holding it as null need not count), and whether these are top-level objects (the
        records: only they are checked) or nested ones (named only to count them).

        Names ending alike (``"status"``, ``"trade_status"``) are counted in one pass over
        the chunk, by their common ending: each object holding one holds its quoted text,
        and distinct keys end at distinct places, so when the ending occurs no more often
        than objects hold names ending so, none is given twice. Otherwise each guarded name
        is counted, and the lines holding it, until one is seen twice in one line.
        """
        held: dict[bytes, int] = {}
        checked: list[bytes] = []
        plain = True
        for name, objects, top in holding:
            quoted_name = self.pattern(name) if top else None
            if quoted_name is not None:
                checked.append(quoted_name)
                plain = plain and name.isascii()
            else:
                quoted_name = _quoted(name)
            held[quoted_name] = held.get(quoted_name, 0) + objects
        if not checked:
            return False
        if b"\\" in data and (not plain or _ESCAPED_NAME.search(data) is not None):
            return True  # a name may be spelt with escapes
        # The checked names by their last bytes; each group counted by all it ends with.
        groups: dict[bytes, list[bytes]] = {}
        for quoted_name in checked:
            groups.setdefault(quoted_name[-_ENDING:], []).append(quoted_name)
        lines: list[bytes] | None = None
        for names in groups.values():
            ending = _common_ending(names)
            if data.count(ending) <= sum(objects for quoted_name, objects in held.items()
                                         if quoted_name.endswith(ending)):
                continue
            for quoted_name in names:
                if data.count(quoted_name) > held[quoted_name]:
                    lines = data.split(b"\n") if lines is None else lines
                    if max(map(bytes.count, lines, repeat(quoted_name))) > 1:
                        return True
        return False

    @staticmethod
    def _escaped(raw: bytes, name: str) -> bool:
        if b"\\" not in raw:
            return False
        return not name.isascii() or _ESCAPED_NAME.search(raw) is not None

    def duplicated(self, text: str) -> str | None:
        """The first guarded top-level name one JSON object (already known to be valid)
        gives twice; None when there is none."""
        pairs = json.loads(text, object_pairs_hook=list)
        if not isinstance(pairs, list):
            return None
        twice = self.repeated(name for name, _ in pairs)
        return str(twice[0]) if twice else None

    def check(self, name: str, number: int, raw: bytes, text: str,
              data: dict[str, Any]) -> RawItem:
        """A decoded line (``raw``, decoded as ``text``) as a record, or unreadable when it
        gives a guarded name twice."""
        if self.suspect(raw, data):
            twice = self.duplicated(text)
            if twice is not None:
                return Unreadable(name, number, UnreadableCause.DUPLICATE_KEY,
                                  f"key {quoted(twice)} given twice")
        return number, data


@lru_cache(maxsize=4096)
def _quoted(name: str) -> bytes:
    """A key name as JSON writes it, quotes included."""
    return json.dumps(name, ensure_ascii=False).encode()


def _common_ending(names: list[bytes]) -> bytes:
    """The longest ending all ``names`` share."""
    first = names[0]
    size = min(map(len, names))
    while size and not all(name.endswith(first[-size:]) for name in names):
        size -= 1
    return first[-size:] if size else b""


_ENDING = 5
"""Bytes of a quoted name's end shared by the names counted together."""
MAX_GUARDED_NAMES = 4096
"""Distinct names whose guard pattern is kept (names made of data must not grow memory)."""


def read_jsonl(opened: OpenedInput, stats: ReadStats, max_line_bytes: int,
               guard: KeyGuard | None = None) -> Iterator[RawItem]:
    """One JSON object per line.

    Chunks of lines are decoded at once when they are plainly one object per line (the common
    case, several times faster); any chunk that is not goes line by line through ``json.loads``,
    which decides every unreadable line and its cause, as it always has.
    """
    name = opened.name
    decode = dict_decoder() if is_utf8(stats.encoding) else None
    first = True
    for chunk in iter_chunks(opened, stats.lines, max_line_bytes=max_line_bytes):
        if chunk.skipped:
            yield Unreadable(name, chunk.first, UnreadableCause.LINE_TOO_LONG,
                             f"longer than {max_line_bytes} bytes")
            continue
        data = chunk.data
        if decode is not None and len(data) <= max_line_bytes:
            values = decode_chunk(decode, data[3:] if first and data.startswith(BOM) else data,
                                  chunk.count, guard)
            if values is not None:
                first = False
                number = chunk.first
                for value in values:
                    yield number, value
                    number += 1
                continue
        state = [first]
        yield from jsonl_chunk_lines(data, chunk.first, stats, max_line_bytes, state, guard)
        first = state[0]


def chunk_lines(data: bytes, first_line: int, stats: ReadStats, max_line_bytes: int,
                state: list[bool]) -> Iterator[tuple[int, bytes | None]]:
    """The lines of a chunk and their numbers, without CR and without a BOM opening the input;
    None for a line over ``max_line_bytes`` (counted in ``stats.lines.too_long``).

    ``state[0]`` says whether a BOM may still open the input; it is cleared after the first
    line that is read. Lazy, so that under --strict reading stops where the caller stops.
    """
    number = first_line
    for raw in split_chunk(data, keep_cr=True):
        if len(raw) > max_line_bytes:
            stats.lines.too_long += 1
            yield number, None
        else:
            if raw.endswith(b"\r"):
                raw = raw[:-1]
            # A BOM opens the input, or a file concatenated to it (cat a.jsonl b.jsonl).
            raw = raw.removeprefix(BOM)
            state[0] = False
            yield number, raw
        number += 1


def jsonl_chunk_lines(data: bytes, first_line: int, stats: ReadStats, max_line_bytes: int,
                      state: list[bool], guard: KeyGuard | None = None) -> Iterator[RawItem]:
    """A chunk of JSON Lines one line at a time through ``json.loads`` (the plain path); see
    :func:`chunk_lines` for ``state``. A generator, so that under --strict the first
    unreadable item stops reading there."""
    name = stats.name
    for number, raw in chunk_lines(data, first_line, stats, max_line_bytes, state):
        if raw is None:
            yield Unreadable(name, number, UnreadableCause.LINE_TOO_LONG,
                             f"longer than {max_line_bytes} bytes")
            continue
        item = _jsonl_line(name, number, raw, stats, guard)
        if item is not None:
            yield item


def _jsonl_line(name: str, number: int, raw: bytes, stats: ReadStats,
                guard: KeyGuard | None = None) -> RawItem | None:
    """One line through ``json.loads``: a record, an unreadable, or None for a blank line."""
    if not raw.strip():
        stats.blank_lines += 1
        return None
    try:
        text = raw.decode(stats.encoding)
        data = json.loads(text)
    except UnicodeDecodeError as exc:
        return Unreadable(name, number, UnreadableCause.BAD_ENCODING,
                          f"not valid {stats.encoding} at byte {exc.start}")
    except (ValueError, RecursionError) as exc:
        return Unreadable(name, number, UnreadableCause.INVALID_JSON, _json_error(exc))
    if isinstance(data, dict):
        return (number, data) if guard is None else guard.check(name, number, raw, text, data)
    return Unreadable(name, number, UnreadableCause.NOT_AN_OBJECT,
                      f"a JSON {type(data).__name__}, not an object")


def _json_error(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at column {exc.colno}"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return "invalid JSON"


def is_header_again(row: list[str], header: list[str]) -> bool:
    """Whether a row repeats the header (``cat a.csv b.csv``): never a record."""
    return bool(row) and row[0].strip() == header[0] and [cell.strip() for cell in row] == header


class DelimitedRows:
    """CSV or TSV rows from lines pushed one at a time (the header first).

    A quoted field may span lines: the row stays open until its quotes balance, and is
    reported at the line it starts on. Pushing lines (rather than pulling them) lets a caller
    hand whole chunks of simple lines elsewhere whenever no row is open (:mod:`txdiag.fold`).
    """

    def __init__(self, name: str, stats: ReadStats, delimiter: str,
                 guard: KeyGuard | None = None) -> None:
        self.name = name
        self.stats = stats
        self.delimiter = delimiter
        self.guard = guard
        self.header: list[str] | None = None
        self.repeated: list[tuple[str, list[int]]] = []
        """Guarded columns the header gives twice, with their positions: a row filling two of
        them is unreadable (which value to believe is unknown)."""
        self.open: tuple[int, str] | None = None
        """The row being read: the line it started on and its text so far."""

    def push(self, number: int, text: str | None, undecodable: bytes | None) -> list[RawItem]:
        """What one line completes: records and unreadables, in order."""
        name = self.name
        if self.open is not None:
            row_start, buffer = self.open
            self.open = None
            if text is None:
                # The row cannot go on: the next line is unreadable in itself.
                return [Unreadable(name, number, UnreadableCause.BAD_ENCODING, ""),
                        Unreadable(name, row_start, UnreadableCause.BAD_ROW,
                                   "unbalanced quotes")]
            return self._row(row_start, buffer + "\n" + text)
        if text is None:
            cause = UnreadableCause.BAD_ENCODING if undecodable is not None else (
                UnreadableCause.LINE_TOO_LONG)
            return [Unreadable(name, number, cause, "")]
        if not text.strip():
            self.stats.blank_lines += 1
            return []
        return self._row(number, text)

    def finish(self) -> list[RawItem]:
        """The end of the input: a row still open has unbalanced quotes."""
        if self.open is None:
            return []
        row_start, _ = self.open
        self.open = None
        return [Unreadable(self.name, row_start, UnreadableCause.BAD_ROW, "unbalanced quotes")]

    def _row(self, row_start: int, buffer: str) -> list[RawItem]:
        try:
            rows: list[list[str]] | None = list(
                csv.reader([buffer], delimiter=self.delimiter, strict=True))
        except csv.Error:
            rows = None
        if rows is None and buffer.count('"') % 2 != 0:
            self.open = (row_start, buffer)
            return []
        if not rows:
            return [Unreadable(self.name, row_start, UnreadableCause.BAD_ROW,
                               "unbalanced quotes")]
        row = rows[0]
        header = self.header
        if header is None:
            self.header = [cell.strip() for cell in row]
            if self.guard is not None:
                self.repeated = [
                    (twice, [i for i, cell in enumerate(self.header) if cell == twice])
                    for twice in self.guard.repeated(self.header)]
            return []
        if len(row) != len(header):
            return [Unreadable(self.name, row_start, UnreadableCause.BAD_ROW,
                               f"{len(row)} fields where the header has {len(header)}")]
        if is_header_again(row, header):
            return [Unreadable(self.name, row_start, UnreadableCause.BAD_ROW,
                               "the header row again (files concatenated?)")]
        for twice, positions in self.repeated:
            if sum(row[i].strip() != "" for i in positions) > 1:
                return [Unreadable(self.name, row_start, UnreadableCause.DUPLICATE_KEY,
                                   f"column {quoted(twice)} given twice")]
        return [(row_start,
                 {key: value for key, value in zip(header, row, strict=True) if value != ""})]


def read_delimited(
    opened: OpenedInput, stats: ReadStats, max_line_bytes: int, delimiter: str,
    guard: KeyGuard | None = None,
) -> Iterator[RawItem]:
    """CSV or TSV with a header row. A quoted field may span lines; numbering stays physical."""
    rows = DelimitedRows(opened.name, stats, delimiter, guard)
    for number, text, undecodable in decoded_lines(opened, stats, max_line_bytes):
        yield from rows.push(number, text, undecodable)
    yield from rows.finish()


def read_csv(opened: OpenedInput, stats: ReadStats, max_line_bytes: int) -> Iterator[RawItem]:
    return read_delimited(opened, stats, max_line_bytes, ",")


def read_tsv(opened: OpenedInput, stats: ReadStats, max_line_bytes: int) -> Iterator[RawItem]:
    return read_delimited(opened, stats, max_line_bytes, "\t")
