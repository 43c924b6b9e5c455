"""How ``txdiag watch`` follows a log (its options: :mod:`txdiag.cli.commands.watch`).

On a terminal the summary is redrawn in place; otherwise (a pipe, a file, ``TERM=dumb``) one
plain status line is printed per interval in which something new arrived. Ctrl-C (or SIGTERM)
stops: the final summary is printed in ``--format`` and the exit is 130 (143). ``--once``
reads what is there and exits 0, for scripts.

Memory stays flat however long it runs: the summary is a fold, and the time view keeps the
latest 240 buckets (``--bucket`` wide), dropping older ones.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol, TextIO

import typer

from txdiag.aggregate import Summary
from txdiag.cli.common import InputSettings
from txdiag.cli.session import UNREADABLE_SHOWN, Session
from txdiag.cli.terminal import Terminal
from txdiag.errors import InputError, TxdiagError, UsageError
from txdiag.exitcodes import ExitCode
from txdiag.follow import Follower, FollowStream
from txdiag.formats import read_records
from txdiag.pipeline import Observation, RunLedger, is_url
from txdiag.readers import ReadStats
from txdiag.render import OutputFormat
from txdiag.render.common import Presenter, baseline_text, share, totals_text
from txdiag.safety import visible
from txdiag.sources import SAMPLE_SIZE, OpenedInput
from txdiag.spikes import Spike, detect_spikes
from txdiag.timeline import Timeline, describe_width, parse_duration
from txdiag.vocabulary import format_time

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

DEFAULT_BUCKET = 60
CHECK_CLOCK_EVERY = 256
"""While records stream in without pause, look at the clock every this many events."""

class View(Protocol):
    """How progress is shown while following."""

    def update(self) -> None: ...

    def close(self) -> None: ...


class Watcher:
    """Everything folded so far: the summary, the time view, and what the follower saw."""

    def __init__(self, session: Session, name: str, bucket: int, top: int) -> None:
        self.session = session
        self.name = name
        self.summary = Summary(mask_examples=session.presenter.mask)
        self.timeline = Timeline(bucket, keep="recent")
        self.top = top
        self.inputs: list[ReadStats] = []
        self.follower: Follower | None = None
        self.unreadable_shown = 0

    def spikes(self) -> list[Spike]:
        return detect_spikes(self.timeline)


class StatusLines:
    """Not a terminal: one plain line per interval in which something changed."""

    def __init__(self, watcher: Watcher, out: TextIO) -> None:
        self.watcher = watcher
        self.out = out
        self.last: tuple[int, int, int, int] | None = None

    def update(self) -> None:
        w = self.watcher
        s = w.summary
        follower = w.follower
        state = (s.records, s.unreadable, follower.rotations if follower else 0,
                 follower.truncations if follower else 0)
        if state == self.last:
            return
        self.last = state
        self.out.write(status_line(w) + "\n")
        self.out.flush()

    def close(self) -> None:
        pass


class Quiet:
    """Machine formats: nothing until the final summary."""

    def update(self) -> None:
        pass

    def close(self) -> None:
        pass


class LiveView:
    """A terminal: the summary and time view redrawn in place (Rich Live, erased on exit)."""

    def __init__(self, watcher: Watcher, out: TextIO, color: bool) -> None:
        from rich.live import Live

        from txdiag.render.console import make_console

        self.watcher = watcher
        self.color = color
        self.console = make_console(out, color=color)
        self.live = Live(console=self.console, auto_refresh=False, transient=True,
                         redirect_stdout=False, redirect_stderr=False)
        self.live.start()

    def update(self) -> None:
        from rich.console import Group

        self.live.update(Group(*live_screen(self.watcher, self.console, self.color)),
                         refresh=True)

    def close(self) -> None:
        self.live.stop()


def live_screen(w: Watcher, console: Console, color: bool) -> list[Text]:
    """The live view as lines for ``console``: the status line, the time view first (what
    changes), then the totals, as much as the screen holds, and how much more there is.

    Rich Live would cut the bottom off what does not fit, and that was the time view.
    """
    from rich.cells import cell_len
    from rich.text import Text

    from txdiag.render.console import make_console
    from txdiag.render.table import SPARKS, can_encode, render_summary, render_time_view

    head = Text(status_line(w), style="bold")
    head.append("  (Ctrl-C to stop)", style="dim")
    buffer = io.StringIO()
    render_time_view(make_console(buffer, width=console.width, color=color), w.timeline,
                     w.spikes(), ascii_only=not can_encode(console.file, SPARKS), top=w.top)
    render_summary(buffer, w.summary, w.inputs, w.session.presenter, width=console.width,
                   color=color, top=w.top)
    # Our own rendering, whose untrusted parts were made visible already: no raw escapes
    # from the log can be in it, only the styles render_summary applied.
    lines = list(Text.from_ansi(buffer.getvalue().rstrip("\n")).split("\n"))

    def rows(text: Text) -> int:  # a long line (a spike's) wraps onto more than one row
        if cell_len(text.plain) <= console.width:
            return 1
        return len(console.render_lines(text, pad=False))

    room = console.height - rows(head)
    if sum(map(rows, lines)) > room:
        room -= 1  # for the line that says what is left out
        kept = 0
        while kept < len(lines) and rows(lines[kept]) <= room:
            room -= rows(lines[kept])
            kept += 1
        more = Text(f"... {len(lines) - kept:,} more lines (all printed when you stop)",
                    style="dim")
        lines = [*lines[:kept], more]
    return [head, *lines]


def status_line(w: Watcher) -> str:
    s = w.summary
    now = format_time(datetime.now(UTC).replace(microsecond=0))
    parts = [f"[{now}] {s.records:,} records, {s.failures:,} failures "
             f"({share(s.failures, s.records):.1%})"]
    busiest = [f"{c} {n:,}" for c, n in s.by_category.most_common() if n][:3]
    if busiest:
        parts.append(", ".join(busiest))
    if s.unreadable:
        parts.append(f"{s.unreadable:,} unreadable")
    ongoing = [spike for spike in w.spikes() if spike.ongoing]
    parts.extend(f"SPIKE {spike.category} since {format_time(spike.start)} peak "
                 f"{spike.peak_rate:.1%} ({baseline_text(spike)}), top "
                 f"{visible(spike.top_reason or '-')}" for spike in ongoing)
    follower = w.follower
    if follower is not None and (follower.rotations or follower.truncations):
        parts.append(f"rotated {follower.rotations}, truncated {follower.truncations}")
    return " | ".join(parts)


def make_view(watcher: Watcher, terminal: Terminal, fmt: OutputFormat) -> View:
    if fmt is not OutputFormat.TABLE:
        return Quiet()
    if terminal.stdout_is_tty and os.environ.get("TERM", "") != "dumb":
        return LiveView(watcher, terminal.stdout, terminal.color)
    return StatusLines(watcher, terminal.stdout)


def wait_for(file: str, terminal: Terminal, *, quiet: bool, interval: float,
             sleep: Callable[[float], None] = time.sleep) -> None:
    """Until ``file`` exists (``--wait``); Ctrl-C stops with exit 130 (SIGTERM 143)."""
    if os.path.exists(file):
        return
    if not quiet:
        terminal.say(terminal.safe(f"waiting for {file} to appear (Ctrl-C to stop)"))
    try:
        while not os.path.exists(file):
            sleep(min(interval, 0.5))
    except KeyboardInterrupt:
        raise typer.Exit(ExitCode.INTERRUPTED) from None


def run(file: str, settings: InputSettings, *, fmt: OutputFormat, lang: str | None, top: int,
        bucket: str, interval: float, once: bool, from_end: bool, wait: bool = False) -> None:
    """The ``watch`` command, once its options are read."""
    width = parse_duration(bucket, "--bucket")
    if file == "-" or is_url(file):
        raise UsageError(f"watch follows a file by name, not {file!r}",
                         hint="use 'txdiag summary' for stdin and URLs")
    if wait:
        wait_for(file, Terminal.from_env(), quiet=settings.quiet, interval=interval)
    elif not os.path.lexists(file):
        raise InputError(f"{file}: no such file",
                         hint="--wait waits for it to appear, as tail -F does")
    session = Session.open([file], settings, lang)
    watcher = Watcher(session, file, width, top)
    view = make_view(watcher, session.terminal, fmt)
    interrupted = False
    error: TxdiagError | None = None
    try:
        follow(watcher, view, interval=interval, once=once, from_end=from_end)
    except TxdiagError as exc:
        error = exc
    except KeyboardInterrupt:
        interrupted = True
    finally:
        view.close()
        if watcher.follower is not None:
            watcher.follower.close()
    finish(watcher, fmt, session.presenter, session.terminal)
    if error is not None:
        raise error
    if interrupted:
        raise typer.Exit(ExitCode.INTERRUPTED)


def follow(watcher: Watcher, view: View, *, interval: float, once: bool, from_end: bool,
           sleep: Callable[[float], None] = time.sleep,
           clock: Callable[[], float] = time.monotonic) -> None:
    """Read the followed file through the ordinary readers, folding as lines arrive."""
    session = watcher.session
    pipeline = session.pipeline
    opts = pipeline.read_options
    zone = pipeline.normalizer.assume_tz
    follower = watcher.follower = Follower(watcher.name, from_end=from_end)
    pause = min(interval, 0.25)
    due = clock() + interval
    rotations = truncations = 0

    def tick() -> None:
        nonlocal due, rotations, truncations
        now = clock()
        if now < due:
            return
        due = now + interval
        if not isinstance(view, LiveView) and not session.quiet:
            if follower.rotations > rotations:
                session.terminal.say(session.terminal.safe(f"{watcher.name} was rotated"))
            if follower.truncations > truncations:
                session.terminal.say(session.terminal.safe(f"{watcher.name} was truncated"))
        rotations, truncations = follower.rotations, follower.truncations
        view.update()

    def wait() -> bool:
        if once:
            return False
        tick()
        sleep(pause)
        return True

    sample = b""
    while b"\n" not in sample and len(sample) < SAMPLE_SIZE:
        data = follower.poll(SAMPLE_SIZE - len(sample))
        if data:
            sample += data
        elif not wait():
            break
    stream = io.BufferedReader(FollowStream(follower, wait, prefix=sample))
    opened = OpenedInput(watcher.name, stream, None, sample)
    stats, items = read_records(opened, input_format=opts.input_format, delimiter=opts.delimiter,
                                encoding=opts.encoding,
                                max_line_bytes=opts.max_line_bytes,
                                records_path=opts.records_path, templates=opts.templates,
                                guard=pipeline.key_guard)
    watcher.inputs = [stats]
    for warning in stats.warnings:
        session.terminal.say(session.terminal.safe(warning))
    add = watcher.summary.add
    # The pipeline's per-input step: observation, --since/--until, --strict.
    ledger = RunLedger()
    for count, event in enumerate(pipeline.events(stats, items, ledger), 1):
        add(event)
        if isinstance(event, Observation):
            watcher.timeline.add_observation(event, zone)
        elif not session.quiet and not isinstance(view, LiveView) and (
                watcher.unreadable_shown < UNREADABLE_SHOWN):
            detail = f": {event.detail}" if event.detail else ""
            session.terminal.say(session.terminal.safe(
                f"{event.source}:{event.line}: unreadable ({event.cause.value}{detail})"))
            watcher.unreadable_shown += 1
        if count % CHECK_CLOCK_EVERY == 0:
            tick()
    watcher.summary.filtered_out = ledger.filtered_out


def finish(watcher: Watcher, fmt: OutputFormat, presenter: Presenter,
           terminal: Terminal) -> None:
    """The final summary on stdout, the closing line on stderr."""
    from txdiag.render.reports import write_summary

    write_summary(fmt, terminal.stdout, watcher.summary, watcher.inputs, presenter,
                  color=terminal.color, top=watcher.top, timeline=watcher.timeline)
    if watcher.session.quiet:
        return
    s = watcher.summary
    follower = watcher.follower
    line = f"watched {watcher.name}: {totals_text(s)}"
    if follower is not None and (follower.rotations or follower.truncations):
        line += f"; rotated {follower.rotations}, truncated {follower.truncations}"
    if watcher.timeline.dropped:
        line += (f"; time view keeps the last {describe_width(watcher.timeline.width)} x "
                 f"{watcher.timeline.max_buckets} buckets")
    terminal.say(terminal.safe(line))
