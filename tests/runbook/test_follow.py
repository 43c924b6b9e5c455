"""tail -F semantics of the follower, driven poll by poll: no sleeping."""

from __future__ import annotations

import io
import os
from pathlib import Path

from txdiag.follow import Follower, FollowStream


def drain(follower: Follower) -> bytes:
    """Everything available now (polls until one comes back empty)."""
    out = b""
    while data := follower.poll():
        out += data
    return out


def append(path: Path, data: bytes) -> None:
    with path.open("ab") as handle:
        handle.write(data)


def test_reads_what_is_there_then_what_is_appended(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"one\ntwo\n")
    with Follower(log) as follower:
        assert drain(follower) == b"one\ntwo\n"
        assert follower.poll() == b""
        append(log, b"three\n")
        assert drain(follower) == b"three\n"
        assert follower.bytes_read == 14


def test_small_chunks_concatenate_to_the_file(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"".join(b"line %d\n" % i for i in range(100)))
    with Follower(log, chunk_size=7) as follower:
        assert drain(follower) == log.read_bytes()


def test_rotation_reads_the_old_file_to_its_end_then_the_new_one(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"a1\n")
    with Follower(log) as follower:
        assert drain(follower) == b"a1\n"
        append(log, b"a2\n")          # written just before the rotation
        log.rename(tmp_path / "app.log.1")
        assert follower.poll() == b"a2\n"  # the old file's tail is not lost
        assert follower.poll() == b""      # the name points nowhere yet: wait
        log.write_bytes(b"b1\n")
        assert drain(follower) == b"b1\n"
        assert follower.rotations == 1 and follower.truncations == 0


def test_rotation_ends_an_unfinished_line(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"complete\npartial")
    with Follower(log) as follower:
        drain(follower)
        (tmp_path / "next").write_bytes(b"fresh\n")
        os.replace(tmp_path / "next", log)  # an atomic swap: never missing
        assert drain(follower) == b"\nfresh\n"


def test_truncation_starts_again_from_the_top(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"old line one\nold line two\n")
    with Follower(log) as follower:
        drain(follower)
        with log.open("r+b") as handle:  # copytruncate
            handle.truncate(0)
        assert drain(follower) == b""
        append(log, b"new\n")
        assert drain(follower) == b"new\n"
        assert follower.truncations == 1 and follower.rotations == 0


def test_truncation_ends_an_unfinished_line(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"x\nhalf a li")
    with Follower(log) as follower:
        drain(follower)
        log.write_bytes(b"y\n")  # shorter than before: truncated and rewritten
        assert drain(follower) == b"\ny\n"


def test_a_file_that_appears_later(tmp_path: Path) -> None:
    log = tmp_path / "later.log"
    with Follower(log) as follower:
        assert not follower.is_open
        assert follower.poll() == b""
        log.write_bytes(b"hello\n")
        assert drain(follower) == b"hello\n"


def test_from_end_skips_existing_lines_and_a_line_in_progress(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"old\nin progr")
    with Follower(log, from_end=True) as follower:
        assert drain(follower) == b""
        append(log, b"ess\nnew\n")
        assert drain(follower) == b"new\n"
    log.write_bytes(b"old\n")
    with Follower(log, from_end=True) as follower:
        append(log, b"next\n")
        assert drain(follower) == b"next\n"


def test_lines_yields_complete_lines_and_skips_long_ones(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"a\r\nb\n" + b"x" * 50 + b"\nc\nunfinished")
    steps = iter([True, False])
    with Follower(log, chunk_size=8) as follower:
        lines = list(follower.lines(lambda: next(steps), max_line_bytes=20))
        assert lines == [b"a", b"b", b"c", b"unfinished"]
        assert follower.too_long == 1


def test_lines_waits_for_the_rest_of_a_line(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"first\nsec")
    calls = 0

    def wait() -> bool:
        nonlocal calls
        calls += 1
        if calls == 1:
            append(log, b"ond\n")
            return True
        return False

    with Follower(log) as follower:
        assert list(follower.lines(wait)) == [b"first", b"second"]


def test_follow_stream_feeds_a_buffered_reader(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_bytes(b"1\n2\n")
    follower = Follower(log)
    waits = 0

    def wait() -> bool:
        nonlocal waits
        waits += 1
        if waits == 1:
            append(log, b"3\n")
            return True
        return False

    stream = io.BufferedReader(FollowStream(follower, wait, prefix=b"0\n"))
    assert stream.read() == b"0\n1\n2\n3\n"
    assert waits == 2
    stream.close()
    assert not follower.is_open
