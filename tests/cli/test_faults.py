"""Issue 13's crash cases: each one a regression test, through the real command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from txdiag.cli.app import app
from txdiag.exitcodes import ExitCode

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "transactions.jsonl"
CARD = "6222021234567890128"
GOOD = ('{"ts":"2026-11-11T00:00:02Z","txn_id":"T1","channel":"alipay","status":"failed",'
        '"code":"20000","msg":"Service Currently Unavailable"}')


def run(*args: str, stdin: str | bytes | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args), input=stdin, catch_exceptions=False)


def clean(text: str) -> None:
    assert "Traceback" not in text
    assert "\x1b" not in text and "\x07" not in text
    assert CARD not in text


def totals(stdout: str) -> dict[str, int]:
    document = json.loads(stdout)
    return document["totals"]  # type: ignore[no-any-return]


COMMAND_ARGS = {"summary": [], "diagnose": [], "check": ["--max-rate", "failure=100"],
                "watch": ["--once"]}
KEY_WITH_ESCAPES = ('{"ts":"2026-11-11T00:00:03Z","txn_id":"T2","status":"failed",'
                    f'"note \\u001b]0;x\\u0007 card {CARD}": "x", "q\\"uote\\\\": 1}}')


def run_clean(command: str, log: Path, jobs: str):  # type: ignore[no-untyped-def]
    """``command`` on ``log`` in JSON (``summary`` with ``jobs``): clean, exit 0."""
    args = [command, str(log), "-f", "json", *COMMAND_ARGS[command]]
    if command == "summary":
        args += ["-j", jobs]
    result = run(*args)
    clean(result.stdout + result.stderr)
    assert result.exit_code == ExitCode.OK, result.stderr
    return args, result


@pytest.mark.parametrize("command", ["summary", "diagnose", "check"])
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_json_key_with_escape_quote_backslash(tmp_path: Path, command: str, jobs: str) -> None:
    log = tmp_path / "keys.jsonl"
    log.write_text("\n".join([GOOD, KEY_WITH_ESCAPES, GOOD] * 400) + "\n", encoding="utf-8")
    args, result = run_clean(command, log, jobs)
    assert totals(result.stdout)["records"] == 1200
    from_stdin = run(*[a if a != str(log) else "-" for a in args],
                     stdin=log.read_bytes())
    assert totals(from_stdin.stdout)["records"] == 1200


@pytest.mark.parametrize("field", ["http_status", "latency_ms", "amount", "installments"])
@pytest.mark.parametrize("command", ["summary", "diagnose"])
def test_integer_too_big_for_a_float(tmp_path: Path, field: str, command: str) -> None:
    log = tmp_path / "big.jsonl"
    big = ('{"ts":"2026-11-11T00:00:03Z","txn_id":"T2","status":"failed",'
           f'"{field}": {"9" * 400}}}')
    log.write_text(f"{GOOD}\n{big}\n", encoding="utf-8")
    result = run(command, str(log), "-f", "json")
    clean(result.stderr)
    assert result.exit_code == ExitCode.OK, result.stderr
    assert totals(result.stdout)["records"] == 2


@pytest.mark.parametrize("stamp", ["²", "①", "9999-12-31T23:59:59-14:00",
                                   "0001-01-01T00:00:00+14:00", "１２３", "19999999999"])
@pytest.mark.parametrize("command", ["summary", "diagnose", "check"])
def test_unreadable_timestamps_are_no_time(tmp_path: Path, stamp: str, command: str) -> None:
    log = tmp_path / "ts.jsonl"
    bad = json.dumps({"ts": stamp, "txn_id": "T2", "status": "failed", "code": "51"},
                     ensure_ascii=False)
    log.write_text(f"{GOOD}\n{bad}\n", encoding="utf-8")
    result = run(command, str(log), "-f", "json", *COMMAND_ARGS[command])
    clean(result.stderr)
    assert result.exit_code == ExitCode.OK, result.stderr
    if command == "diagnose":
        rows = json.loads(result.stdout)["findings"]
        assert [row["timestamp"] for row in rows][1] is None
        assert rows[1]["timestamp_raw"]  # kept (masked where it looks like a phone number)
    elif command == "summary":
        assert json.loads(result.stdout)["timeline"]["no_timestamp"] == 1


def test_stdin_named_twice_and_a_file_named_twice(tmp_path: Path) -> None:
    result = run("summary", "-", "-", stdin=GOOD + "\n")
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.startswith("txdiag: error: stdin (-) is named twice")
    result = run("summary", str(EXAMPLE), str(EXAMPLE.parent / ".." / "examples" / EXAMPLE.name))
    assert result.exit_code == ExitCode.USAGE and "the same file as" in result.stderr


@pytest.mark.parametrize("option", ["--config", "--rules"])
def test_non_utf8_config_and_rule_files(tmp_path: Path, option: str) -> None:
    bad = tmp_path / "gbk.toml"
    bad.write_bytes('# 规则\n[[rules]]\nid = "余额"\n'.encode("gbk"))
    result = run("summary", str(EXAMPLE), option, str(bad))
    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.splitlines()[0].startswith(f"txdiag: error: {bad}:1: ")
    assert "not UTF-8" in result.stderr


def test_rules_from_dev_zero_is_refused_not_killed() -> None:
    result = run("summary", str(EXAMPLE), "--rules", "/dev/zero")
    assert result.exit_code == ExitCode.USAGE
    assert "larger than" in result.stderr


@pytest.mark.parametrize("value", ["nan", "inf", "-nan"])
def test_timeout_must_be_finite(value: str) -> None:
    result = run("lookup", "T1", "--url", "http://127.0.0.1:9/{txn_id}", "--timeout", value)
    assert result.exit_code == ExitCode.USAGE
    assert "--timeout" in result.stderr


def test_socks_proxy_without_support_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALL_PROXY", "socks5://127.0.0.1:9")
    result = run("lookup", "T1", "--url", "http://127.0.0.1:9/{txn_id}", "--retries", "0")
    assert result.exit_code == ExitCode.USAGE
    assert "SOCKS" in result.stderr


def _boom(*args: object, **kwargs: object) -> None:
    raise RuntimeError(f"kaput \x1b]0;title\x07 {CARD}\nsecond line")


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_any_fault_is_one_masked_escaped_line_exit_70(monkeypatch: pytest.MonkeyPatch,
                                                      fmt: str) -> None:
    import txdiag.pipeline

    monkeypatch.setattr(txdiag.pipeline.Pipeline, "diagnose_fields", _boom)
    result = run("diagnose", str(EXAMPLE), "-f", fmt)
    assert result.exit_code == ExitCode.INTERNAL == 70
    clean(result.stderr)
    assert "second line" not in result.stderr
    if fmt == "json":
        error = json.loads(result.stderr.splitlines()[-1])
        assert error["exit_code"] == 70 and "RuntimeError: kaput" in error["error"]
    else:
        assert result.stderr.splitlines()[0].startswith(
            "txdiag: error: internal error (RuntimeError: kaput \\x1b]0;title\\x07 622202")


def test_fault_in_a_real_process_with_debug(tmp_path: Path) -> None:
    # A fault the commands' net never sees (while building the command line) still ends at
    # main's: exit 70, and TXDIAG_DEBUG's traceback is masked and escaped too.
    script = ("import sys, txdiag.cli.app as a\n"
              "def boom():\n"
              f"    raise ValueError('bad \\x1b[31m {CARD}')\n"
              "a._app = boom\n"
              "a.main(['summary', '-'])\n")
    for debug in ("", "1"):
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              timeout=60, check=False,
                              env={"PATH": "/usr/bin:/bin", "TXDIAG_DEBUG": debug})
        assert proc.returncode == 70, proc.stderr
        assert "\x1b" not in proc.stderr and CARD not in proc.stderr
        assert all(line.startswith(("txdiag: error:", "txdiag: hint:", "txdiag: debug:"))
                   for line in proc.stderr.splitlines())
        assert ("txdiag: debug: Traceback" in proc.stderr) == bool(debug)


@pytest.mark.parametrize("args", [["summary"], ["diagnose", "-n", "3000"],
                                  ["check", "--max-rate", "failure=100"]])
def test_table_output_into_a_closed_pipe_exits_0(tmp_path: Path, args: list[str]) -> None:
    # Rich's own answer to a closed pipe is SystemExit(1), which reads as a check breach.
    log = tmp_path / "big.jsonl"
    log.write_bytes(EXAMPLE.read_bytes() * 3)
    proc = subprocess.Popen([sys.executable, "-m", "txdiag", args[0], str(log), *args[1:]],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read() if proc.stderr else b""
    assert proc.wait(timeout=60) == ExitCode.OK, err
    assert b"Traceback" not in err


FLIPPED = ('{"ts":"2026-11-11T00:00:04Z","txn_id":"T3","status":"failed","code":"51",'
           '"status":"success"}')


@pytest.mark.parametrize("command", ["summary", "diagnose", "check", "watch"])
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_status_given_twice_is_unreadable_not_believed(tmp_path: Path, command: str,
                                                         jobs: str) -> None:
    log = tmp_path / "flipped.jsonl"
    log.write_text("\n".join([GOOD, FLIPPED, GOOD, ""] * 300) + "\n", encoding="utf-8")
    _, result = run_clean(command, log, jobs)
    counted = totals(result.stdout)
    assert counted["records"] == 600
    assert counted["unreadable"] == 300
    assert counted["records"] + counted["unreadable"] + counted["blank_lines"] == 1200
    if command in ("summary", "watch"):
        document = json.loads(result.stdout)
        assert document["unreadable"]["by_cause"] == {"duplicate_key": 300}
        example = document["unreadable"]["examples"][0]
        assert (example["line"], example["detail"]) == (2, "key 'status' given twice")
    elif command == "diagnose":
        assert "flipped.jsonl:2: unreadable (duplicate_key: key 'status' given twice)" in (
            result.stderr)
        assert all(f["txn_id"] != "T3" for f in json.loads(result.stdout)["findings"])


@pytest.mark.parametrize(("name", "text"), [
    ("flipped.csv", "ts,txn_id,status,code,status\n"
     + "2026-11-11T00:00:01Z,T1,failed,51,\n2026-11-11T00:00:02Z,T2,failed,51,success\n" * 3000),
    ("flipped.log", "ts=2026-11-11T00:00:01Z txn_id=T1 status=failed code=51\n"
     "ts=2026-11-11T00:00:02Z txn_id=T2 status=failed code=51 status=success\n" * 3000),
])
@pytest.mark.parametrize("command", ["summary", "diagnose"])
def test_a_status_given_twice_in_csv_or_logfmt_is_unreadable(tmp_path: Path, name: str,
                                                             text: str, command: str) -> None:
    # (summary folds CSV chunks after the first on its fast path: it must find what the plain
    # reader finds, so the file spans several chunks)
    log = tmp_path / name
    log.write_text(text, encoding="utf-8")
    _, result = run_clean(command, log, "1")
    counted = totals(result.stdout)
    assert (counted["records"], counted["unreadable"]) == (3000, 3000)
    if command == "summary":
        assert json.loads(result.stdout)["unreadable"]["by_cause"] == {"duplicate_key": 3000}


@pytest.mark.parametrize(("profile", "line", "amount"), [
    ("wechatpay", '{"out_trade_no":"W1","trade_state":"PAYERROR","err_code":"NOTENOUGH",'
                  '"total_fee":1999,"fee_type":"CNY"}', "19.99"),
    ("unionpay", '{"orderId":"U1","respCode":"51","txnAmt":"000000012345",'
                 '"txnTime":"20241111000001"}', "123.45"),
    (None, '{"txn_id":"P1","status":"failed","code":"51","total_fee":"100"}', "1.00"),
    (None, '{"txn_id":"P2","status":"failed","code":"51","amount":"100"}', "100"),
])
def test_amounts_in_fen_show_as_yuan(tmp_path: Path, profile: str | None, line: str,
                                     amount: str) -> None:
    log = tmp_path / "fen.jsonl"
    log.write_text(line + "\n", encoding="utf-8")
    chosen = ["--profile", profile] if profile else []
    result = run("diagnose", str(log), "-f", "json", *chosen)
    assert result.exit_code == ExitCode.OK, result.stderr
    finding = json.loads(result.stdout)["findings"][0]
    assert finding["amount"] == amount
    # The streamed outputs build their rows from the fields as read, not from the model.
    streamed = run("diagnose", str(log), "-f", "jsonl", *chosen)
    assert json.loads(streamed.stdout.splitlines()[0])["amount"] == amount


def test_report_sums_amounts_in_fen_as_yuan(tmp_path: Path) -> None:
    log = tmp_path / "fen.jsonl"
    log.write_text(
        '{"out_trade_no":"W9","trade_state":"USERPAYING","total_fee":1999,"fee_type":"CNY"}\n'
        '{"out_trade_no":"W8","return_code":"FAIL","return_msg":"SYSTEMERROR timeout",'
        '"total_fee":500,"fee_type":"CNY"}\n', encoding="utf-8")
    result = run("report", str(log), "--profile", "wechatpay", "-f", "markdown")
    assert result.exit_code == ExitCode.OK, result.stderr
    assert "| wechatpay | 2 | 24.99 CNY | 0 |" in result.stdout
