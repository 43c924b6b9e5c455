#!/usr/bin/env python3
"""``txdiag report`` against ``txdiag summary`` on the same records, in one run.

Each command runs as its own process, start-up included, on the data of ``bench.py``
(``gen_logs.py``, cached in ``benchmarks/data/``), best of ``--repeat``. The report must stay
within 1.5x the time of the summary (issue 16); ``--affected`` reads the inputs a second time
and is shown for information.

    python benchmarks/report.py                  # 1M JSONL records, best of 3
    python benchmarks/report.py 200000 --repeat 5
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench import best_of, data_file, txdiag_command

TARGET = 1.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("records", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    data = str(data_file(args.records, "jsonl"))
    txdiag = txdiag_command()
    with tempfile.TemporaryDirectory() as tmp:
        page, listed = Path(tmp) / "incident.html", Path(tmp) / "affected.csv"
        cases = {
            "summary --format json": [*txdiag, "summary", data, "--format", "json"],
            "report -o incident.html": [*txdiag, "report", data, "-o", str(page)],
            "report --format markdown": [*txdiag, "report", data, "--format", "markdown"],
            "report -o ... --affected FILE.csv": [*txdiag, "report", data, "-o", str(page),
                                                  "--affected", str(listed)],
        }
        seconds: dict[str, float] = {}
        print(f"{args.records:,} records, best of {args.repeat}")
        print("| case | seconds | peak RSS | vs summary |\n|---|---:|---:|---:|")
        for name, command in cases.items():
            took, rss, _ = best_of(args.repeat, command)
            seconds[name] = took
            ratio = took / seconds["summary --format json"]
            print(f"| `txdiag {name}` | {took:.2f} | {rss / 1024:.1f} MB | {ratio:.2f}x |",
                  flush=True)
        size = page.stat().st_size
    ratio = seconds["report -o incident.html"] / seconds["summary --format json"]
    verdict = "met" if ratio <= TARGET else "NOT met"
    print(f"\nreport / summary = {ratio:.2f}x (target <= {TARGET}x: {verdict}); "
          f"page {size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
