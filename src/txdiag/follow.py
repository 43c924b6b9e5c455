"""Follow a growing log by name, like ``tail -F``: through rotation and truncation.

:class:`Follower` polls; it never blocks and never sleeps, so the caller decides how long to
wait between polls (tests drive it with no waiting at all). Each :meth:`Follower.poll` returns
the bytes written since the last one. It notices:

- **rotation** (``logrotate`` moving ``app.log`` away and creating a new one): the name now
  points at another file (device and inode differ). The old file is read to its end first, then
  the new one from its start;
- **truncation** (``copytruncate``, or ``> app.log``): the file is shorter than what was read.
  Reading starts again from the beginning of the file;
- a file that is missing for a while (between the move and the create): polls return nothing
  until it is back.

At such a boundary a line the old content left unfinished is ended with a newline, so it is
never glued to the first line of the new content. Truncation followed by the file growing past
the old position within one poll interval cannot be seen (``tail`` has the same blind spot).

:class:`FollowStream` turns a follower into a readable binary stream, so the ordinary readers
(JSON Lines, CSV with its header, logfmt, text with stack traces) parse a followed file exactly
as they parse a finished one. This module does not import Typer or Rich.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import BinaryIO

from txdiag.sources import Prefixed

CHUNK_SIZE = 1 << 16


class Follower:
    """Polls a path for new bytes, following it across rotation and truncation."""

    def __init__(self, path: str | os.PathLike[str], *, from_end: bool = False,
                 chunk_size: int = CHUNK_SIZE) -> None:
        self.path = os.fspath(path)
        self.chunk_size = chunk_size
        self.rotations = 0
        self.truncations = 0
        self.bytes_read = 0
        self.too_long = 0
        """Lines :meth:`lines` skipped for being longer than its ``max_line_bytes``."""
        self._file: BinaryIO | None = None
        self._identity: tuple[int, int] | None = None
        self._position = 0
        self._line_open = False
        """The last byte handed out was not a newline: a line is in progress."""
        self._skip_partial = False
        """Started at the end in the middle of a line: drop bytes up to the next newline."""
        self._from_end = from_end
        self._open()

    @property
    def is_open(self) -> bool:
        return self._file is not None

    def _open(self) -> bool:
        try:
            handle = open(self.path, "rb", buffering=0)  # noqa: SIM115  (closed in close())
        except OSError:
            return False
        stat = os.fstat(handle.fileno())
        self._file = handle
        self._identity = (stat.st_dev, stat.st_ino)
        self._position = 0
        if self._from_end:
            self._from_end = False  # only the first file: a rotated-in one is read whole
            if stat.st_size:
                handle.seek(stat.st_size - 1)
                self._skip_partial = handle.read(1) != b"\n"
                self._position = stat.st_size
        return True

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> Follower:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _read(self, limit: int) -> bytes:
        assert self._file is not None
        data = self._file.read(limit) or b""
        if data and self._skip_partial:
            newline = data.find(b"\n")
            if newline < 0:
                self._position += len(data)
                return b""
            self._skip_partial = False
            self._position += newline + 1
            data = data[newline + 1:]
        if data:
            self._position += len(data)
            self.bytes_read += len(data)
            self._line_open = not data.endswith(b"\n")
        return data

    def _boundary(self) -> bytes:
        """End a line left open by content that is gone (rotated away or truncated)."""
        if self._line_open:
            self._line_open = False
            return b"\n"
        return b""

    def poll(self, limit: int | None = None) -> bytes:
        """The bytes written since the last poll, at most ``limit``; ``b""`` when none."""
        limit = limit or self.chunk_size
        if self._file is None and not self._open():
            return b""
        data = self._read(limit)
        if data:
            return data
        assert self._file is not None
        if os.fstat(self._file.fileno()).st_size < self._position:
            self.truncations += 1
            self._file.seek(0)
            self._position = 0
            self._skip_partial = False
            return self._boundary() or self._read(limit)
        try:
            stat = os.stat(self.path)
        except OSError:
            return b""  # moved away, not yet re-created: keep the old file until it is
        if (stat.st_dev, stat.st_ino) == self._identity:
            return b""
        data = self._read(limit)  # written to the old file after the last read
        if data:
            return data
        self.close()
        self.rotations += 1
        self._skip_partial = False
        boundary = self._boundary()
        if not self._open():
            return boundary
        return boundary or self._read(limit)

    def lines(self, wait: Callable[[], bool], *, max_line_bytes: int = 1 << 20
              ) -> Iterator[bytes]:
        """Complete lines (without their ending) as they are written.

        ``wait`` is called whenever nothing new is there; it sleeps as long as it likes and
        returns False to stop, and then a final unfinished line is yielded as it is. A line
        longer than ``max_line_bytes`` is skipped (never held whole) and counted in
        :attr:`too_long`.
        """
        pending = b""
        skipping = False
        while True:
            data = self.poll()
            if not data:
                if wait():
                    continue
                if pending and not skipping:
                    yield pending.removesuffix(b"\r")
                return
            parts = (pending + data).split(b"\n")
            pending = parts.pop()
            for part in parts:
                if skipping:
                    skipping = False
                    continue
                yield part.removesuffix(b"\r")
            if len(pending) > max_line_bytes:
                if not skipping:
                    self.too_long += 1
                pending, skipping = b"", True


class FollowStream(Prefixed):
    """A follower as a binary stream: a read waits (through ``wait``) until there is data.

    ``wait`` is called each time the follower has nothing new; it should sleep a little and
    return True to poll again, or False to end the stream (the reader then sees end of file).
    It is the place to redraw a live view: every line handed out before it was called has been
    read by then. ``prefix``: bytes polled already (to sniff the format), handed out first.
    """

    def __init__(self, follower: Follower, wait: Callable[[], bool], *,
                 prefix: bytes = b"") -> None:
        super().__init__(prefix, follower, read=self._poll)
        self.follower = follower
        self.wait = wait

    def _poll(self, size: int) -> bytes:
        while True:
            data = self.follower.poll(size)
            if data or not self.wait():
                return data
