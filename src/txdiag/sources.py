"""Open inputs (paths, ``-`` for stdin), undo compression by magic bytes and split lines.

Lines are split from large blocks rather than with ``readline`` so that an over-long line is
counted and skipped without ever being held in memory whole.
"""

from __future__ import annotations

import bz2
import codecs
import gzip
import io
import lzma
import os
import stat
import sys
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from txdiag.errors import InputError, UsageError

STDIN_NAME = "<stdin>"
DEFAULT_MAX_LINE_BYTES = 1 << 20
BLOCK_SIZE = 1 << 20
SAMPLE_SIZE = 1 << 16

_MAGIC = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bz2"),
    (b"\xfd7zXZ\x00", "xz"),
)


@dataclass(slots=True)
class OpenedInput:
    """A readable binary stream of an input's decompressed bytes, and what was undone."""

    name: str
    stream: BinaryIO
    compression: str | None
    sample: bytes
    """The first bytes of the decompressed content, for format detection."""
    raw: BinaryIO | None = None
    """The file as opened (compressed bytes), for progress; None for stdin."""
    size: int | None = None
    sample_is_all: bool = False
    """Whether ``sample`` is the whole input (its last line is not cut by the sample's end)."""
    converted: bool = False
    """Whether ``stream`` is transcoded or has its line ends changed (:func:`normalize`): its
    bytes are then not the file's, and the file cannot be split by byte offsets."""

    def position(self) -> tuple[int, int | None]:
        """Bytes of the file consumed so far, and its size (None for stdin)."""
        if self.raw is None:
            return 0, None
        try:
            return self.raw.tell(), self.size
        except (OSError, ValueError):
            return 0, self.size

    def close(self) -> None:
        if self.name != STDIN_NAME:
            self.stream.close()


class SupportsClose(Protocol):
    def close(self) -> None: ...


class Prefixed(io.RawIOBase):
    """Replays bytes already read for sniffing, then continues with the stream.

    ``read`` is the step that continues (``rest``'s ``read1``, else its ``read``, by default);
    closing closes ``rest``. ``error`` is a failure met while sniffing (a stream truncated
    within its first bytes): it is raised only once the bytes before it have been consumed, so
    they are still read.
    """

    def __init__(self, prefix: bytes, rest: SupportsClose, error: Exception | None = None, *,
                 read: Callable[[int], bytes] | None = None) -> None:
        self._prefix = memoryview(prefix)
        self._rest = rest
        self._error = error
        if read is None:
            read1 = getattr(rest, "read1", None)
            # One decompression step at a time: a failing read() would drop what it had decoded.
            read = read1 if callable(read1) else getattr(rest, "read")  # noqa: B009
        self._read = read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._prefix:
            count = min(len(buffer), len(self._prefix))
            buffer[:count] = self._prefix[:count]
            self._prefix = self._prefix[count:]
            return count
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        data = self._read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._rest.close()
        super().close()


def _identity(name: str) -> tuple[int, int]:
    status = os.stat(name)
    return status.st_dev, status.st_ino


class _Converted(io.RawIOBase):
    """A stream's bytes passed through ``convert(data, final)`` block by block."""

    def __init__(self, stream: BinaryIO, convert: Callable[[bytes, bool], bytes]) -> None:
        self._stream = stream
        self._convert = convert
        self._out = b""
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._out and not self._done:
            data = self._stream.read1(BLOCK_SIZE)  # type: ignore[attr-defined]
            self._done = not data
            self._out = self._convert(data, self._done)
        count = min(len(buffer), len(self._out))
        buffer[:count] = self._out[:count]
        self._out = self._out[count:]
        return count

    def close(self) -> None:
        self._stream.close()
        super().close()


def _lone_cr_to_lf() -> Callable[[bytes, bool], bytes]:
    held = b""

    def convert(data: bytes, final: bool) -> bytes:
        nonlocal held
        data, held = held + data, b""
        if data.endswith(b"\r") and not final:  # maybe the CR of a CRLF cut by the block
            data, held = data[:-1], b"\r"
        return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")

    return convert


def _to_utf8(encoding: str) -> Callable[[bytes, bool], bytes]:
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")

    def convert(data: bytes, final: bool) -> bytes:
        return decoder.decode(data, final).encode("utf-8", "surrogatepass")

    return convert


def normalize(opened: OpenedInput, wide: str | None) -> None:
    """Make ``opened`` read as UTF-8 with LF line ends, in place: transcoded from the ``wide``
    encoding (UTF-16 or UTF-32, where a newline is not one byte) when one is given, and with
    lone CR line ends (old Mac files) turned into LF when the sample has CRs and no LF at all.
    """
    steps: list[Callable[[bytes, bool], bytes]] = []
    sample = opened.sample
    if wide is not None:
        steps.append(_to_utf8(wide))
        sample = _to_utf8(wide)(sample, False)
    if b"\r" in sample and b"\n" not in sample:
        steps.append(_lone_cr_to_lf())
        sample = _lone_cr_to_lf()(sample, False)
    if not steps:
        return

    def convert(data: bytes, final: bool) -> bytes:
        for step in steps:
            data = step(data, final)
        return data

    opened.stream = io.BufferedReader(_Converted(opened.stream, convert), BLOCK_SIZE)
    opened.sample = sample
    opened.converted = True


def check_inputs(names: list[str]) -> None:
    """Fail before reading anything when a named input cannot be opened at all, or is named
    twice (stdin cannot be read twice; a file read twice counts every record twice)."""
    seen: dict[object, str] = {}
    for name in names:
        if "://" in name:
            continue
        try:
            identity: object = "-" if name == "-" else _identity(name)
        except OSError:
            identity = name
        if identity in seen:
            first = seen[identity]
            said = "stdin (-)" if name == "-" else (
                name if first == name else f"{name} (the same file as {first})")
            raise UsageError(f"{said} is named twice", hint="name each input once")
        seen[identity] = name
        if name == "-":
            continue
        if os.path.isdir(name):
            raise InputError(f"{name}: is a directory, not a log file")
        if not os.path.exists(name):
            raise InputError(f"{name}: no such file")
        if not os.access(name, os.R_OK):
            raise InputError(f"{name}: permission denied")


def open_input(name: str) -> OpenedInput:
    """Open a path or ``-`` (stdin); raise :class:`InputError` with a one-line reason."""
    if name == "-":
        raw = sys.stdin.buffer if sys.stdin is not None else io.BytesIO()
        display = STDIN_NAME
    else:
        display = name
        if os.path.isdir(name):
            raise InputError(f"{name}: is a directory, not a log file")
        try:
            # Closed by OpenedInput.close once the records have been read.
            raw = open(name, "rb")  # noqa: SIM115
        except FileNotFoundError:
            raise InputError(f"{name}: no such file") from None
        except PermissionError:
            raise InputError(f"{name}: permission denied") from None
        except OSError as exc:
            raise InputError(f"{name}: cannot open: {exc.strerror}") from None
    magic = _read_exact(raw, 6, display)
    compression = next((kind for prefix, kind in _MAGIC if magic.startswith(prefix)), None)
    stream: BinaryIO = io.BufferedReader(Prefixed(magic, raw), BLOCK_SIZE)
    if compression == "gzip":
        stream = gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[assignment]
    elif compression == "bz2":
        stream = bz2.BZ2File(stream, mode="rb")  # type: ignore[assignment]
    elif compression == "xz":
        stream = lzma.LZMAFile(stream, mode="rb")  # type: ignore[assignment]  # noqa: SIM115
    if compression is not None:
        # Decompressed in this thread, one step per block, damage raised as an InputError
        # after the bytes before it. A reader thread decompressing ahead was measured slower
        # for gzip and xz (the threads contend for the GIL between steps) and no faster for
        # bz2 (docs/performance.md).
        decompressing = stream
        stream = io.BufferedReader(Prefixed(b"", decompressing, read=lambda size: read_block(
            decompressing, size, display, compression)), BLOCK_SIZE)
    sample, error, whole = _sniff(stream, display, compression, eager=not _regular(raw))
    stream = io.BufferedReader(Prefixed(sample, stream, error), BLOCK_SIZE)
    size = os.fstat(raw.fileno()).st_size if name != "-" else None
    return OpenedInput(display, stream, compression, sample, None if name == "-" else raw, size,
                       sample_is_all=whole)


def _regular(raw: BinaryIO) -> bool:
    try:
        return stat.S_ISREG(os.fstat(raw.fileno()).st_mode)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return False


def _sniff(stream: BinaryIO, name: str, compression: str | None, *,
           eager: bool = False) -> tuple[bytes, Exception | None, bool]:
    """The first ``SAMPLE_SIZE`` bytes, the error that cut them short, if one did, and
    whether they are the whole input.

    ``eager`` (a pipe, a FIFO, a terminal): stop at the first read that completes a line, so
    that five lines written into a FIFO are read without waiting for 64 KiB that may never
    come (and an interruption then still reports them).
    """
    chunks: list[bytes] = []
    size = 0
    while size < SAMPLE_SIZE:
        try:
            chunk = read_block(stream, SAMPLE_SIZE - size, name, compression)
        except InputError as exc:
            return b"".join(chunks), exc, False
        if not chunk:
            return b"".join(chunks), None, True
        chunks.append(chunk)
        size += len(chunk)
        if eager and b"\n" in chunk:
            break
    return b"".join(chunks), None, False


def _read_exact(raw: BinaryIO, size: int, name: str) -> bytes:
    chunks = b""
    try:
        while len(chunks) < size:
            chunk = raw.read(size - len(chunks))
            if not chunk:
                break
            chunks += chunk
    except OSError as exc:
        raise InputError(f"{name}: cannot read: {exc.strerror or exc}") from None
    return chunks


def read_block(stream: BinaryIO, size: int, name: str, compression: str | None) -> bytes:
    """Read up to ``size`` bytes; a corrupt or truncated compressed stream is an InputError."""
    read1 = getattr(stream, "read1", None)
    try:
        return read1(size) if callable(read1) else stream.read(size)
    except (EOFError, zlib.error, gzip.BadGzipFile, OSError, lzma.LZMAError) as exc:
        kind = compression or "input"
        detail = "it ends before the end of the compressed data" if isinstance(exc, EOFError) else (
            f"{exc}"
        )
        raise InputError(
            f"{name}: {kind} stream is truncated or corrupt: {detail}",
            hint="records before the damage were read and counted",
        ) from None


@dataclass(slots=True)
class LineStats:
    """What the line splitter saw; every physical line is in exactly one of these counts."""

    lines: int = 0
    too_long: int = 0


CHUNK_SIZE = 1 << 16
"""Bytes read per step by :func:`iter_chunks`: small enough to stay in the CPU caches."""


@dataclass(slots=True)
class Chunk:
    """Consecutive whole lines of an input, read in one step.

    ``data`` holds ``count`` lines numbered from ``first``; every line ends with ``b"\n"``
    except, at the end of the input, possibly the last one. ``data`` may hold lines longer
    than the limit when it is itself longer than the limit (the reader checks them). An
    over-long line that was never held whole is a chunk of its own with ``skipped`` set and
    empty ``data``; it is already counted in :attr:`LineStats.too_long`.
    """

    first: int
    data: bytes
    count: int
    skipped: bool = False


def iter_chunks(
    opened: OpenedInput,
    stats: LineStats,
    *,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    size: int | None = None,
) -> Iterator[Chunk]:
    """The input as :class:`Chunk` s of whole lines, for readers that work on many lines at once.

    Line numbering and the over-long rule are those of :func:`iter_lines` (which is built on
    this): a line whose first ``max_line_bytes + 1`` bytes hold no newline is skipped as it
    streams by and never held in memory.
    """
    size = size or CHUNK_SIZE
    number = 0
    pending = b""
    skipping = False
    read = opened.stream
    name, compression = opened.name, opened.compression
    while True:
        block = read_block(read, size, name, compression)
        if not block:
            break
        cut = block.rfind(b"\n")
        if cut < 0:
            if not skipping:
                pending += block
                if len(pending) > max_line_bytes:
                    pending = b""
                    skipping = True
            continue
        start = 0
        if skipping:
            # The newline ending the over-long line.
            start = block.index(b"\n") + 1
            skipping = False
            number += 1
            stats.too_long += 1
            yield Chunk(number, b"", 1, skipped=True)
            if start > cut:
                pending = block[start:]
                if len(pending) > max_line_bytes:
                    pending = b""
                    skipping = True
                continue
        data = block[start:cut + 1]
        if pending:
            data = pending + data
        count = data.count(b"\n")
        yield Chunk(number + 1, data, count)
        number += count
        pending = block[cut + 1:]
        if len(pending) > max_line_bytes:
            pending = b""
            skipping = True
    if skipping:
        number += 1
        stats.too_long += 1
        yield Chunk(number, b"", 1, skipped=True)
    elif pending:
        number += 1
        yield Chunk(number, pending, 1)
    stats.lines = number


def split_chunk(data: bytes, *, keep_cr: bool = False) -> list[bytes]:
    """The lines of a chunk's data without their LF, and without the CR of a CRLF too unless
    ``keep_cr`` (the length limit counts it)."""
    lines = data.split(b"\n")
    if data.endswith(b"\n"):
        lines.pop()
    if not keep_cr and b"\r" in data:
        lines = [line[:-1] if line.endswith(b"\r") else line for line in lines]
    return lines


def iter_lines(
    opened: OpenedInput,
    stats: LineStats,
    *,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> Iterator[tuple[int, bytes | None]]:
    """Yield ``(line_number, line)`` with the line ending removed (LF or CRLF).

    A line longer than ``max_line_bytes`` is yielded as ``None`` and never held whole. A final
    line without a newline is a line like any other.
    """
    for chunk in iter_chunks(opened, stats, max_line_bytes=max_line_bytes, size=BLOCK_SIZE):
        number = chunk.first
        if chunk.skipped:
            yield number, None
            continue
        for part in split_chunk(chunk.data, keep_cr=True):
            if len(part) > max_line_bytes:
                stats.too_long += 1
                yield number, None
            else:
                yield number, part[:-1] if part.endswith(b"\r") else part
            number += 1
