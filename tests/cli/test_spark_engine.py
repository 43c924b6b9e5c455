"""``--engine``: options that make no sense are usage errors before anything starts, and
nothing of Spark is imported unless a command runs on it (these tests need no PySpark)."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest
from typer.testing import CliRunner

import txdiag.spark
from txdiag.cli.app import app
from txdiag.exitcodes import ExitCode

EXAMPLE = str(Path(__file__).resolve().parents[2] / "examples" / "transactions.jsonl")


def run(*args: str, stdin: str | None = None) -> object:
    return CliRunner().invoke(app, list(args), input=stdin, catch_exceptions=False)


@pytest.mark.parametrize(("args", "message"), [
    (("summary", EXAMPLE, "--master", "local[2]"), "--master only apply to --engine spark"),
    (("diagnose", EXAMPLE, "--output", "out"), "--output only apply to --engine spark"),
    (("diagnose", EXAMPLE, "--engine", "spark"), "give --output DIR"),
    (("diagnose", EXAMPLE, "--engine", "spark", "-o", "out", "-n", "5"),
     "--limit does not apply to --engine spark"),
    (("summary", "-", "--engine", "spark"), "stdin: --engine spark reads files"),
    (("summary", "http://127.0.0.1:9/logs", "--engine", "spark"),
     "http://127.0.0.1:9/logs: --engine spark reads files"),
])
def test_options_that_make_no_sense(args: tuple[str, ...], message: str) -> None:
    result = run(*args, stdin="{}\n")
    assert result.exit_code == ExitCode.USAGE  # type: ignore[attr-defined]
    stderr = result.stderr  # type: ignore[attr-defined]
    assert message in stderr and len(stderr.splitlines()) <= 2
    assert "Traceback" not in stderr and result.stdout == ""  # type: ignore[attr-defined]


def test_without_pyspark_one_line_and_a_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark: ImportError
    result = run("summary", EXAMPLE, "--engine", "spark", "-f", "json")
    assert result.exit_code == ExitCode.USAGE  # type: ignore[attr-defined]
    error = json.loads(result.stderr)  # type: ignore[attr-defined]
    assert error["error"] == "--engine spark needs PySpark, which is not installed"
    assert "txdiag[spark]" in error["hint"]


def test_without_java_one_line_and_a_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", types.ModuleType("pyspark"))
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr(txdiag.spark.shutil, "which", lambda name: None)
    result = run("diagnose", EXAMPLE, "--engine", "spark", "--output", "out")
    assert result.exit_code == ExitCode.USAGE  # type: ignore[attr-defined]
    assert result.stderr.splitlines()[0] == (  # type: ignore[attr-defined]
        "txdiag: error: --engine spark needs Java (17 or later), which is not found")


def test_nothing_of_spark_is_imported_without_the_spark_engine(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "import txdiag, txdiag.fold, txdiag.jobs\n"
        "from txdiag.cli.app import main\n"
        "for args in (['summary', sys.argv[1], '-f', 'json'], ['diagnose', sys.argv[1]]):\n"
        "    try:\n"
        "        main(args)\n"
        "    except SystemExit as exc:\n"
        "        assert exc.code == 0, exc.code\n"
        "found = [m for m in sys.modules if m.split('.')[0] in ('pyspark', 'py4j')]\n"
        "sys.stderr.write(repr(sorted([*found, *({'txdiag.spark'} & set(sys.modules))])))\n"
    )
    result = subprocess.run([sys.executable, "-c", script, EXAMPLE], capture_output=True,
                            text=True, timeout=120, check=True, cwd=tmp_path)
    assert result.stderr.splitlines()[-1] == "[]"
