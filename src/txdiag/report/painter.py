"""The report's charts drawn by a worker process started before the inputs are read.

Importing matplotlib and drawing take about a second whatever the input's size. The worker
imports it on another core while this process folds the inputs, then draws the charts from
the finished timeline: the page costs little more wall time than the Markdown report. When a
worker cannot be started or dies, the charts are drawn here instead: same SVG either way.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

from txdiag.spikes import Spike
from txdiag.timeline import Timeline

Charts = tuple[str, str]
"""The SVG of the timeline chart and of the small multiples per category."""


def draw(timeline: Timeline, spikes: Sequence[Spike]) -> Charts:
    from txdiag.report.charts import category_charts, timeline_chart

    return timeline_chart(timeline, spikes), category_charts(timeline, spikes)


def _work(connection: Connection) -> None:
    # Ctrl-C is the parent's to handle: it closes the pipe, and this worker then stops; a
    # forked worker must not run the parent's SIGTERM handler either.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    import txdiag.report.charts  # noqa: F401  (the slow import, while the parent reads)

    try:
        job = connection.recv()
        if job is not None:
            connection.send(draw(*job))
    except (EOFError, OSError):
        pass
    finally:
        connection.close()


class ChartPainter:
    """Draws the charts of a timeline, in a worker started now when possible."""

    def __init__(self) -> None:
        from txdiag.jobs import start_method

        self._process: Any = None
        self._connection: Connection | None = None
        self._done = False
        try:
            context: Any = multiprocessing.get_context(start_method())
            ours, theirs = context.Pipe(duplex=True)
            process = context.Process(target=_work, args=(theirs,), daemon=True)
            process.start()
            theirs.close()
        except (OSError, ValueError, RuntimeError):
            return  # no worker: the charts are drawn here
        self._process, self._connection = process, ours

    def paint(self, timeline: Timeline, spikes: Sequence[Spike]) -> Charts:
        connection = self._connection
        if connection is not None:
            try:
                connection.send((timeline, list(spikes)))
                charts: Charts = connection.recv()
                self._done = True
                return charts
            except (EOFError, OSError):
                pass  # the worker is gone: draw here
            finally:
                self.close()
        return draw(timeline, spikes)

    def close(self) -> None:
        """Stop the worker (it may still be importing) and wait for it."""
        if self._connection is not None:
            with contextlib.suppress(OSError):
                self._connection.close()
            self._connection = None
        if self._process is not None:
            # Done: it is leaving on its own. Not done (the run stopped early): stop it.
            self._process.join(timeout=5 if self._done else 0)
            if self._process.is_alive():
                self._process.terminate()
                self._process.join(timeout=2)
            if self._process.is_alive():
                # A forked worker told to stop before it set its own SIGTERM handler runs the
                # parent's, which does not end it, and it may wait on the pipe end it
                # inherited: never wait for it without a bound.
                self._process.kill()
                self._process.join()
            self._process = None
