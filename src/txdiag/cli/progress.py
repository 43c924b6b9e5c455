"""A progress bar on stderr for long runs, only when stderr is a terminal."""

from __future__ import annotations

import time
from types import TracebackType
from typing import TYPE_CHECKING, TextIO

from txdiag.pipeline import RunLedger

if TYPE_CHECKING:
    from rich.progress import Progress as Bar
    from rich.progress import TaskID

SHOW_AFTER_SECONDS = 1.0
"""Short runs finish before this and never draw anything."""
CHECK_EVERY = 4096


class Progress:
    """Call :meth:`advance` per batch of records; it looks at the clock only every
    ``CHECK_EVERY`` records."""

    def __init__(self, ledger: RunLedger, stderr: TextIO, enabled: bool) -> None:
        self.ledger = ledger
        self.stderr = stderr
        self.enabled = enabled
        self.count = 0
        self.started = time.monotonic()
        self._bar: Bar | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.stop()

    def advance(self, count: int) -> None:
        """``count`` more records read."""
        before = self.count
        self.count += count
        if self.enabled and self.count // CHECK_EVERY != before // CHECK_EVERY:
            self._update()

    def _update(self) -> None:
        if self._bar is None or self._task is None:
            if time.monotonic() - self.started < SHOW_AFTER_SECONDS:
                return
            self._bar, self._task = self._start()
        opened = self.ledger.current
        done, total = opened.position() if opened is not None else (0, None)
        self._bar.update(self._task, completed=done, total=total, records=f"{self.count:,}")

    def _start(self) -> tuple[Bar, TaskID]:
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, TextColumn, TimeElapsedColumn
        from rich.progress import Progress as Bar

        console = Console(file=self.stderr, markup=False, highlight=False, emoji=False)
        bar = Bar(
            TextColumn("{task.fields[records]} records"),
            BarColumn(),
            DownloadColumn(),
            TextColumn("elapsed"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        bar.start()
        return bar, bar.add_task("read", total=None, records="0")
