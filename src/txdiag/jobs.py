"""``--jobs N``: one big JSON Lines file folded by several processes, one byte range each.

The file is cut into ``N`` ranges at line boundaries. This process folds the first range while
the others are folded by worker processes (forked where the platform allows it, else spawned
with a picklable recipe of the pipeline); their summaries and timelines are then added in input
order, so the result is exactly that of one process: line numbers of unreadable records are
shifted by the lines before each range, ``--strict`` stops at the first unreadable record of the
file (later ranges are dropped), and the totals add up.

Only a regular, uncompressed JSON Lines file of at least :data:`MIN_SPLIT_BYTES` is split:
compressed streams and stdin cannot be cut into ranges, and for CSV a quoted field may hold a
newline, so a range cannot tell where its first record starts.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import os
import signal
import stat
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import tzinfo
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from txdiag.aggregate import Summary
from txdiag.errors import InputError, TxdiagError
from txdiag.fold import SummaryFold
from txdiag.normalize import FieldMap
from txdiag.pipeline import Pipeline, ReadOptions, RunLedger, StrictError, TimeWindow, strict_error
from txdiag.readers import ReadStats, Unreadable
from txdiag.rulebook import Rulebook
from txdiag.sources import OpenedInput

if TYPE_CHECKING:
    from txdiag.timeline import Timeline

TimelinePart = tuple[
    int, list[tuple[int, int, dict[str, int], dict[tuple[str, str], int]]], int, dict[str, str]]
"""A worker's timeline: width, buckets (key, records, failures per reason, failures per
reason and channel), records without a time, the category of each reason."""

MIN_SPLIT_BYTES = 4 << 20
"""Smaller files are read by one process: starting another costs more than it saves."""
START_METHOD_ENV = "TXDIAG_START_METHOD"
"""Overrides the start method of worker processes (``fork``, ``spawn``, ``forkserver``)."""

_INHERITED: list[Pipeline] = []
"""The pipeline a forked worker finds in its copy of this process (no rebuilding needed)."""


def effective_jobs(jobs: int) -> int:
    """``--jobs 0`` means every core."""
    return jobs if jobs > 0 else (os.cpu_count() or 1)


def start_method() -> str:
    """``fork`` on Linux (the workers find the pipeline ready), unless another thread runs
    (a progress bar): forking then could copy a lock that thread holds. Else ``spawn``."""
    chosen = os.environ.get(START_METHOD_ENV)
    if chosen:
        return chosen
    if sys.platform == "linux" and threading.active_count() == 1:
        return "fork"
    return "spawn"


@dataclass(frozen=True)
class Recipe:
    """What a spawned worker (or a Spark executor, :mod:`txdiag.spark`) needs to build the
    same pipeline (everything picklable)."""

    rulebook: Rulebook
    field_map: FieldMap
    assume_tz: tzinfo
    read_options: ReadOptions
    constants: dict[str, str]
    status_values: dict[str, str]
    window: TimeWindow

    @classmethod
    def of(cls, pipeline: Pipeline) -> Recipe:
        opts = pipeline.read_options
        normalizer = pipeline.normalizer
        return cls(
            rulebook=pipeline.rulebook,
            field_map=normalizer.field_map,
            assume_tz=normalizer.assume_tz,
            # HTTP options concern no file (and do not pickle).
            read_options=ReadOptions(input_format=opts.input_format, delimiter=opts.delimiter,
                                     encoding=opts.encoding, max_line_bytes=opts.max_line_bytes,
                                     strict=opts.strict, records_path=opts.records_path,
                                     templates=opts.templates),
            constants=dict(normalizer.constants),
            status_values=dict(normalizer.status_values),
            window=pipeline.window,
        )

    def build(self) -> Pipeline:
        return Pipeline(self.rulebook, field_map=self.field_map, assume_tz=self.assume_tz,
                        read_options=self.read_options, constants=self.constants,
                        status_values=self.status_values, window=self.window)


@dataclass
class Part:
    """What a worker sends back: its range's fold, with line numbers counted from 1."""

    summary: Summary
    timeline: TimelinePart | None
    lines: int
    blank_lines: int
    too_long: int
    filtered_out: int
    error: Unreadable | None = None
    """The unreadable record ``--strict`` stopped at."""
    failure: str | None = None
    """Any other error, as a message (after the records read before it)."""
    hint: str | None = None
    """The hint of that error."""


class _Range(io.RawIOBase):
    """Bytes ``start`` to ``end`` of a file."""

    def __init__(self, path: str, start: int, end: int) -> None:
        self._fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        self._pos = start
        self._end = end

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        """The offset in the file read up to (progress follows it)."""
        return self._pos

    def readinto(self, buffer: Any) -> int:
        size = min(len(buffer), self._end - self._pos)
        if size <= 0:
            return 0
        data = os.pread(self._fd, size, self._pos)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def close(self) -> None:
        if not self.closed:
            os.close(self._fd)
        super().close()


def opened_range(path: str, name: str, start: int, end: int) -> OpenedInput:
    """The range as an input whose :meth:`~OpenedInput.position` is its offset, of ``end``."""
    stream = io.BufferedReader(_Range(path, start, end), 1 << 20)
    return OpenedInput(name, stream, None, b"", stream, end)


def split_points(path: str, parts: int) -> list[tuple[int, int]]:
    """Byte ranges covering the file, each starting at the beginning of a line."""
    size = os.path.getsize(path)
    cuts = [0]
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        for index in range(1, parts):
            position = max(size * index // parts, cuts[-1])
            while position < size:
                block = os.pread(fd, 1 << 16, position)
                found = block.find(b"\n")
                if found >= 0:
                    position += found + 1
                    break
                position += len(block)
            if cuts[-1] < position < size:
                cuts.append(position)
    finally:
        os.close(fd)
    cuts.append(size)
    return list(zip(cuts, cuts[1:], strict=False))


def plan(opened: OpenedInput, path: str, jobs: int) -> list[tuple[int, int]] | None:
    """The ranges to fold in parallel, or None when the input is read by one process."""
    if jobs < 2 or opened.compression is not None or opened.raw is None or opened.converted:
        return None
    try:
        info = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode) or info.st_size < MIN_SPLIT_BYTES:
        return None
    ranges = split_points(path, jobs)
    return ranges if len(ranges) > 1 else None


def fold_split(fold: SummaryFold, path: str, stats: ReadStats,
               ranges: Sequence[tuple[int, int]]) -> None:
    """Fold one JSON Lines file range by range: the first here, the others in workers."""
    pipeline = fold.pipeline
    timeline = fold.timeline
    requested = timeline.requested if timeline is not None else None
    context: Any = multiprocessing.get_context(start_method())
    recipe = None if context.get_start_method() == "fork" else Recipe.of(pipeline)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    _INHERITED[:] = [pipeline]
    workers: list[tuple[Any, Connection]] = []
    try:
        with _signals_for_workers():
            for start, end in ranges[1:]:
                receiver, sender = context.Pipe(duplex=False)
                process = context.Process(
                    target=_work,
                    args=(recipe, path, stats.name, stats.encoding, start, end,
                          timeline is not None, requested, summary_options(fold.summary),
                          sender),
                    daemon=True,
                )
                process.start()
                sender.close()
                workers.append((process, receiver))
        first_start, first_end = ranges[0]
        # The progress bar follows this process's range (the workers read theirs meanwhile).
        first = fold.ledger.current = opened_range(path, stats.name, first_start, first_end)
        fold.fold_jsonl(first, stats)
        fold.flush()
        for process, receiver in workers:
            try:
                part: Part = receiver.recv()
            except EOFError:
                raise InputError(f"{stats.name}: a worker process ended without an answer",
                                 hint="run again without --jobs") from None
            finally:
                receiver.close()
                process.join()
            add_part(fold, stats, part)
    finally:
        _INHERITED.clear()
        for process, receiver in workers:
            if process.is_alive():
                process.terminate()
                process.join()
            receiver.close()


@contextlib.contextmanager
def _signals_for_workers() -> Iterator[None]:
    """Start workers with Ctrl-C ignored and SIGTERM at its default, so that neither prints a
    worker's traceback: Ctrl-C (sent to the whole process group) is the parent's to handle,
    and the parent ends its workers with SIGTERM. A forked worker inherits these dispositions
    at once, and a spawned one keeps an ignored SIGINT across ``exec``, before any of its own
    code runs; the parent gets its own handlers back as soon as the workers are started."""
    try:
        saved = (signal.signal(signal.SIGINT, signal.SIG_IGN),
                 signal.signal(signal.SIGTERM, signal.SIG_DFL))
    except ValueError:  # not the main thread: nothing of ours to keep away from workers
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, saved[0])
        signal.signal(signal.SIGTERM, saved[1])


def add_part(fold: SummaryFold, stats: ReadStats, part: Part) -> None:
    """Add the fold of the range that follows what ``stats`` counted so far (its lines,
    blank and too long lines) to ``fold``: its line numbers shifted by the lines before it,
    as when one process reads both. A failed part raises its error once what it read is
    added (:class:`StrictError` for an unreadable record under ``--strict``, else an
    :class:`InputError`)."""
    offset = stats.lines.lines
    _shift(part, offset)
    fold.summary.merge(part.summary)
    fold.ledger.filtered_out += part.filtered_out
    if fold.timeline is not None and part.timeline is not None:
        add_timeline(fold.timeline, part.timeline)
    if fold.on_unreadable is not None:
        for event in part.summary.unreadable_examples:
            fold.on_unreadable(event)
    stats.blank_lines += part.blank_lines
    stats.lines.too_long += part.too_long
    if part.error is not None:
        stats.lines.lines = 0  # as when one process stops at the error
        raise strict_error(part.error)
    stats.lines.lines = offset + part.lines
    if part.failure is not None:
        raise InputError(part.failure, hint=part.hint)
    if fold.on_progress is not None:
        fold.on_progress(part.summary.records + part.summary.unreadable)


def _shift(part: Part, offset: int) -> None:
    """Line numbers of the part counted from the start of the file."""
    part.summary.unreadable_examples = [replace(event, line=event.line + offset)
                                        for event in part.summary.unreadable_examples]
    if part.error is not None:
        part.error = replace(part.error, line=part.error.line + offset)


def export_timeline(timeline: Timeline) -> TimelinePart:
    """A timeline as plain data, to send to another process and add with
    :func:`add_timeline`."""
    buckets = [(key, bucket.records, dict(bucket.reasons), dict(bucket.channels))
               for key, bucket in timeline.buckets.items()]
    return timeline.width, buckets, timeline.no_timestamp, dict(timeline.reason_category)


def add_timeline(timeline: Timeline, part: TimelinePart) -> None:
    """Add a worker's buckets: each at its start, exact at any width the timeline grows to."""
    from txdiag.timeline import from_epoch

    width, buckets, no_timestamp, reason_category = part
    for key, records, reasons, channels in buckets:
        moment = from_epoch(key * width)
        successes = records - sum(reasons.values())
        if successes:
            timeline.add(moment, count=successes)
        left = dict(reasons)
        for (reason, channel), count in channels.items():
            timeline.add(moment, reason_category[reason], reason, count=count, channel=channel)
            left[reason] -= count
        for reason, count in left.items():
            if count:
                timeline.add(moment, reason_category[reason], reason, count=count)
    if no_timestamp:
        timeline.add(None, count=no_timestamp)


def summary_options(summary: Summary) -> dict[str, Any]:
    """What a worker's summary must share with the parent's for their merge to be exact."""
    return {"mine_templates": summary.mine_templates, "mask_examples": summary.mask_examples,
            "max_templates": summary.max_templates}


def fold_part(pipeline: Pipeline, stats: ReadStats, read: Callable[[SummaryFold], None], *,
              timeline: Timeline | None = None, options: dict[str, Any] | None = None,
              ledger: RunLedger | None = None) -> Part:
    """What ``read`` folds into a fresh fold of ``pipeline`` (counting its lines in
    ``stats``), as a :class:`Part`: ``timeline`` (empty) is filled and exported, ``options``
    are the parent summary's :func:`summary_options`, ``ledger`` the part's accounting (the
    inputs it opened). An error keeps what was read before it: the record ``--strict``
    stopped at, or any other input error's message and hint."""
    summary = Summary(**(options or {}))
    fold = SummaryFold(pipeline, summary, timeline, ledger=ledger)
    error: Unreadable | None = None
    failure: TxdiagError | None = None
    try:
        read(fold)
    except StrictError as exc:
        error = exc.event
    except TxdiagError as exc:
        failure = exc
    finally:
        fold.flush()
    summary.filtered_out = 0
    return Part(summary, export_timeline(timeline) if timeline is not None else None,
                stats.lines.lines, stats.blank_lines, stats.lines.too_long,
                fold.ledger.filtered_out, error,
                None if failure is None else failure.message,
                None if failure is None else failure.hint)


def fold_range(pipeline: Pipeline, path: str, name: str, encoding: str, start: int, end: int,
               *, first: bool = False, timeline: Timeline | None = None,
               options: dict[str, Any] | None = None) -> Part:
    """Fold bytes ``start`` to ``end`` of a JSON Lines file (starting at a line) into a
    :func:`fold_part` whose line numbers count from the range's first line (``first``: the
    range starts the file, where a BOM may stand)."""
    stats = ReadStats(name=name, format="jsonl", encoding=encoding)
    return fold_part(pipeline, stats, lambda fold: fold.fold_jsonl(
        opened_range(path, name, start, end), stats, first=first), timeline=timeline,
        options=options)


def _work(recipe: Recipe | None, path: str, name: str, encoding: str, start: int, end: int,
          with_timeline: bool, requested: int | None, options: dict[str, Any],
          sender: Connection) -> None:
    """A worker: fold one range and send the :class:`Part` back (spawn-safe)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # ended by the parent: quietly
    from txdiag.timeline import Timeline

    try:
        if _INHERITED:
            pipeline = _INHERITED[0]  # (it holds no accounting of the parent's run)
        else:
            assert recipe is not None
            pipeline = recipe.build()
        timeline = Timeline(requested) if with_timeline else None
        sender.send(fold_range(pipeline, path, name, encoding, start, end, timeline=timeline,
                               options=options))
    except Exception as exc:  # noqa: BLE001 - reported by the parent as an input error
        sender.send(Part(Summary(), None, 0, 0, 0, 0, failure=f"{name}: {exc}"))
    finally:
        sender.close()


__all__ = ["MIN_SPLIT_BYTES", "Part", "Recipe", "add_part", "add_timeline", "effective_jobs",
           "export_timeline", "fold_part", "fold_range", "fold_split", "plan", "split_points",
           "summary_options"]
