"""``txdiag check``: every exit code, the verdict in every format, the JSON contract."""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from txdiag.cli.app import app
from txdiag.exitcodes import ExitCode

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "data" / "golden"
EXAMPLE = ROOT / "examples" / "transactions.jsonl"


def run(*args: str, stdin: str | bytes | None = None) -> Any:
    return CliRunner().invoke(app, list(args), input=stdin, catch_exceptions=False)


def verdict(*args: str) -> tuple[int, dict[str, Any]]:
    result = run("check", *args, "--format", "json", "--quiet")
    return result.exit_code, json.loads(result.stdout)


# -- exit codes -----------------------------------------------------------------------------

def test_exit_0_within_limits(make_log: Callable[..., Path],
                              check_schema: Callable[[Any, str], None]) -> None:
    log = make_log(minutes=20, rates={"system": 0.02})
    code, data = verdict(str(log), "--max-rate", "system=10", "--min-success-rate", "90")
    assert code == ExitCode.OK
    assert data["ok"] is True and data["verdict"] == "ok" and data["exit_code"] == 0
    assert data["breaches"] == [] and data["breach_count"] == 0
    assert data["totals"]["records"] == 1000 and data["judged"] == 1
    check_schema(data, "check")


def test_exit_1_breached_with_measured_value_limit_and_window(
        make_log: Callable[..., Path], check_schema: Callable[[Any, str], None]) -> None:
    log = make_log(minutes=30, rates={"system": 0.02}, spike=(10, 14, "system", 0.5))
    code, data = verdict(str(log), "--max-rate", "system=10", "--window", "5m")
    assert code == ExitCode.BREACH
    assert data["ok"] is False and data["verdict"] == "breach" and data["exit_code"] == 1
    assert data["window_seconds"] == 300 and data["min_records"] == 20
    (breach,) = data["breaches"]
    assert breach["threshold"] == "--max-rate system=10"
    assert breach["kind"] == "max_rate" and breach["target"] == "system"
    assert breach["limit"] == 0.1 and breach["measured"] > 0.3
    assert breach["window"] == {"start": "2026-11-11T00:10:00Z", "end": "2026-11-11T00:15:00Z"}
    assert breach["records"] == 250 and breach["top_reason"] == "system.bank_error"
    (check,) = data["checks"]
    assert (check["judged"], check["breached"], check["ok"]) == (6, 1, False)
    check_schema(data, "check")


def test_the_table_verdict_names_the_breach(make_log: Callable[..., Path]) -> None:
    log = make_log(minutes=30, rates={"system": 0.02}, spike=(10, 14, "system", 0.5))
    result = run("check", str(log), "--max-rate", "system=10", "--window", "5m", "-q")
    assert result.exit_code == ExitCode.BREACH
    lines = result.stdout.splitlines()
    assert lines[0] == "BREACH: 1 of 1 limit breached"
    assert "BREACH system rate worst" in result.stdout
    assert "2026-11-11T00:10:00Z to 2026-11-11T00:15:00Z" in result.stdout
    assert "mostly system.bank_error" in result.stdout
    assert len(lines) <= 24  # one screen


@pytest.mark.parametrize(("args", "words"), [
    (["--max-rate", "system"], "--max-rate system: expected CATEGORY=VALUE"),
    (["--max-rate", "sytem=5"], "unknown category 'sytem'"),
    (["--max-count", "failure=lots"], "not a whole number"),
    (["--min-success-rate", "200"], "not a percentage"),
    (["--max-rate", "system=5", "--window", "5 minutes"], "--window '5 minutes'"),
    ([], "nothing to check"),
])
def test_exit_2_bad_threshold_before_reading_anything(args: list[str], words: str) -> None:
    # The input does not exist: the usage error comes first, without touching it.
    result = run("check", "/nonexistent/app.jsonl", *args)
    assert result.exit_code == ExitCode.USAGE
    assert words in result.stderr
    assert result.stdout == ""


def test_exit_2_is_json_on_stderr_under_format_json() -> None:
    result = run("check", str(EXAMPLE), "--max-rate", "fraud=1", "--format", "json")
    assert result.exit_code == ExitCode.USAGE
    error = json.loads(result.stderr)
    assert error["exit_code"] == 2 and "fraud" in error["error"] and error["hint"]


def test_exit_3_missing_input(tmp_path: Path) -> None:
    result = run("check", str(tmp_path / "nope.jsonl"), "--max-rate", "system=5", "-f", "json")
    assert result.exit_code == ExitCode.INPUT
    assert json.loads(result.stderr)["exit_code"] == 3
    assert result.stdout == ""


def test_exit_3_truncated_input_still_prints_a_partial_verdict(
        make_log: Callable[..., Path], tmp_path: Path) -> None:
    data = gzip.compress(make_log(minutes=30).read_bytes())
    broken = tmp_path / "cut.jsonl.gz"
    broken.write_bytes(data[: len(data) // 2])
    result = run("check", str(broken), "--max-rate", "system=50", "-f", "json", "-q")
    assert result.exit_code == ExitCode.INPUT
    partial = json.loads(result.stdout)
    assert partial["complete"] is False and partial["ok"] is False
    assert partial["exit_code"] == 3 and partial["totals"]["records"] > 0
    assert "truncated" in result.stderr


def test_exit_5_on_an_empty_input_never_a_silent_pass(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    result = run("check", str(empty), "--max-rate", "system=5", "-f", "json", "-q")
    assert result.exit_code == ExitCode.NO_RECORDS
    data = json.loads(result.stdout)
    assert data["ok"] is False and data["verdict"] == "no_records"
    error = json.loads(result.stderr)
    assert error["exit_code"] == 5 and "no records to judge" in error["error"]


def test_exit_5_when_every_window_is_too_quiet(make_log: Callable[..., Path]) -> None:
    log = make_log(minutes=30, per_minute=2)
    result = run("check", str(log), "--max-rate", "system=5", "--window", "1m", "-q")
    assert result.exit_code == ExitCode.NO_RECORDS
    assert result.stdout.startswith("NO RECORDS")
    assert "no window had 20 records" in result.stderr
    # the same data judged with a lower bar is judged
    assert run("check", str(log), "--max-rate", "failure=100", "--window", "1m",
               "--min-records", "2", "-q").exit_code == ExitCode.OK


def test_exit_5_when_no_record_has_a_time_under_window(
        make_log: Callable[..., Path]) -> None:
    log = make_log(rows=[(None, None)] * 40 + [(None, "system")] * 5)
    code, data = verdict(str(log), "--max-rate", "system=50", "--window", "5m")
    assert code == ExitCode.NO_RECORDS
    assert data["no_timestamp"] == 45 and data["judged"] == 0
    # without --window the same records are judged as one run
    assert verdict(str(log), "--max-rate", "system=50")[0] == ExitCode.OK


def test_since_until_narrow_what_is_judged(make_log: Callable[..., Path]) -> None:
    log = make_log(minutes=30, rates={"system": 0.0}, spike=(20, 29, "system", 0.6))
    args = [str(log), "--max-rate", "system=10"]
    assert verdict(*args)[0] == ExitCode.BREACH
    assert verdict(*args, "--until", "2026-11-11T00:20:00Z")[0] == ExitCode.OK


def test_out_of_order_input_is_judged_the_same(make_log: Callable[..., Path],
                                               tmp_path: Path) -> None:
    log = make_log(minutes=30, spike=(10, 14, "network", 0.5))
    lines = log.read_text(encoding="utf-8").splitlines()
    shuffled = tmp_path / "shuffled.jsonl"
    shuffled.write_text("\n".join(reversed(lines)) + "\n", encoding="utf-8")
    args = ["--max-rate", "network=20", "--window", "5m"]
    code_a, a = verdict(str(log), *args)
    code_b, b = verdict(str(shuffled), *args)
    assert code_a == code_b == ExitCode.BREACH
    assert a["breaches"] == b["breaches"] and a["checks"] == b["checks"]


def test_every_format_renders_the_verdict(make_log: Callable[..., Path]) -> None:
    log = make_log(minutes=10)
    for fmt in ("table", "json", "jsonl", "csv", "markdown"):
        result = run("check", str(log), "--max-rate", "failure=50", "--format", fmt, "-q")
        assert result.exit_code == ExitCode.OK, (fmt, result.stderr)
        assert result.stdout.strip()
        assert "\x1b" not in result.stdout
    csv_lines = run("check", str(log), "--max-rate", "failure=50", "-f", "csv").stdout
    assert csv_lines.splitlines()[0].startswith("threshold,kind,target,limit,ok,measured")


def test_check_golden(monkeypatch: pytest.MonkeyPatch,
                      check_schema: Callable[[Any, str], None]) -> None:
    """The check JSON contract, byte for byte. Regenerate with TXDIAG_UPDATE_GOLDEN=1."""
    monkeypatch.chdir(GOLDEN)
    result = run("check", "small.jsonl", "--max-rate", "system=10", "--max-rate", "failure=50",
                 "--max-count", "balance=5", "--min-success-rate", "20", "--format", "json",
                 "--quiet")
    assert result.exit_code == ExitCode.BREACH
    golden = GOLDEN / "small.check.json"
    if os.environ.get("TXDIAG_UPDATE_GOLDEN"):
        golden.write_text(result.stdout, encoding="utf-8")
    assert result.stdout == golden.read_text(encoding="utf-8")
    check_schema(json.loads(result.stdout), "check")
