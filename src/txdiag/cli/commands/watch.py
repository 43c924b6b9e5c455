"""``watch``: its options and examples; how it follows a log is in :mod:`txdiag.cli.watching`."""

from __future__ import annotations

from typing import Annotated

import typer

from txdiag.cli import options as opt
from txdiag.cli.base import app, examples, json_errors
from txdiag.cli.common import InputSettings, reads_inputs
from txdiag.render import OutputFormat

WatchBucket = Annotated[
    str,
    typer.Option("--bucket", metavar="DURATION",
                 help="Time bucket of the live time view and spike detection (e.g. 30s, 5m)."),
]
Once = Annotated[
    bool,
    typer.Option("--once", help="Read to the current end of the file, print the summary, "
                 "exit (for scripts)."),
]
Interval = Annotated[
    float,
    typer.Option("--interval", min=0.05, metavar="SECONDS", callback=opt.finite,
                 help="Seconds between redraws (or status lines when not on a terminal)."),
]
Wait = Annotated[
    bool,
    typer.Option("--wait", help="If FILE does not exist yet, wait for it to appear (as tail -F "
                 "does) instead of exiting 3."),
]
FromEnd = Annotated[
    bool,
    typer.Option("--from-end", help="Start at the end of the file: only lines written from "
                 "now on are read."),
]


@app.command(epilog=examples(
    "txdiag watch /var/log/pay/app.jsonl",
    "txdiag watch app.jsonl --once --format json > now.json",
    "txdiag watch app.jsonl --bucket 30s --interval 10 >> watch.log",
    "txdiag watch /var/log/pay/today.jsonl --wait     # not created yet",
))
@reads_inputs
def watch(
    file: str = typer.Argument(..., metavar="FILE", show_default=False,
                               help="The log to follow, by name (survives rotation)."),
    fmt: opt.Format = OutputFormat.TABLE,
    lang: opt.Lang = None,
    top: opt.Top = 5,
    bucket: WatchBucket = "1m",
    interval: Interval = 2.0,
    once: Once = False,
    from_end: FromEnd = False,
    wait: Wait = False,
    *,
    settings: InputSettings,
) -> None:
    """Follow a growing log (like tail -F) with a live summary and spike flags."""
    json_errors(fmt is OutputFormat.JSON)
    from txdiag.cli.watching import run

    run(file, settings, fmt=fmt, lang=lang, top=top, bucket=bucket, interval=interval, once=once,
        from_end=from_end, wait=wait)
