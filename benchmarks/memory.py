#!/usr/bin/env python3
"""Memory benchmark: peak RSS of ``txdiag summary`` is flat in the size of the input.

Runs ``txdiag summary --format json`` as a whole process on generated JSON Lines of each size
(``gen_logs.py``, cached in ``benchmarks/data/``) and prints the peak resident set size of the
process (``os.wait4``). Exits 1 when the largest input needs more than ``--max-growth`` (10 %)
more memory than the smallest: what is kept per run is bounded (distinct keys, timeline
buckets, unreadable examples), not proportional to the records read.

    python benchmarks/memory.py                      # 1M and 5M records
    python benchmarks/memory.py 1000000 5000000 --cases summary,jobs2,diagnose
    python benchmarks/memory.py 1000000 5000000 --cases summary,diagnose --messages distinct
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import best_of, data_file, txdiag_command  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[1_000_000, 5_000_000])
    parser.add_argument("--cases", default="summary",
                        help="comma-separated: summary, jobs2, diagnose (default summary)")
    parser.add_argument("--max-growth", type=float, default=0.10)
    parser.add_argument("--messages", choices=["repeated", "distinct"], default="repeated",
                        help="the generator's messages, or each made distinct by an order "
                             "number and a trace id (no two records share a message)")
    args = parser.parse_args()
    txdiag = txdiag_command()
    commands = {
        "summary": ["summary", "--format", "json"],
        "jobs2": ["summary", "--format", "json", "--jobs", "2"],
        "diagnose": ["diagnose", "--format", "jsonl", "-q"],
    }
    worst = 0.0
    print(f"{'case':<10} {'records':>10} {'seconds':>8} {'peak RSS MB':>12} {'vs smallest':>12}")
    for case in args.cases.split(","):
        smallest: int | None = None
        for records in sorted(args.sizes):
            path = data_file(records, "jsonl", distinct=args.messages == "distinct")
            seconds, rss, _ = best_of(1, [*txdiag, *commands[case], str(path)])
            smallest = smallest or rss
            growth = rss / smallest - 1
            worst = max(worst, growth)
            print(f"{case:<10} {records:>10} {seconds:>8.2f} {rss / 1024:>12.1f} "
                  f"{growth:>+11.1%}", flush=True)
    if worst > args.max_growth:
        print(f"peak RSS grew {worst:.1%} (more than {args.max_growth:.0%})", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
