"""The command line, through Typer's CliRunner and as an installed console script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from txdiag.cli.app import app
from txdiag.cli.session import resolve_inputs
from txdiag.cli.terminal import Terminal
from txdiag.errors import UsageError
from txdiag.exitcodes import ExitCode

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "transactions.jsonl"
EXAMPLE_CSV = ROOT / "examples" / "transactions.csv"
GOLDEN = ROOT / "tests" / "data" / "golden"
CATEGORIES = {"balance", "network", "card_binding", "risk_control", "system", "unknown"}


def run(*args: str, stdin: str | bytes | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args), input=stdin, catch_exceptions=False)


def test_version() -> None:
    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout.startswith("txdiag ")


@pytest.mark.parametrize("command", ["diagnose", "summary", "explain"])
def test_help_shows_an_example(command: str) -> None:
    result = run(command, "--help")
    assert result.exit_code == 0
    assert "Examples:" in result.stdout


@pytest.mark.parametrize("example", [EXAMPLE, EXAMPLE_CSV])
def test_summary_totals_add_up_on_examples(example: Path) -> None:
    result = run("summary", str(example), "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    totals = data["totals"]
    assert totals["records"] == totals["successes"] + totals["failures"]
    assert totals["records"] > 1000
    assert totals["unreadable"] == 0
    assert set(data["by_category"]) == CATEGORIES
    assert sum(data["by_category"].values()) == totals["failures"]
    # the shipped rulebook knows the example data: almost nothing is left unexplained
    assert data["by_category"]["unknown"] < 0.1 * totals["failures"]
    assert data["schema_version"] == 1


def test_explain_iso_51_in_chinese() -> None:
    result = run("explain", "51", "--channel", "iso8583", "--lang", "zh")
    assert result.exit_code == 0
    assert "balance" in result.stdout
    assert "告诉客户" in result.stdout and "技术处理" in result.stdout
    assert any("\u4e00" <= ch <= "\u9fff" for ch in result.stdout.split("告诉客户")[1])


def test_explain_message_and_json() -> None:
    result = run("explain", "可用额度不足", "--format", "json")
    data = json.loads(result.stdout)
    assert data["category"] == "balance"
    assert data["evidence"]["level"] == "message"
    assert data["hint"] and data["action"]


def test_explain_unknown_is_honest() -> None:
    data = json.loads(run("explain", "ZZ_NEVER_SEEN_42", "--format", "json").stdout)
    assert data["category"] == "unknown"
    assert data["reason"] == "unknown.no_match"
    assert data["evidence"]["value"] == "ZZ_NEVER_SEEN_42"


def test_diagnose_jsonl_fields() -> None:
    result = run("diagnose", str(GOLDEN / "small.jsonl"), "--format", "jsonl")
    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    required = {"txn_id", "timestamp", "channel", "error_code", "error_message", "category",
                "reason", "retryable", "evidence", "hint", "action", "source"}
    assert rows and all(required <= set(row) for row in rows)
    assert all(row["category"] in CATEGORIES for row in rows)
    by_id = {row["txn_id"]: row for row in rows}
    assert by_id["G1"]["reason"] == "balance.insufficient_funds"
    assert by_id["G1"]["amount"] == "99.00"
    assert by_id["G1"]["timestamp"] == "2026-11-11T00:00:01+08:00"
    assert by_id["G3"]["retryable"] == "query_first"
    assert by_id["G4"]["timestamp"] == "2026-11-11T00:00:04Z"  # naive read as UTC
    assert by_id["G1"]["source"] == {"file": str(GOLDEN / "small.jsonl"), "line": 1}


def test_assume_tz() -> None:
    result = run("diagnose", str(GOLDEN / "small.jsonl"), "-f", "jsonl", "--assume-tz",
                 "Asia/Shanghai")
    by_id = {r["txn_id"]: r for r in map(json.loads, result.stdout.splitlines())}
    assert by_id["G4"]["timestamp"] == "2026-11-11T00:00:04+08:00"


def test_diagnose_filters_and_limit() -> None:
    result = run("diagnose", str(EXAMPLE), "-f", "jsonl", "-c", "network", "-c", "system",
                 "-n", "7")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 7
    assert {row["category"] for row in rows} <= {"network", "system"}


def test_diagnose_json_is_one_document_with_totals() -> None:
    result = run("diagnose", str(GOLDEN / "small.jsonl"), "--format", "json")
    data = json.loads(result.stdout)
    assert data["schema_version"] == 1
    assert data["shown"] == len(data["findings"]) == data["totals"]["failures"]
    assert data["totals"]["unreadable"] == 1
    assert data["totals"]["blank_lines"] == 1


def test_unreadable_lines_reported_with_file_and_line() -> None:
    result = run("summary", str(GOLDEN / "small.jsonl"), "-f", "json")
    assert result.exit_code == 0
    assert f"{GOLDEN / 'small.jsonl'}:9: unreadable (invalid_json" in result.stderr
    data = json.loads(result.stdout)
    assert data["unreadable"]["by_cause"] == {"invalid_json": 1}


def test_strict_turns_unreadable_into_exit_3() -> None:
    result = run("summary", str(GOLDEN / "small.jsonl"), "--strict")
    assert result.exit_code == ExitCode.INPUT
    assert "small.jsonl:9" in result.stderr


def test_missing_file_is_one_line_exit_3(tmp_path: Path) -> None:
    result = run("summary", str(tmp_path / "nope.jsonl"))
    assert result.exit_code == ExitCode.INPUT
    assert result.stderr.strip().count("\n") == 0
    assert "nope.jsonl: no such file" in result.stderr


def test_json_error_under_format_json(tmp_path: Path) -> None:
    result = run("summary", str(tmp_path / "nope.jsonl"), "-f", "json")
    error = json.loads(result.stderr)
    assert error["exit_code"] == 3 and "no such file" in error["error"]


def test_bad_option_is_usage_error() -> None:
    result = run("summary", "--format", "yaml", str(EXAMPLE))
    assert result.exit_code == ExitCode.USAGE


def test_no_input_on_a_terminal_is_a_usage_error() -> None:
    terminal = Terminal.from_env()
    terminal.stdin_is_tty = True
    with pytest.raises(UsageError, match="no input"):
        resolve_inputs([], terminal)
    terminal.stdin_is_tty = False
    assert resolve_inputs([], terminal) == ["-"]


def test_stdin_and_file_give_the_same_summary() -> None:
    from_file = json.loads(run("summary", str(EXAMPLE), "-f", "json").stdout)
    from_stdin = json.loads(run("summary", "-", "-f", "json",
                                stdin=EXAMPLE.read_bytes()).stdout)
    for data in (from_file, from_stdin):
        data.pop("inputs")
    assert from_file == from_stdin


def test_markup_and_controls_print_literally_and_pii_is_masked() -> None:
    result = run("diagnose", str(GOLDEN / "small.jsonl"), "-f", "table")
    assert "[bold red]ERR_9" in result.stdout
    assert "6222021234567890128" not in result.stdout
    assert "622202" in result.stdout and "0128" in result.stdout


def test_no_mask_shows_data_and_says_so() -> None:
    result = run("diagnose", str(GOLDEN / "small.jsonl"), "-f", "jsonl", "--no-mask")
    assert "6222021234567890128" in result.stdout
    assert "masking is OFF" in result.stderr


@pytest.mark.parametrize("fmt", ["table", "json", "jsonl", "csv", "markdown"])
def test_every_format_renders_every_command(fmt: str) -> None:
    for args in (["diagnose", str(GOLDEN / "small.jsonl")],
                 ["summary", str(GOLDEN / "small.jsonl")],
                 ["explain", "51", "--channel", "iso8583"]):
        result = run(*args, "--format", fmt)
        assert result.exit_code == 0, (args, result.stderr)
        assert result.stdout.strip()
        assert "\x1b" not in result.stdout  # not a terminal: no colour


def test_summary_golden(monkeypatch: pytest.MonkeyPatch) -> None:
    """The summary JSON contract, byte for byte. Regenerate with TXDIAG_UPDATE_GOLDEN=1."""
    monkeypatch.chdir(GOLDEN)  # relative input name: the golden file does not hold a tmp path
    result = run("summary", "small.jsonl", "--format", "json", "--quiet")
    golden = GOLDEN / "small.summary.json"
    if os.environ.get("TXDIAG_UPDATE_GOLDEN"):
        golden.write_text(result.stdout, encoding="utf-8")
    assert result.stdout == golden.read_text(encoding="utf-8")


def _console_script() -> str:
    found = shutil.which("txdiag", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip("txdiag console script not installed next to this Python")
    return found


def test_installed_console_script_reads_stdin() -> None:
    proc = subprocess.run(
        [_console_script(), "summary", "--format", "json"],
        input=EXAMPLE.read_bytes(), capture_output=True, timeout=60, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["totals"]["records"] == 3000
    assert b"as jsonl" in proc.stderr


def test_python_dash_m_and_closed_pipe_is_silent() -> None:
    proc = subprocess.run(
        f"'{sys.executable}' -m txdiag diagnose '{EXAMPLE}' -f jsonl | head -n 1",
        shell=True, capture_output=True, timeout=60, check=False,
    )
    assert proc.returncode == 0
    assert len(proc.stdout.splitlines()) == 1
    assert b"Traceback" not in proc.stderr and b"BrokenPipe" not in proc.stderr


def test_explain_a_code_channels_read_differently_lists_each_reading() -> None:
    table = run("explain", "05", "--lang", "en")
    assert table.exit_code == 0
    assert "means different things on different channels" in table.stdout
    for word in ("iso8583", "risk_control.issuer_declined", "unionpay", "unknown.pending",
                 "txdiag explain 05 --channel"):
        assert word in table.stdout
    assert "Unrecognised" not in table.stdout  # (its readings say more than "no match")
    data = json.loads(run("explain", "05", "-f", "json").stdout)
    readings = {m["channel"]: m["reason"] for m in data["meanings"]}
    assert readings["iso8583"] == "risk_control.issuer_declined"
    assert readings["unionpay"] == "unknown.pending"
    rows = run("explain", "05", "-f", "csv").stdout.splitlines()
    assert len(rows) == 2 + len(readings) and rows[2].startswith("05,")
    markdown = run("explain", "05", "-f", "markdown").stdout
    assert "| iso8583 | risk_control | risk_control.issuer_declined |" in markdown
    one = json.loads(run("explain", "05", "--channel", "iso8583", "-f", "json").stdout)
    assert one["meanings"] == [] and one["reason"] == "risk_control.issuer_declined"


def test_explain_needs_a_query() -> None:
    result = run("explain", "  ")
    assert result.exit_code == ExitCode.USAGE
    assert "needs a code or a message" in result.output


def test_explain_shows_the_category_in_the_agents_language() -> None:
    result = run("explain", "余额不足", "--lang", "zh")
    assert "balance (余额/额度)" in result.stdout
    assert "余额 + 不足" in result.stdout or "余额不足" in result.stdout
@pytest.mark.parametrize("command", ["summary", "diagnose"])
def test_an_input_error_marks_the_result_partial(tmp_path: Path, command: str) -> None:
    """Like check's verdict: what was read is rendered, and says it covers part of the input."""
    import gzip

    whole = gzip.compress(EXAMPLE.read_bytes())
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    result = run(command, str(cut), "--format", "json")
    assert result.exit_code == ExitCode.INPUT
    data = json.loads(result.stdout)
    assert data["complete"] is False and data["stopped"] == "input error"
    assert data["totals"]["records"] > 0
    table = run(command, str(cut))
    assert "INPUT ERROR (partial input): " in table.stdout
    complete = json.loads(run(command, str(EXAMPLE), "--format", "json").stdout)
    assert complete["complete"] is True and complete["stopped"] is None


def test_counts_of_one_are_singular(tmp_path: Path) -> None:
    one = tmp_path / "one.jsonl"
    one.write_text(EXAMPLE.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    result = run("summary", str(one))
    assert result.stdout.startswith("1 record: 1 success, 0 failures")
    assert "1 record (1 success, 0 failures), 0 unreadable" in result.stderr


def test_a_window_with_nothing_in_it_says_so() -> None:
    result = run("summary", str(EXAMPLE), "--until", "2000-01-01")
    assert "No records between --since and --until: all 3,000 records read were outside" in \
        " ".join(result.stdout.split())
    assert "No records found in the input" not in result.stdout


def test_diagnose_says_how_many_it_left_out() -> None:
    result = run("diagnose", str(EXAMPLE), "-n", "20", "-f", "jsonl")
    failures = json.loads(run("summary", str(EXAMPLE), "-f", "json").stdout)["totals"]["failures"]
    assert result.stderr.splitlines()[-1] == f"txdiag: 20 of {failures:,} failures shown (-n 20)"
    network = run("diagnose", str(EXAMPLE), "-n", "2", "-c", "network", "-f", "jsonl")
    assert network.stderr.splitlines()[-1].startswith("txdiag: 2 of ")
    assert "shown" not in run("diagnose", str(EXAMPLE), "-f", "jsonl").stderr


def test_a_bad_option_value_names_the_env_var_only_when_it_came_from_it() -> None:
    command = [_console_script(), "summary", str(EXAMPLE)]
    typed = subprocess.run([*command, "--lang", "fr"], capture_output=True, text=True,
                           timeout=60, check=False)
    assert typed.returncode == 2
    assert "Invalid value for '--lang': 'fr'" in typed.stderr and "env var" not in typed.stderr
    from_env = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False,
                              env={**os.environ, "TXDIAG_LANG": "fr"})
    assert from_env.returncode == 2 and "(env var: 'TXDIAG_LANG')" in from_env.stderr


def test_under_json_every_stderr_line_is_a_json_object(tmp_path: Path) -> None:
    import gzip

    whole = gzip.compress(EXAMPLE.read_bytes())
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    result = run("summary", str(cut), "--format", "json")
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert lines[0]["info"].startswith("read ") and lines[-1]["exit_code"] == ExitCode.INPUT
    assert all(("info" in line) != ("error" in line) for line in lines)
    plain = run("summary", str(cut))
    assert plain.stderr.startswith("txdiag: read ")


def test_explain_warns_of_an_unknown_channel() -> None:
    result = CliRunner().invoke(app, ["explain", "51", "--channel", "isso8583"])
    assert result.exit_code == 0
    assert "unknown channel 'isso8583'" in result.stderr
    assert "did you mean iso8583?" in result.stderr
