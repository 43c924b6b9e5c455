"""Readers for the formats beyond JSON Lines and CSV: JSON documents, logfmt, plain text.

A JSON document is streamed: the records array is found (automatically, or by a dotted
``records_path``) without loading the document, then its records are cut in batches and
decoded as JSON Lines are, value by value where a batch does not decode.
"""

from __future__ import annotations

import codecs
import csv
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from operator import methodcaller
from typing import Any

from txdiag.errors import InputError
from txdiag.patterns import compile_pattern
from txdiag.readers import (
    BOM,
    InputFormat,
    KeyGuard,
    RawItem,
    ReadStats,
    Unreadable,
    UnreadableCause,
    decode_chunk,
    decoded_line_chunks,
    dict_decoder,
    read_delimited,
    read_jsonl,
)
from txdiag.safety import mask_text, quoted, strip_ansi
from txdiag.sources import (
    BLOCK_SIZE,
    DEFAULT_MAX_LINE_BYTES,
    SAMPLE_SIZE,
    OpenedInput,
    normalize,
    read_block,
)

MAX_JSON_VALUE_BYTES = 64 << 20
"""A single JSON value (one record, or a skipped one) larger than this is not read."""
MAX_JSON_DEPTH = 64
BATCH_BYTES = 1 << 16
"""About how many bytes of records :meth:`_JsonStream.batch` cuts at once."""
MAX_CUT_TRIES = 64
"""Closing braces tried, from the end of a batch backwards, for one that ends a record."""
_DECODER = json.JSONDecoder()


_SKIP_WS = re.compile(rb"[ \t\r\n]*")
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")
_ITEM_END = re.compile(rb"\}[ \t\r\n]*(?:,[ \t\r\n]*\{|\])")
"""A closing brace that may end a record: the next record, or the array's end, follows."""
_SEPARATOR = re.compile(rb"\}[ \t\r]*,[ \t\r]*\{")
"""Between two records, in a batch whose line ends became tabs."""
_FAILED: Any = object()


@dataclass(frozen=True, slots=True)
class ItemBatch:
    """Records of a JSON document cut at once (:meth:`_JsonStream.batch`), one per line.

    ``data`` holds them as JSON Lines: each record's line ends became tabs (whitespace
    between tokens, and still invalid inside a string), and what separates two records
    became a line end. The cut is a guess made by looking at bytes only (a ``}`` followed by
    ``,`` and ``{``, which a string may hold too): it is right exactly when every line decodes
    as one object. Whoever takes the batch must check that, and give the batch back
    otherwise: its records are then read one by one.
    """

    data: bytes
    count: int
    """Lines in ``data`` (records, when every one decodes)."""
    first_line: int
    """The line the first record starts on."""
    source: bytes
    """The records' bytes as they stand in the document."""

    def lines(self) -> list[int]:
        """The line each record starts on (in a document spread over lines, each its own)."""
        source = self.source
        if b"\n" not in source:
            return [self.first_line] * self.count
        flat = source.replace(b"\n", b"\t")
        lines = [self.first_line]
        line, counted = self.first_line, 0
        for found in _SEPARATOR.finditer(flat):
            start = found.end() - 1
            line += source.count(b"\n", counted, start)
            counted = start
            lines.append(line)
        return lines


class _JsonStream:
    """A window over the decompressed input's bytes, with a cursor, refilled block by block.

    Values are decoded one at a time from the cursor (:meth:`value`: the bytes just ahead
    decoded to text, bytes that are not UTF-8 as surrogate escapes, and ``raw_decode``), or
    records many at a time (:meth:`batch`, for a decoder of JSON Lines). Lines are counted
    on from where they were counted last, never from the start.
    """

    def __init__(self, opened: OpenedInput) -> None:
        self.opened = opened
        self.data = b""
        self.pos = 0
        self.offset = 0
        """Where ``data`` starts in the input."""
        self.start = 0
        """Where the value decoded last starts (:meth:`last_bytes`)."""
        self.line = 1
        """The line of ``data[counted]``."""
        self.counted = 0
        self.eof = False
        self._size = 1024
        """Bytes decoded to text for the next value (it grows with the values met)."""

    def _fill(self) -> bool:
        if self.eof:
            return False
        block = read_block(self.opened.stream, BLOCK_SIZE, self.opened.name,
                           self.opened.compression)
        if not block:
            self.eof = True
            return False
        self.current_line()
        self.offset += self.pos
        self.data = self.data[self.pos:] + block
        self.pos = self.counted = self.start = 0
        return True

    def current_line(self) -> int:
        if self.pos >= self.counted:
            self.line += self.data.count(b"\n", self.counted, self.pos)
        else:  # the cursor went back
            self.line -= self.data.count(b"\n", self.pos, self.counted)
        self.counted = self.pos
        return self.line

    def tell(self) -> int:
        """The cursor's place in the input."""
        return self.offset + self.pos

    def peek(self) -> bytes:
        """The next non-blank byte (without consuming it), or b"" at the end."""
        while True:
            self.pos = _SKIP_WS.match(self.data, self.pos).end()  # type: ignore[union-attr]
            if self.pos < len(self.data):
                return self.data[self.pos:self.pos + 1]
            if not self._fill():
                return b""

    def peek_after(self) -> bytes:
        """The non-blank byte after the one at the cursor (which :meth:`peek` returned)."""
        while True:
            at = _SKIP_WS.match(self.data, self.pos + 1).end()  # type: ignore[union-attr]
            if at < len(self.data):
                return self.data[at:at + 1]
            if not self._fill():
                return b""

    def skip_bom(self) -> None:
        while len(self.data) - self.pos < 3 and self._fill():
            pass
        if self.data.startswith(BOM, self.pos):
            self.pos += 3

    def expect(self, char: str) -> None:
        if self.peek() != char.encode():
            raise self.error(f"expected {char!r}")
        self.pos += 1

    def value(self) -> tuple[int, Any]:
        """Decode the next JSON value; its starting line and the value. A value holding bytes
        that are not UTF-8 raises ``UnicodeDecodeError``."""
        self.peek()
        start_line = self.current_line()
        size = self._size
        while True:
            window = self.data[self.pos:self.pos + size]
            whole = self.pos + size >= len(self.data)
            text = window.decode("utf-8", "surrogateescape")
            error: json.JSONDecodeError | None = None
            try:
                value, end = _DECODER.raw_decode(text)
            except json.JSONDecodeError as exc:
                value, end, error = _FAILED, 0, exc
            # Only a value followed by something is whole (a number may go on after the cut).
            if value is not _FAILED and (end < len(text) or (whole and self.eof)):
                break
            if not whole:
                size *= 4
                continue
            if error is not None and len(self.data) - self.pos > MAX_JSON_VALUE_BYTES:
                raise error
            if not self._fill():
                if error is not None:
                    raise error
                break
        if _ESCAPED_BYTE.search(text, 0, end) is not None:
            raise UnicodeDecodeError("utf-8", b"", 0, 1, "invalid byte in a value")
        length = end if len(text) == len(window) else len(
            text[:end].encode("utf-8", "surrogateescape"))
        self._size = max(1024, 2 * length)
        self.start, self.pos = self.pos, self.pos + length
        return start_line, value

    def last_bytes(self) -> bytes:
        """The bytes of the value :meth:`value` decoded last."""
        return self.data[self.start:self.pos]

    def batch(self) -> ItemBatch | None:
        """At the start of a record (the cursor on ``{``): the records from there on that
        end in the next :data:`BATCH_BYTES` or so, as JSON Lines, without moving the cursor;
        None when no end of a record is found there."""
        while len(self.data) - self.pos <= BATCH_BYTES and self._fill():
            pass
        data, pos = self.data, self.pos
        limit = min(len(data), pos + BATCH_BYTES)
        for _ in range(MAX_CUT_TRIES):
            cut = data.rfind(b"}", pos, limit)
            if cut < 0:
                return None
            if _ITEM_END.match(data, cut) is not None:
                break
            limit = cut
        else:
            return None
        source = data[pos:cut + 1]
        flat = source.replace(b"\n", b"\t") if b"\n" in source else source
        lines = _SEPARATOR.sub(b"}\n{", flat)
        return ItemBatch(lines, lines.count(b"\n") + 1, self.current_line(), source)

    def error(self, what: str) -> InputError:
        return InputError(f"{self.opened.name}:{self.current_line()}: not a JSON document of "
                          f"records: {what}")


Take = Callable[[ItemBatch], Iterable[RawItem] | None]
"""What reads a batch of records at once (:func:`read_json_document`): their items, or None
to give the batch back (its records are then decoded one by one)."""


def read_json_document(opened: OpenedInput, stats: ReadStats, max_line_bytes: int,
                       records_path: str | None = None,
                       guard: KeyGuard | None = None, *,
                       take: Take | None = None, batches: bool = True) -> Iterator[RawItem]:
    """The records of a JSON document: a top-level array, or an array inside objects.

    Records are cut from the document in batches and decoded as JSON Lines are (by msgspec,
    or by ``take``); a batch that does not decode, and every value that is not a record,
    goes value by value through ``json``, which decides every unreadable item and its cause.
    ``batches=False`` reads every value so (the reference the batches are tested against).
    """
    stream = _JsonStream(opened)
    stream.skip_bom()
    path = records_path.split(".") if records_path else None
    try:
        found = _find_records(stream, path, 0)
    except RecursionError:
        raise stream.error("nested too deeply") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        # Before the records start there is nothing to keep: the document is not usable.
        raise stream.error("invalid JSON before the records") from None
    if not found:
        where = f"at {records_path!r}" if records_path else "(no array of objects found)"
        raise stream.error(f"no records {where}")
    if batches and take is None:
        take = _dict_batches(guard)
    yield from _array_items(stream, opened.name, guard, take if batches else None)


def _dict_batches(guard: KeyGuard | None) -> Take | None:
    """Batches decoded as JSON Lines are by :func:`read_jsonl`: dictionaries by msgspec."""
    decode = dict_decoder()
    if decode is None:  # pragma: no cover - a declared dependency
        return None

    def take(batch: ItemBatch) -> Iterable[RawItem] | None:
        values = decode_chunk(decode, batch.data, batch.count, guard)
        if values is None:
            return None
        return zip(batch.lines(), values, strict=True)

    return take


def _find_records(stream: _JsonStream, path: list[str] | None, depth: int) -> bool:
    """Advance to just inside the records array; False if there is none."""
    if depth > MAX_JSON_DEPTH:
        raise stream.error("nested too deeply")
    first = stream.peek()
    if first == b"[":
        rejected = bool(path)
        if path is None and depth > 0:
            # Auto-detection: an array counts only when it holds objects (or nothing).
            rejected = stream.peek_after() not in (b"{", b"]")
        if rejected:
            stream.value()  # skip the whole array: the caller goes on after it
            return False
        stream.pos += 1
        return True
    if first != b"{":
        return False
    stream.pos += 1
    while True:
        if stream.peek() == b"}":
            stream.pos += 1
            return False
        _, key = stream.value()
        stream.expect(":")
        wanted = path is None or (path and key == path[0])
        nxt = stream.peek()
        if wanted and nxt in (b"[", b"{"):
            if _find_records(stream, path[1:] if path else None, depth + 1):
                return True
        else:
            stream.value()  # skip this member
        if stream.peek() == b",":
            stream.pos += 1


def _array_items(stream: _JsonStream, name: str, guard: KeyGuard | None,
                 take: Take | None) -> Iterator[RawItem]:
    if stream.peek() == b"]":
        return
    given_back = -1
    """Where a batch given back ends: the values before it are read one by one."""
    while True:
        # A value that cannot be read is reported where the one before it ended.
        line = stream.current_line()
        items: Iterable[RawItem] | None = None
        if take is not None and stream.tell() >= given_back and stream.peek() == b"{":
            batch = stream.batch()
            if batch is not None:
                items = take(batch)
                if items is None:
                    given_back = stream.tell() + len(batch.source)
                else:
                    yield from items
                    stream.pos += len(batch.source)
        if items is None:
            try:
                line, value = stream.value()
            except RecursionError:
                raise stream.error("a record is nested too deeply") from None
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                cause = (UnreadableCause.BAD_ENCODING if isinstance(exc, UnicodeDecodeError)
                         else UnreadableCause.INVALID_JSON)
                yield Unreadable(name, line, cause, "the rest of the document cannot be parsed")
                return
            if isinstance(value, dict):
                if guard is None:
                    yield line, value
                else:
                    raw = stream.last_bytes()
                    yield guard.check(name, line, raw, raw.decode("utf-8"), value)
            else:
                yield Unreadable(name, line, UnreadableCause.NOT_AN_OBJECT,
                                 f"a JSON {type(value).__name__}, not an object")
        following = stream.peek()
        if following == b",":
            stream.pos += 1
        elif following == b"]":
            return
        else:
            yield Unreadable(name, stream.current_line(), UnreadableCause.INVALID_JSON,
                             "expected ',' or ']' between records")
            return


def find_records(document: Any, records_path: str | None = None) -> list[Any] | None:
    """In a document already in memory (an HTTP page), the records list, or None."""
    if records_path:
        value: Any = document
        for part in records_path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value if isinstance(value, list) else None
    if isinstance(document, list):
        return document
    if isinstance(document, dict):
        for value in document.values():
            if isinstance(value, list) and (not value or isinstance(value[0], dict)):
                return value
        for value in document.values():
            found = find_records(value) if isinstance(value, dict) else None
            if found is not None:
                return found
    return None


# -- logfmt -----------------------------------------------------------------------------------

_LOGFMT_PAIR = re.compile(
    r'''\s*([^\s="]+)=(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([^\s"]*))'''
)
_split_pair = methodcaller("split", "=", 1)
_UNESCAPE = re.compile(r"\\(.)")


def parse_logfmt(line: str) -> dict[str, str] | None:
    """``key=value key2="quoted value"`` pairs; None when the line holds no pair at all."""
    if '"' not in line and "'" not in line:
        # Most lines have no quotes, and every token is a key, "=" and a bare value, which
        # is what the pattern finds in them: split in C. A token the pattern reads otherwise
        # (no "=": skipped; a leading "=": the key is what follows) makes dict() refuse the
        # line or gives an empty key; the pattern then reads the line.
        try:
            record: dict[str, str] = dict(map(_split_pair, line.split()))
        except ValueError:
            pass
        else:
            if "" not in record:
                return record or None
    pairs = _LOGFMT_PAIR.findall(line)
    if not pairs:
        return None
    if "\\" not in line:
        # No escape anywhere: whichever alternative matched is the value ("" when empty).
        return {key: dq or sq or bare for key, dq, sq, bare in pairs}
    record = {}
    for key, dq, sq, bare in pairs:
        inner = dq or sq
        if inner:
            record[key] = _UNESCAPE.sub(r"\1", inner) if "\\" in inner else inner
        else:
            record[key] = bare
    return record


def logfmt_keys(line: str) -> list[str]:
    """The keys of a logfmt line in order, repeats included (what :func:`parse_logfmt` keeps
    only the last value of)."""
    return [key for key, *_ in _LOGFMT_PAIR.findall(line)]


# -- plain text through templates -------------------------------------------------------------

@dataclass(frozen=True)
class Template:
    """A named-group pattern for one plain-text log layout (compiled with RE2)."""

    name: str
    pattern: Any


BUILTIN_TEMPLATES: dict[str, str] = {
    # 2026-11-11 00:00:01.123 ERROR [pay-gateway] txn=T1 code=51 msg=余额不足
    # The key=value tail is parsed as logfmt, so any fields may follow the level and logger.
    "gateway": r"^(?P<ts>\d{4}[-/]\d{2}[-/]\d{2}[ T]\d{2}:\d{2}:\d{2}(?:[.,]\d{1,6})?"
               r"(?:Z|[+-]\d{2}:?\d{2})?)\s+(?P<level>[A-Z]+)\s+\[(?P<logger>[^\]]*)\]\s*"
               r"(?P<kv>.*)$",
    # 2026-11-11 00:00:01,123 [main] ERROR com.pay.Gateway - T1 payment failed: Read timed out
    "java": r"^(?P<ts>\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:[.,]\d{1,6})?)\s+\[[^\]]*\]\s+"
            r"(?P<level>[A-Z]+)\s+(?P<logger>\S+)\s+-\s+(?P<msg>.*)$",
    # [2026-11-11 00:00:01] ERROR: txn T1 failed (code 51): 余额不足
    "bracketed": r"^\[(?P<ts>[^\]]+)\]\s+(?P<level>[A-Za-z]+):?\s+(?P<msg>.*)$",
}

# A line that continues the previous entry: a stack frame, a "Caused by", an indented line.
_CONTINUATION = re.compile(
    r"^(?:\s+\S"  # indented: stack frames, wrapped text
    r"|at\s|Caused by:|Suppressed:|\.\.\. \d+ more|Traceback \(|File \""
    # an exception line: java.net.SocketTimeoutException: ..., ConnectionResetError: ...
    r"|(?:[A-Za-z_$][\w$]*\.)*[A-Za-z_$][\w$]*(?:Exception|Error|Throwable|Timeout)\b:?)"
)
# ``txn=T3``, ``order_no: T5``, ``out_trade_no=...`` (any length after "=" or ":"), and
# ``txn T20261111`` (after a blank only a token holding a digit: "order failed" names none).
_TXN_IN_TEXT = re.compile(
    r"\b(?:out_)?(?:txn|order|trade)[ _]?(?:id|no)?"
    r"(?:[ ]*[=:][ ]*([A-Za-z0-9_\-]{1,64})|[ ]+(?=[A-Za-z_\-]*[0-9])([A-Za-z0-9_\-]{2,64}))",
    re.I)
_CODE_IN_TEXT = re.compile(r"\b(?:code|err_?code|resp_?code)[=: ]+([A-Za-z0-9_.\-]{1,40})", re.I)
_FAILURE_LEVELS = {"ERROR", "FATAL", "CRITICAL", "SEVERE", "ERR"}


def compile_templates(user: Mapping[str, str]) -> list[Template]:
    """User templates first (they are more specific), then the built-in ones."""
    return [Template(name, compile_pattern(pattern, case_sensitive=True)) for name, pattern in
            [*user.items(), *BUILTIN_TEMPLATES.items()]]


def parse_text_line(line: str, templates: Sequence[Template]) -> dict[str, Any] | None:
    # A coloured line is read like a plain one: templates never see escape sequences.
    line = strip_ansi(line)
    for template in templates:
        match = template.pattern.match(line)
        if match is None:
            continue
        record: dict[str, Any] = {k: v for k, v in match.groupdict().items() if v is not None}
        tail = record.pop("kv", None)
        if tail:
            pairs = parse_logfmt(tail)
            if pairs:
                record.update(pairs)
            else:
                record["msg"] = tail
        level = record.pop("level", "").upper()
        record.pop("logger", None)
        msg = record.get("msg") or record.get("message") or ""
        if "txn_id" not in record and (found := _TXN_IN_TEXT.search(msg)):
            record["txn_id"] = found.group(1) or found.group(2)
        if "code" not in record and (found := _CODE_IN_TEXT.search(msg)):
            record["code"] = found.group(1)
        if level in _FAILURE_LEVELS and "status" not in record:
            record["status"] = "error"
        elif level and "status" not in record and not any(
            k in record for k in ("code", "err_code", "error")
        ):
            # An INFO/WARN line without an error field is not a failure to diagnose.
            record["status"] = "ok"
        return record
    return None


_CONTINUATION_LINES = re.compile(_CONTINUATION.pattern, re.MULTILINE)
"""The same test at the start of every line of a text: finds every continuation line (and,
harmlessly, a few more: ``\\s`` may span a newline)."""


def is_continuation(line: str) -> bool:
    return bool(_CONTINUATION.match(line))


MESSAGE_KEYS = ("msg", "message", "error", "err_msg", "error_message")
MAX_ATTACHED_CHARS = 64 * 1024


def _read_line_records(
    opened: OpenedInput,
    stats: ReadStats,
    max_line_bytes: int,
    parse: Any,
    unmatched: UnreadableCause,
    unmatched_detail: str,
) -> Iterator[RawItem]:
    """Line-oriented records; continuation lines (stack traces) join the record before them."""
    name = opened.name
    pending: tuple[int, dict[str, Any]] | None = None
    refused = False  # the last record was refused (a key given twice): its trace is no record
    for chunk_text, lines in decoded_line_chunks(opened, stats, max_line_bytes):
        # One search over a chunk instead of a match per line: when it finds nothing, no line
        # of the chunk is a continuation.
        may_continue = chunk_text is None or _CONTINUATION_LINES.search(chunk_text) is not None
        for number, text, raw in lines:
            if text is None:
                cause = (UnreadableCause.BAD_ENCODING if raw is not None
                         else UnreadableCause.LINE_TOO_LONG)
                yield Unreadable(name, number, cause, "")
                continue
            if not text.strip():
                stats.blank_lines += 1
                continue
            if refused and may_continue and is_continuation(text):
                stats.attached_lines += 1  # the trace of a record refused above
                continue
            if pending is not None and may_continue and is_continuation(text):
                record = pending[1]
                key = next((k for k in MESSAGE_KEYS if k in record), "msg")
                current = str(record.get(key, ""))
                if len(current) < MAX_ATTACHED_CHARS:
                    record[key] = (current + "\n" + text.strip())[:MAX_ATTACHED_CHARS]
                stats.attached_lines += 1
                continue
            record_or_none = parse(text)
            refused = False
            if pending is not None:
                yield pending
                pending = None
            if record_or_none is None:
                yield Unreadable(name, number, unmatched, unmatched_detail)
                continue
            if isinstance(record_or_none, str):  # why the line's record is refused
                yield Unreadable(name, number, UnreadableCause.DUPLICATE_KEY, record_or_none)
                refused = True
                continue
            pending = (number, record_or_none)
    if pending is not None:
        yield pending


def read_logfmt(opened: OpenedInput, stats: ReadStats, max_line_bytes: int, *,
                guard: KeyGuard | None = None, **_: Any) -> Iterator[RawItem]:
    parse: Callable[[str], dict[str, str] | str | None] = parse_logfmt
    if guard is not None:
        def parse(line: str) -> dict[str, str] | str | None:
            record = parse_logfmt(line)
            if record is None:
                return None
            twice = guard.repeated(logfmt_keys(line)) if len(record) < line.count("=") else []
            return f"key {quoted(twice[0])} given twice" if twice else record
    return _read_line_records(opened, stats, max_line_bytes, parse,
                              UnreadableCause.NO_TEMPLATE_MATCH, "no name=value pairs")


def read_text(opened: OpenedInput, stats: ReadStats, max_line_bytes: int, *,
              templates: Sequence[Template] = (), **_: Any) -> Iterator[RawItem]:
    active = list(templates) or compile_templates({})
    return _read_line_records(opened, stats, max_line_bytes,
                              lambda line: parse_text_line(line, active),
                              UnreadableCause.NO_TEMPLATE_MATCH, "matches no text template")


# -- detection and dispatch --------------------------------------------------------------------

DETECT_LINES = 64
"""Lines of the sample the detector reads: one bad line among them cannot decide alone."""
DELIMITERS = (",", "\t", ";", "|")
"""The delimiters told apart by detection (``--delimiter`` names any other)."""


@dataclass(frozen=True)
class Detected:
    """What :func:`detect_format` decided: the format, and for CSV the delimiter."""

    format: InputFormat
    delimiter: str = ","


def _sample_lines(text: bytes, whole: bool) -> list[bytes]:
    """The sample's non-blank lines without their ends; the last one, when the sample is not
    the ``whole`` input (it is cut), only when it is the only one. Lines holding NUL (padding
    of a crashed writer) are left out: they are unreadable whatever the format."""
    lines = text.split(b"\n")
    if len(lines) > 1 and not whole:
        lines.pop()  # a line cut by the sample's end
    kept = [line.rstrip(b"\r") for line in lines if line.strip() and b"\x00" not in line]
    return kept[:DETECT_LINES]


def _decoded(lines: list[bytes], encoding: str) -> list[str]:
    """The lines that decode: one that does not is unreadable whatever the format."""
    out = []
    for line in lines:
        try:
            out.append(line.decode(encoding))
        except UnicodeDecodeError:
            continue
    return out


def _is_object(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except (ValueError, RecursionError):
        return False


def _delimited_votes(lines: list[str], delimiter: str) -> int:
    """Lines with as many fields as the first (the header), when it has at least two."""
    try:
        widths = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
    except csv.Error:
        return 0
    if not widths or widths[0] < 2:
        return 0
    return sum(width == widths[0] for width in widths)


def detect_format(sample: bytes, templates: Sequence[Template] = (), *,
                  encoding: str = "utf-8", whole: bool = False) -> Detected:
    """Decide the format from content, never the file name: by the first
    :data:`DETECT_LINES` lines of the sample, each format scored by the lines it reads, so
    that one bad line (a cut first line, ``{}{}``) never decides alone.

    A sample starting with ``[`` followed by ``{``, ``[`` or ``]`` is a JSON document; one
    starting with ``{`` is JSON Lines when at least half of its lines are JSON objects, a
    JSON document otherwise (an object spanning lines), or, with no whole line in the sample
    (a first record longer than the sample), JSON Lines unless an array of objects opens in
    it.
    """
    text = sample.removeprefix(b"\xef\xbb\xbf").lstrip()
    if not text:
        return Detected(InputFormat.JSONL)
    if text[:1] == b"[" and text[1:].lstrip()[:1] in (b"{", b"[", b"]", b""):
        return Detected(InputFormat.JSON)
    lines = _decoded(_sample_lines(text, whole), encoding)
    if text[:1] == b"{":
        if b"\n" not in text.rstrip(b"\r\n"):
            only_line = text.rstrip(b"\r\n").decode(encoding, "replace")
            if whole or len(sample) < SAMPLE_SIZE:  # the whole input: one line
                return Detected(InputFormat.JSONL if lines and _is_object(lines[0])
                                else InputFormat.JSON)
            opens_array = _ARRAY_OF_OBJECTS.search(only_line) is not None
            return Detected(InputFormat.JSON if opens_array else InputFormat.JSONL)
        objects = sum(map(_is_object, lines))
        return Detected(InputFormat.JSONL if objects and objects * 2 >= len(lines)
                        else InputFormat.JSON)
    if not lines:
        return Detected(InputFormat.JSONL)
    active = list(templates) or compile_templates({})
    # Stack traces and wrapped text continue a text or logfmt record: not held against them.
    entries = [line for line in lines if not is_continuation(line)] or lines
    scores: list[tuple[float, Detected]] = [
        (sum(map(_is_object, lines)) / len(lines), Detected(InputFormat.JSONL)),
        (sum(parse_text_line(line, active) is not None for line in entries) / len(entries),
         Detected(InputFormat.TEXT)),
        (sum(len(parse_logfmt(line) or ()) >= 2 for line in entries) / len(entries),
         Detected(InputFormat.LOGFMT)),
    ]
    for delimiter in ("\t", *(d for d in DELIMITERS if d != "\t")):
        fmt = InputFormat.TSV if delimiter == "\t" else InputFormat.CSV
        scores.append((_delimited_votes(lines, delimiter) / len(lines), Detected(fmt, delimiter)))
    # The largest share of lines read wins; on a tie, the order above (JSON Lines first).
    best, detected = max(scores, key=lambda scored: scored[0])
    if best >= 0.5:
        return detected
    # Mask before cutting: a card number cut short no longer validates and would show.
    excerpt = mask_text(lines[0][:200])[:60]
    raise InputError(
        f"cannot tell the input format of {excerpt!r}...",
        hint="pass --input-format (jsonl, json, csv, tsv, logfmt, text), or add a text template",
    )


_ARRAY_OF_OBJECTS = re.compile(r'":\s*\[\s*\{')


_CONTROL_BYTES = bytes(b for b in range(32) if b not in b"\t\n\r\x0c\x1b\x00") + b"\x7f"


def _binary(head: bytes) -> bool:
    """Whether the first bytes are binary data rather than text. NUL bytes alone are not: a
    log a crashed writer left padded with NULs is text, and its NUL lines are unreadable."""
    text = head.replace(b"\x00", b"")
    if not text:
        return bool(head) and b"\n" not in head
    controls = len(text) - len(text.translate(None, _CONTROL_BYTES))
    return controls * 10 > len(text)


def wide_encoding(encoding: str) -> bool:
    """UTF-16 or UTF-32: read transcoded to UTF-8 (a newline is not one byte in them)."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return False
    return name.startswith(("utf-16", "utf-32"))


def check_sample(opened: OpenedInput, encoding: str) -> list[str]:
    """Refuse binary data; warn when the bytes look like another encoding than the one used."""
    sample = opened.sample
    warnings: list[str] = []
    if wide_encoding(encoding):
        return warnings
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")) or (
        len(sample) >= 8 and b"\x00" not in sample[0:8:2]
        and sample[1:8:2] == b"\x00\x00\x00\x00"
    ):
        raise InputError(f"{opened.name}: looks like UTF-16 text",
                         hint="pass --encoding utf-16")
    if _binary(sample[:4096]):
        raise InputError(f"{opened.name}: looks like binary data, not a text log",
                         hint="compressed logs are detected (gzip, bz2, xz); others are not read")
    if encoding.lower().replace("-", "").replace("_", "") in {"utf8", "utf8sig"}:
        try:
            sample.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(sample) - 4:  # not just a character cut by the sample's end
                try:
                    decoded = sample[: exc.start + 2048].decode("gb18030")
                except UnicodeDecodeError:
                    decoded = ""
                if any("\u4e00" <= ch <= "\u9fff" for ch in decoded):
                    warnings.append(
                        f"{opened.name} looks like GBK/GB18030 text read as UTF-8: lines with "
                        "Chinese will be unreadable; pass --encoding gb18030"
                    )
    return warnings


def read_records(
    opened: OpenedInput,
    *,
    input_format: InputFormat = InputFormat.AUTO,
    encoding: str = "utf-8",
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    records_path: str | None = None,
    templates: Sequence[Template] = (),
    delimiter: str | None = None,
    guard: KeyGuard | None = None,
) -> tuple[ReadStats, Iterator[RawItem]]:
    """The stats object (filled while iterating) and the raw items of one opened input."""
    warnings = check_sample(opened, encoding)
    if wide_encoding(encoding):
        normalize(opened, encoding)
        encoding = "utf-8"
    else:
        normalize(opened, None)
    if delimiter is not None and input_format in (InputFormat.AUTO, InputFormat.CSV,
                                                  InputFormat.TSV):
        # --delimiter says the input is delimited, and by what.
        detected = Detected(InputFormat.TSV if delimiter == "\t" else InputFormat.CSV, delimiter)
    elif input_format is InputFormat.AUTO:
        detected = detect_format(opened.sample, templates, encoding=encoding,
                                 whole=opened.sample_is_all)
    else:
        detected = Detected(input_format, "\t" if input_format is InputFormat.TSV else ",")
    fmt = detected.format
    stats = ReadStats(name=opened.name, format=fmt.value, compression=opened.compression,
                      encoding=encoding, warnings=warnings, delimiter=detected.delimiter)
    items: Iterator[RawItem]
    if fmt is InputFormat.JSONL:
        items = read_jsonl(opened, stats, max_line_bytes, guard)
    elif fmt is InputFormat.JSON:
        items = read_json_document(opened, stats, max_line_bytes, records_path, guard)
    elif fmt in (InputFormat.CSV, InputFormat.TSV):
        items = read_delimited(opened, stats, max_line_bytes, stats.delimiter, guard)
    elif fmt is InputFormat.LOGFMT:
        items = read_logfmt(opened, stats, max_line_bytes, guard=guard)
    else:
        items = read_text(opened, stats, max_line_bytes, templates=templates)
    return stats, items
