"""Issue 13's lost-input cases: the detector reads many lines, one bad line never loses a file,
and every line is a record, unreadable or blank. Through the real command (summary and
diagnose take different paths through the readers)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from txdiag.cli.app import app
from txdiag.exitcodes import ExitCode
from txdiag.formats import detect_format
from txdiag.readers import InputFormat

ROOT = Path(__file__).resolve().parent.parent
JSONL = (ROOT / "examples" / "transactions.jsonl").read_bytes().splitlines()[:60]
CSV = (ROOT / "examples" / "transactions.csv").read_bytes().replace(b"\r\n", b"\n")
CSV_ROWS = CSV.count(b"\n") - 1


def totals(path: Path, *args: str, command: str = "summary") -> dict[str, Any]:
    result = CliRunner().invoke(app, [command, str(path), "-f", "json", "-q", *args],
                                catch_exceptions=False)
    assert result.exit_code == ExitCode.OK, result.stderr
    found: dict[str, Any] = json.loads(result.stdout)["totals"]
    return found


def lines_in(data: bytes) -> int:
    return data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)


def accounted(found: dict[str, Any], data: bytes, headers: int = 0) -> None:
    assert found["records"] + found["unreadable"] + found["blank_lines"] + found[
        "attached_lines"] + headers == lines_in(data)


CASES = {
    "cut_first_line": b"\n".join([JSONL[0][25:], *JSONL[1:]]) + b"\n",
    "two_objects_on_line_1": b"\n".join([b"{}{}", *JSONL[1:]]) + b"\n",
    "truncated_first_line": b"\n".join([JSONL[0][:-9], *JSONL[1:]]) + b"\n",
    "first_record_over_1_mib": b"\n".join(
        [b'{"txn_id":"T0","msg":"' + b"x" * (1 << 20) + b'"}', *JSONL[1:]]) + b"\n",
    "nul_padding_inside": b"\n".join([*JSONL[:5], b"\x00" * 5000, *JSONL[5:]]) + b"\n",
    "nul_padding_first": b"\x00" * 300 + b"\n" + b"\n".join(JSONL[1:]) + b"\n",
    "mid_file_bom": b"\n".join([*JSONL[:5], b"\xef\xbb\xbf" + JSONL[5], *JSONL[6:]]) + b"\n",
}
UNREADABLE = {"cut_first_line": 1, "two_objects_on_line_1": 1, "truncated_first_line": 1,
              "first_record_over_1_mib": 1, "nul_padding_inside": 1, "nul_padding_first": 1,
              "mid_file_bom": 0}


@pytest.mark.parametrize("command", ["summary", "diagnose"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_one_bad_line_never_loses_the_file(tmp_path: Path, case: str, command: str) -> None:
    path = tmp_path / "app.jsonl"
    path.write_bytes(CASES[case])
    found = totals(path, command=command)
    assert found["unreadable"] == UNREADABLE[case]
    assert found["records"] == len(JSONL) - 1 + (case == "nul_padding_inside") + (
        case == "mid_file_bom")
    accounted(found, CASES[case])


def test_cut_first_line_from_stdin_is_jsonl_not_csv() -> None:
    data = CASES["cut_first_line"]
    result = CliRunner().invoke(app, ["summary", "-", "-f", "json"], input=data,
                                catch_exceptions=False)
    assert "as jsonl" in result.stderr
    assert json.loads(result.stdout)["totals"]["records"] == len(JSONL) - 1


@pytest.mark.parametrize("command", ["summary", "diagnose"])
def test_lone_cr_line_ends(tmp_path: Path, command: str) -> None:
    logfmt = tmp_path / "cr.log"
    logfmt.write_bytes(b"\r".join(b"ts=2026-11-11T00:00:0%d status=failed code=51 txn_id=T%d"
                                  % (i, i) for i in range(3)) + b"\r")
    assert totals(logfmt, command=command)["records"] == 3
    csv_file = tmp_path / "cr.csv"
    csv_file.write_bytes(CSV.replace(b"\n", b"\r"))
    assert totals(csv_file, command=command)["records"] == CSV_ROWS


@pytest.mark.parametrize("command", ["summary", "diagnose"])
def test_two_csv_files_concatenated(tmp_path: Path, command: str) -> None:
    path = tmp_path / "two.csv"
    data = CSV + b"\xef\xbb\xbf" + CSV
    path.write_bytes(data)
    found = totals(path, command=command)
    assert found["records"] == 2 * CSV_ROWS  # the second header is no failed transaction
    assert found["unreadable"] == 1
    accounted(found, data, headers=1)


@pytest.mark.parametrize(("delimiter", "fmt"), [(";", "csv"), ("|", "csv"), ("\t", "tsv")])
def test_delimiters_detected_and_given(tmp_path: Path, delimiter: str, fmt: str) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(CSV.replace(b",", delimiter.encode()))
    result = CliRunner().invoke(app, ["summary", str(path), "-f", "json"],
                                catch_exceptions=False)
    assert f"as {fmt}" in result.stderr
    assert json.loads(result.stdout)["totals"]["records"] == CSV_ROWS
    given = "tab" if delimiter == "\t" else delimiter
    assert totals(path, "--delimiter", given)["records"] == CSV_ROWS
    assert totals(path, "--delimiter", given, command="diagnose")["records"] == CSV_ROWS


def test_delimiter_must_be_one_character() -> None:
    result = CliRunner().invoke(app, ["summary", "x.csv", "--delimiter", ";;"])
    assert result.exit_code == ExitCode.USAGE


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32"])
def test_utf16_and_utf32_with_encoding(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "wide.jsonl"
    path.write_bytes((b"\n".join(JSONL).decode() + "\n").encode(encoding))
    assert totals(path, "--encoding", encoding)["records"] == len(JSONL)
    assert totals(path, "--encoding", encoding, command="diagnose")["records"] == len(JSONL)


def test_gbk_jsonl_needs_only_the_encoding(tmp_path: Path) -> None:
    path = tmp_path / "gbk.jsonl"
    lines = [json.dumps({"txn_id": f"T{i}", "status": "failed", "msg": "余额不足"},
                        ensure_ascii=False).encode("gbk") for i in range(5)]
    path.write_bytes(b"\n".join(lines) + b"\n")
    assert totals(path, "--encoding", "gbk")["records"] == 5


@pytest.mark.parametrize(("sample", "expected"), [
    (b'{"a": 1,\n "records": [{"b": 2}]\n}\n', InputFormat.JSON),  # an object over lines
    (b'{"records": [\n{"a":1},\n{"a":2}\n]}\n', InputFormat.JSON),
    (b"[2026-11-11 00:00:01] ERROR: txn T1 failed (code 51)\n", InputFormat.TEXT),
    (b'[{"a": 1}]', InputFormat.JSON),
    (b'{"data": [{"a": 1}, ' + b'{"a": 1}, ' * 10000, InputFormat.JSON),  # over the sample
    (b'{"msg": "' + b"x" * 70000, InputFormat.JSONL),  # one long record over the sample
])
def test_detector_cases(sample: bytes, expected: InputFormat) -> None:
    assert detect_format(sample[:1 << 16]).format is expected


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a FIFO")
def test_five_lines_into_a_fifo_then_ctrl_c(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    proc = subprocess.Popen([sys.executable, "-m", "txdiag", "summary", str(fifo), "-f", "json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with open(fifo, "wb") as writer:
        writer.write(b"\n".join(JSONL[:5]) + b"\n")
        writer.flush()
        time.sleep(2)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == ExitCode.INTERRUPTED, err
    assert json.loads(out)["totals"]["records"] == 5
    assert b"Traceback" not in err


def test_unionpay_txn_time_is_a_time_not_milliseconds(tmp_path: Path) -> None:
    path = tmp_path / "unionpay.jsonl"
    path.write_text('{"txnTime":"20241111000001","respCode":"51","orderId":"T1"}\n',
                    encoding="utf-8")
    result = CliRunner().invoke(app, ["diagnose", str(path), "--profile", "unionpay", "-f",
                                      "jsonl", "--assume-tz", "+08:00"], catch_exceptions=False)
    assert json.loads(result.stdout)["timestamp"] == "2024-11-11T00:00:01+08:00"


@pytest.mark.parametrize(("command", "extra"), [("summary", []), ("diagnose", []),
                                                ("check", ["--max-rate", "failure=100"])])
def test_a_file_truncated_while_it_is_read_is_reported_partial(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str, extra: list[str]) -> None:
    import txdiag.pipeline

    path = tmp_path / "app.jsonl"
    path.write_bytes(b"\n".join(JSONL * 20) + b"\n")
    opened_by = txdiag.pipeline.Pipeline.open

    def open_then_truncate(self: Any, name: str, ledger: Any = None) -> Any:
        found = opened_by(self, name, ledger)
        os.truncate(name, 70000)  # as a copytruncate rotation does, while it is read
        return found

    monkeypatch.setattr(txdiag.pipeline.Pipeline, "open", open_then_truncate)
    result = CliRunner().invoke(app, [command, str(path), "-f", "json", *extra],
                                catch_exceptions=False)
    assert f"{path}: partial: the file shrank from" in result.stderr
    document = json.loads(result.stdout)
    assert document["complete"] is False
    if command != "check":
        assert document["stopped"] == "truncated"
