"""Spark in local mode for the tests of ``txdiag.spark``: skipped cleanly without PySpark or
Java, one SparkSession (``local[2]``) for the whole test session, and the generated logs."""

from __future__ import annotations

import gzip
import importlib.util
import io
import os
import shutil
import sys
from argparse import Namespace
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent

if importlib.util.find_spec("pyspark") is None:
    pytest.skip("PySpark is not installed (pip install '.[spark]')", allow_module_level=True)
if not shutil.which("java") and not (os.environ.get("JAVA_HOME")
                                     and Path(os.environ["JAVA_HOME"], "bin", "java").exists()):
    pytest.skip("no Java runtime for Spark", allow_module_level=True)

SPLIT = 96 << 10
"""Bytes per task in these tests, so that the big file is read in several ranges."""


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (SparkSession.builder.master("local[2]").appName("txdiag-tests")
               .config("spark.ui.enabled", "false")
               .config("spark.ui.showConsoleProgress", "false")
               .config("spark.sql.shuffle.partitions", "2")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(autouse=True)
def _small_tasks(monkeypatch: pytest.MonkeyPatch, spark: Any) -> None:
    import txdiag.spark

    monkeypatch.setattr(txdiag.spark, "SPLIT_BYTES", SPLIT)


def _generate(records: int, seed: int, fmt: str = "jsonl") -> str:
    spec = importlib.util.spec_from_file_location("gen_logs", ROOT / "benchmarks" / "gen_logs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = io.StringIO()
    module.generate(Namespace(records=records, seed=seed, failure_rate=0.6, hours=6.0,
                              format=fmt, incident=True), out)
    return out.getvalue()


@pytest.fixture(scope="session")
def logs(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Several files: a big JSON Lines file with a BOM and garbage lines (read in ranges),
    a gzip file, a CSV file and small JSON Lines files (grouped into one task)."""
    folder = tmp_path_factory.mktemp("logs")
    lines = _generate(4000, 1).encode("utf-8").splitlines(keepends=True)
    for at, garbage in ((3, b"not json\n"), (900, b"[1, 2]\n"), (1500, b"\n"),
                        (2600, b'{"status": "failed", "status": "ok"}\n'),
                        (3900, b"\xff\xfe broken\n")):
        lines.insert(at, garbage)
    big = folder / "big.jsonl"
    big.write_bytes(b"\xef\xbb\xbf" + b"".join(lines))
    packed = folder / "packed.jsonl.gz"
    packed.write_bytes(gzip.compress(_generate(700, 2).encode("utf-8") + b"{broken\n"))
    table = folder / "table.csv"
    table.write_text(_generate(500, 3, "csv"), encoding="utf-8")
    names = [str(big), str(packed), str(table)]
    for index in range(3):
        small = folder / f"small{index}.jsonl"
        small.write_text(_generate(150, 10 + index) + "nope\n", encoding="utf-8")
        names.append(str(small))
    return names
