#!/usr/bin/env python3
"""``txdiag report`` against ``txdiag summary`` on the same records, in one run.

Each command runs as its own process, start-up included, on the data of ``bench.py``
(``gen_logs.py``, cached in ``benchmarks/data/``). The cases run in rounds (every case once
per round) and the best of ``--repeat`` rounds is kept, both wall time and CPU time (user +
system, from ``os.wait4``): on a machine shared with other work the CPU time is the steadier
measure. The report must stay within 1.5x the time of the summary (issue 16); ``--affected``
reads the inputs a second time when there is an incident window, and is shown for information.

    python benchmarks/report.py                  # 1M JSONL records with an incident, 3 rounds
    python benchmarks/report.py 200000 --repeat 5 --no-incident
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import DATA, HERE, SEED, data_file, txdiag_command

TARGET = 1.5
SUMMARY = "summary --format json"
REPORT = "report -o incident.html"


def run(command: list[str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (KiB) of one process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss


def incident_data(records: int) -> Path:
    """``records`` JSON Lines records with the generator's incident (a burst of failures), made
    once: what a report is for, and what ``--affected`` reads a second time for."""
    path = DATA / f"gen-{records}-{SEED}-incident.jsonl"
    if not path.exists():
        DATA.mkdir(exist_ok=True)
        print(f"generating {path.name} ...", flush=True)
        tmp = path.with_suffix(".tmp")
        subprocess.run([sys.executable, str(HERE / "gen_logs.py"), "--records", str(records),
                        "--seed", str(SEED), "--incident", "--out", str(tmp)], check=True)
        tmp.replace(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("records", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-incident", action="store_true",
                        help="use bench.py's data, which has no incident window")
    args = parser.parse_args()
    data = str(data_file(args.records, "jsonl") if args.no_incident
               else incident_data(args.records))
    txdiag = txdiag_command()
    with tempfile.TemporaryDirectory() as tmp:
        page, listed = Path(tmp) / "incident.html", Path(tmp) / "affected.csv"
        cases = {
            SUMMARY: [*txdiag, "summary", data, "--format", "json"],
            REPORT: [*txdiag, "report", data, "-o", str(page)],
            "report --format markdown": [*txdiag, "report", data, "--format", "markdown"],
            "report -o ... --affected FILE.csv": [*txdiag, "report", data, "-o", str(page),
                                                  "--affected", str(listed)],
        }
        # Round robin: a busy spell of the machine falls on all cases alike.
        rounds = [{name: run(command) for name, command in cases.items()}
                  for _ in range(args.repeat)]
        size = page.stat().st_size
    wall = {name: min(r[name][0] for r in rounds) for name in cases}
    cpu = {name: min(r[name][1] for r in rounds) for name in cases}
    print(f"{args.records:,} records ({Path(data).name}), best of {args.repeat} rounds, "
          f"load average {os.getloadavg()[0]:.2f}")
    print("| case | wall s | CPU s | peak RSS | vs summary (wall) | vs summary (CPU) |\n"
          "|---|---:|---:|---:|---:|---:|")
    for name in cases:
        rss = max(r[name][2] for r in rounds)
        print(f"| `txdiag {name}` | {wall[name]:.2f} | {cpu[name]:.2f} | {rss / 1024:.1f} MB "
              f"| {wall[name] / wall[SUMMARY]:.2f}x | {cpu[name] / cpu[SUMMARY]:.2f}x |")
    for label, times in (("wall", wall), ("CPU", cpu)):
        ratio = times[REPORT] / times[SUMMARY]
        verdict = "met" if ratio <= TARGET else "NOT met"
        print(f"report / summary ({label}) = {ratio:.2f}x (target <= {TARGET}x: {verdict})")
    print(f"page: {size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
