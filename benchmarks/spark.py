#!/usr/bin/env python3
"""``txdiag summary --engine spark`` on Spark's local mode against the local ``--jobs``.

Every case runs as its own process, start-up included, on the data of ``bench.py`` (cached in
``benchmarks/data/``), in one run so the machine is the same for both: the local engine with
``--jobs 2`` and Spark with ``--master local[2]`` (two cores each). Spark's start-up (the JVM,
the SparkContext, the Python workers, one job) is measured on its own, on a one-record file,
and reported beside the records/s with and without it; the outputs are checked equal.

    python benchmarks/spark.py                      # 1M JSON Lines records
    python benchmarks/spark.py 2000000 --repeat 3 --master 'local[2]'

Needs the extra: ``pip install '.[spark]'`` (and Java 17 or later).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def _bench() -> Any:
    spec = importlib.util.spec_from_file_location("bench", HERE / "bench.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("records", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs per case; the best counts")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--jobs", default="2", help="--jobs of the local engine")
    args = parser.parse_args()

    bench = _bench()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    txdiag = bench.txdiag_command()
    path = bench.data_file(args.records, "jsonl")
    size = path.stat().st_size
    spark = ["--engine", "spark", "--master", args.master]

    with tempfile.TemporaryDirectory() as folder:
        tiny = Path(folder) / "one.jsonl"
        with path.open("rb") as source:
            tiny.write_bytes(source.readline())
        startup, _, _ = bench.best_of(args.repeat, [*txdiag, "summary", str(tiny), "-f", "json",
                                                    *spark])
    local_s, local_rss, local_out = bench.best_of(
        args.repeat, [*txdiag, "summary", str(path), "-f", "json", "--jobs", args.jobs])
    spark_s, spark_rss, spark_out = bench.best_of(
        args.repeat, [*txdiag, "summary", str(path), "-f", "json", *spark])
    if spark_out != local_out:
        raise SystemExit("the Spark summary differs from the local one")

    records = args.records
    print(f"{records:,} records, {size / 1e6:.0f} MB, best of {args.repeat}; the outputs are "
          "equal\n")
    print("| case | seconds | records/s | records/s after start-up | peak RSS (driver process) |")
    print("|---|---:|---:|---:|---:|")
    print(f"| `summary --jobs {args.jobs}` | {local_s:.2f} | {records / local_s:,.0f} | | "
          f"{local_rss / 1024:.1f} MB |")
    net = spark_s - startup
    after = f"{records / net:,.0f}" if net > 0 else "(start-up noise)"
    print(f"| `summary --engine spark --master {args.master}` | {spark_s:.2f} | "
          f"{records / spark_s:,.0f} | {after} | {spark_rss / 1024:.1f} MB |")
    print(f"| Spark start-up (`--engine spark` on one record) | {startup:.2f} | | | |")


if __name__ == "__main__":
    main()
