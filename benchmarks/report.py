#!/usr/bin/env python3
"""``txdiag report`` against ``txdiag summary`` on the same records, in one run.

Each command runs as its own process, start-up included, on the data of ``bench.py``
(``gen_logs.py``, cached in ``benchmarks/data/``), best of ``--repeat`` rounds. The report must stay
within 1.5x the time of the summary (issue 16); ``--affected`` reads the inputs a second time
and is shown for information.

    python benchmarks/report.py                  # 1M JSONL records, best of 3
    python benchmarks/report.py 200000 --repeat 5
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench import data_file, run, txdiag_command

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
        # Round robin (every case once per round, best of the rounds): a busy spell of the
        # machine falls on all cases alike.
        rounds = [{name: run(command) for name, command in cases.items()}
                  for _ in range(args.repeat)]
        seconds = {name: min(r[name][0] for r in rounds) for name in cases}
        print(f"{args.records:,} records, best of {args.repeat} rounds")
        print("| case | seconds | peak RSS | vs summary |\n|---|---:|---:|---:|")
        for name in cases:
            rss = max(r[name][1] for r in rounds)
            ratio = seconds[name] / seconds["summary --format json"]
            print(f"| `txdiag {name}` | {seconds[name]:.2f} | {rss / 1024:.1f} MB "
                  f"| {ratio:.2f}x |")
        size = page.stat().st_size
    ratio = seconds["report -o incident.html"] / seconds["summary --format json"]
    verdict = "met" if ratio <= TARGET else "NOT met"
    print(f"\nreport / summary = {ratio:.2f}x (target <= {TARGET}x: {verdict}); "
          f"page {size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
