"""Every input format, compression and encoding gives the same answers; edge cases are exact."""

from __future__ import annotations

import bz2
import csv
import gzip
import importlib.util
import io
import json
import lzma
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from txdiag.cli.app import app
from txdiag.exitcodes import ExitCode
from txdiag.formats import _LOGFMT_PAIR, parse_logfmt

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, stdin: bytes | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args), input=stdin, catch_exceptions=False)


def summary(*args: str) -> dict[str, Any]:
    result = run("summary", *args, "-f", "json", "-q")
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def generator() -> Any:
    spec = importlib.util.spec_from_file_location("gen_logs", ROOT / "benchmarks" / "gen_logs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def same_records(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same 1,500 generated records written in every format and compression."""
    gen = generator()
    folder = tmp_path_factory.mktemp("formats")
    args = gen.argparse.Namespace(records=1500, seed=11, failure_rate=0.6, hours=2.0,
                                  incident=True, format="csv")
    text = io.StringIO()
    gen.generate(args, text)
    reader = csv.DictReader(io.StringIO(text.getvalue()))
    rows = [{k: v for k, v in row.items() if v} for row in reader]
    files: dict[str, Path] = {}

    def put(name: str, data: bytes) -> None:
        files[name] = folder / name
        files[name].write_bytes(data)

    csv_bytes = text.getvalue().encode("utf-8")
    jsonl = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")
    put("t.csv", csv_bytes)
    put("t.jsonl", jsonl)
    put("t.json", json.dumps({"code": 0, "data": {"items": rows}}, ensure_ascii=False,
                             indent=1).encode("utf-8"))
    put("t.array.json", json.dumps(rows, ensure_ascii=False).encode("utf-8"))
    logfmt = io.StringIO()
    args.format = "logfmt"
    gen.generate(args, logfmt)
    put("t.logfmt", logfmt.getvalue().encode("utf-8"))
    tsv = io.StringIO()
    writer = csv.writer(tsv, delimiter="\t", lineterminator="\n")
    header = list(csv.DictReader(io.StringIO(text.getvalue())).fieldnames or [])
    writer.writerow(header)
    for r in rows:
        writer.writerow([r.get(k, "") for k in header])
    put("t.tsv", tsv.getvalue().encode("utf-8"))
    put("t.jsonl.gz", gzip.compress(jsonl))
    put("t.csv.bz2", bz2.compress(csv_bytes))
    put("t.logfmt.xz", lzma.compress(logfmt.getvalue().encode("utf-8")))
    put("t.crlf.bom.jsonl", b"\xef\xbb\xbf" + jsonl.replace(b"\n", b"\r\n").rstrip(b"\r\n"))
    put("t.gb18030.csv", text.getvalue().encode("gb18030"))
    return files


EXPECTED_FORMAT = {
    "t.csv": "csv", "t.jsonl": "jsonl", "t.json": "json", "t.array.json": "json",
    "t.logfmt": "logfmt", "t.tsv": "tsv", "t.jsonl.gz": "jsonl", "t.csv.bz2": "csv",
    "t.logfmt.xz": "logfmt", "t.crlf.bom.jsonl": "jsonl",
}


def comparable(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != "inputs"}


def test_same_records_same_summary_in_every_format(same_records: dict[str, Path]) -> None:
    reference = summary(str(same_records["t.jsonl"]))
    assert reference["totals"]["records"] == 1500
    assert reference["totals"]["unreadable"] == 0
    for name, fmt in EXPECTED_FORMAT.items():
        data = summary(str(same_records[name]))
        assert data["inputs"][0]["format"] == fmt, name
        assert comparable(data) == comparable(reference), name


def test_compression_is_reported(same_records: dict[str, Path]) -> None:
    assert summary(str(same_records["t.csv.bz2"]))["inputs"][0]["compression"] == "bz2"


def test_gb18030_needs_the_encoding_and_gets_a_hint(same_records: dict[str, Path]) -> None:
    path = str(same_records["t.gb18030.csv"])
    wrong = run("summary", path, "-f", "json")
    assert "pass --encoding gb18030" in wrong.stderr
    assert json.loads(wrong.stdout)["unreadable"]["by_cause"]["bad_encoding"] > 0
    right = summary(path, "--encoding", "gb18030")
    assert right["by_category"] == summary(str(same_records["t.csv"]))["by_category"]


def test_many_inputs_merge_and_keep_their_sources(same_records: dict[str, Path]) -> None:
    data = summary(str(same_records["t.jsonl"]), str(same_records["t.csv"]))
    assert data["totals"]["records"] == 3000
    assert [i["format"] for i in data["inputs"]] == ["jsonl", "csv"]


def test_stdin_compressed(same_records: dict[str, Path]) -> None:
    result = run("summary", "-", "-f", "json", "-q",
                 stdin=same_records["t.jsonl.gz"].read_bytes())
    assert json.loads(result.stdout)["inputs"][0] == {
        "name": "<stdin>", "format": "jsonl", "compression": "gzip", "encoding": "utf-8",
        "lines": 1500, "blank_lines": 0}


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, str):
        text = text.encode("utf-8")
    path.write_bytes(text)
    return path


def rows(*args: str) -> list[dict[str, Any]]:
    result = run("diagnose", *args, "-f", "jsonl", "-q")
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_json_document_records_path_and_line_numbers(tmp_path: Path) -> None:
    doc = write(tmp_path / "page.json", '{"meta": {"items": [1]},\n "data": {"items": [\n'
                '  {"txn_id": "A", "code": "51", "channel": "iso8583"},\n'
                '  {"txn_id": "B", "status": "success"},\n  7\n]}}\n')
    found = rows(str(doc), "--records-path", "data.items")
    assert [(r["txn_id"], r["source"]["line"]) for r in found] == [("A", 3)]
    data = summary(str(doc), "--records-path", "data.items")
    assert data["totals"]["records"] == 2 and data["unreadable"]["by_cause"] == {
        "not_an_object": 1}
    # automatically: meta.items holds no objects, so it is skipped
    assert summary(str(doc))["totals"]["records"] == 2
    missing = run("summary", str(doc), "--records-path", "data.nothing")
    assert missing.exit_code == ExitCode.INPUT and "no records" in missing.stderr


def test_json_document_cut_short_keeps_what_came_before(tmp_path: Path) -> None:
    doc = write(tmp_path / "cut.json", '[{"txn_id": "A", "code": "51"}, {"txn_id": "B", "co')
    data = summary(str(doc))
    assert data["totals"]["records"] == 1 and data["totals"]["unreadable"] == 1


def test_json_too_deep_is_an_input_error(tmp_path: Path) -> None:
    doc = write(tmp_path / "deep.json", "[" + "[" * 100000 + "]" * 100000 + "]")
    result = run("summary", str(doc))
    assert result.exit_code == ExitCode.INPUT and "nested too deeply" in result.stderr
    assert result.stdout == ""


def test_logfmt_quotes_and_chinese(tmp_path: Path) -> None:
    log = write(tmp_path / "a.log", 'ts=2026-11-11T00:00:01Z txn_id=L1 channel=unionpay '
                'respCode=03 respMsg="交易通讯超时，请发起查询交易"\n'
                "txn_id=L2 msg='say \\'hi\\'' code=E9 channel=x\n")
    found = rows(str(log))
    assert found[0]["error_message"] == "交易通讯超时，请发起查询交易"
    assert found[0]["retryable"] == "query_first"
    assert found[1]["error_message"] == "say 'hi'"


def test_text_with_stack_trace_attached(tmp_path: Path) -> None:
    log = write(tmp_path / "gw.log", (
        "2026-11-11 00:00:01.123 ERROR [pay-gateway] txn=T00001 channel=iso8583 code=51 "
        'msg="Not sufficient funds"\n'
        "2026-11-11 00:00:02.001 INFO [pay-gateway] txn=T00002 code=00 msg=Approved\n"
        "2026-11-11 00:00:03,250 [exec-3] ERROR com.pay.BankClient - txn=T00003 payment failed\n"
        "java.lang.RuntimeException: bank call failed\n"
        "\tat com.pay.BankClient.call(BankClient.java:88)\n"
        "Caused by: java.net.SocketTimeoutException: Read timed out\n"
        "\t... 12 more\n"
        "garbage that matches nothing\n"
    ))
    data = summary(str(log))
    assert data["totals"] == {"records": 3, "successes": 1, "failures": 2, "unreadable": 1,
                              "blank_lines": 0, "attached_lines": 4, "filtered_out": 0}
    found = {r["txn_id"]: r for r in rows(str(log))}
    assert found["T00001"]["reason"] == "balance.insufficient_funds"
    assert found["T00003"]["reason"] == "network.read_timeout"
    assert found["T00003"]["source"]["line"] == 3


def test_user_text_template_from_config(tmp_path: Path) -> None:
    config = write(tmp_path / "c.toml", "[templates.mine]\n"
                   r"pattern = '^(?P<ts>\S+ \S+) (?P<level>[EW]) (?P<txn_id>\S+) "
                   r"(?P<code>\S+) (?P<msg>.*)$'" "\n")
    log = write(tmp_path / "mine.log", "2026-11-11 00:00:01 E T9 51 余额不足\n")
    found = rows(str(log), "--config", str(config))
    assert (found[0]["txn_id"], found[0]["reason"]) == ("T9", "balance.insufficient_funds")
    bad = write(tmp_path / "bad.toml", "[templates.x]\n" r"pattern = '(?P<a>x)\1'" "\n")
    result = run("summary", str(log), "--config", str(bad))
    assert result.exit_code == ExitCode.USAGE and "template 'x'" in result.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x00\x01\x02binary" * 100, "binary data"),
        ('{"a": 1}\n'.encode("utf-16"), "UTF-16"),
        (b"just some words\n", "cannot tell the input format"),
    ],
)
def test_refused_inputs_exit_3_with_nothing_on_stdout(tmp_path: Path, content: bytes,
                                                      message: str) -> None:
    result = run("summary", str(write(tmp_path / "x", content)), "-f", "json")
    assert result.exit_code == ExitCode.INPUT
    assert message in json.loads(result.stderr)["error"]
    assert result.stdout == ""


def test_empty_input_says_so(tmp_path: Path) -> None:
    result = run("summary", str(write(tmp_path / "empty.jsonl", b"")))
    assert result.exit_code == 0
    assert "No records found" in result.stdout
    assert "no records found" in result.stderr


def test_since_until(tmp_path: Path) -> None:
    log = write(tmp_path / "t.jsonl", "".join(
        json.dumps({"ts": f"2026-11-11T0{h}:00:00+08:00", "txn_id": f"T{h}", "code": "51"}) + "\n"
        for h in range(6)) + '{"txn_id": "no-time", "code": "51"}\n')
    data = summary(str(log), "--since", "2026-11-11T02:00:00+08:00",
                   "--until", "2026-11-11 04:00:00", "--assume-tz", "+08:00")
    assert data["totals"]["records"] == 2 and data["totals"]["filtered_out"] == 5
    bad = run("summary", str(log), "--since", "yesterday-ish")
    assert bad.exit_code == ExitCode.USAGE


def test_profiles_and_maps(tmp_path: Path) -> None:
    log = write(tmp_path / "ali.jsonl", json.dumps({
        "alipay_trade_pay_response": {"code": "40004", "msg": "Business Failed",
                                      "sub_code": "ACQ.BUYER_BALANCE_NOT_ENOUGH",
                                      "sub_msg": "买家余额不足", "out_trade_no": "A1"},
        "sign": "abc"}) + "\n")
    found = rows(str(log), "--profile", "alipay")
    assert (found[0]["txn_id"], found[0]["channel"], found[0]["error_code"]) == (
        "A1", "alipay", "ACQ.BUYER_BALANCE_NOT_ENOUGH")
    assert found[0]["evidence"]["level"] == "channel_code"
    assert [c["value"] for c in found[0]["evidence"]["codes"]] == [
        "ACQ.BUYER_BALANCE_NOT_ENOUGH", "40004"]
    nested = write(tmp_path / "n.jsonl", '{"r": {"c": "51"}, "ch": "iso8583", "id": "N1"}\n')
    found = rows(str(nested), "-m", "error_code=r.c", "-m", "channel=ch")
    assert found[0]["reason"] == "balance.insufficient_funds"
    assert run("summary", str(nested), "-m", "nonsense").exit_code == ExitCode.USAGE
    assert run("summary", str(nested), "-p", "nope").exit_code == ExitCode.USAGE


def test_config_init_show_roundtrip(tmp_path: Path) -> None:
    path = tmp_path / "cfg" / "config.toml"
    assert run("config", "init", "--path", str(path)).exit_code == 0
    assert run("config", "init", "--path", str(path)).exit_code == ExitCode.USAGE
    shown = run("config", "show", "--config", str(path), "-f", "json")
    data = json.loads(shown.stdout)
    assert data["config_file"] == str(path)
    assert "gateway" in data["profiles"] and "alipay" in data["builtin_profiles"]
    log = write(tmp_path / "g.jsonl", '{"data": {"order_id": "G1", "result": {"code": "X", '
                '"sub_code": "51", "msg": "余额不足"}}, "status": "P"}\n')
    found = rows(str(log), "--config", str(path), "-p", "gateway")
    assert (found[0]["txn_id"], found[0]["channel"], found[0]["reason"]) == (
        "G1", "unionpay", "unknown.pending")
    broken = write(tmp_path / "broken.toml", "[defaults]\nlang = 'fr'\n")
    result = run("summary", str(log), "--config", str(broken))
    assert result.exit_code == ExitCode.USAGE and "defaults.lang" in result.stderr


def _logfmt_by_general_pattern(line: str) -> dict[str, str] | None:
    """What parse_logfmt gave before its quote-free shortcut: every line through the pattern
    with quoted alternatives (escapes only matter inside quotes)."""
    pairs = _LOGFMT_PAIR.findall(line)
    return {key: dq or sq or bare for key, dq, sq, bare in pairs} if pairs else None


_LOGFMT_ALPHABET = list("ab=_- \t\\.:é中0\x0b\x1c\x85\xa0\u3000")  # unicode spaces too


@given(st.text(alphabet=st.sampled_from(_LOGFMT_ALPHABET), max_size=40))
def test_logfmt_lines_without_quotes_parse_as_the_general_pattern_does(line: str) -> None:
    assert parse_logfmt(line) == _logfmt_by_general_pattern(line)


@pytest.mark.parametrize("line", ["a=1 a=2", "=x b=", "k==v", "x a=b=c", "a=it\\'s", "a=\\n b=c"])
def test_logfmt_shortcut_edge_cases(line: str) -> None:
    assert parse_logfmt(line) == _logfmt_by_general_pattern(line)


@pytest.mark.parametrize(("line", "txn_id"), [
    # the docs' own examples (docs/formats.md): short ids after txn= and order_no=
    ("2026-11-11 00:00:01,123 [http-nio-8080-exec-3] ERROR com.pay.BankClient - txn=T3 "
     "payment failed", "T3"),
    ("[2026-11-11 00:00:05] ERROR: order_no=T5 系统繁忙，请稍后再试", "T5"),
    ("[2026-11-11 00:00:05] ERROR: order_no: ORD-1234 declined code=05", "ORD-1234"),
    ("2026-11-11 00:00:01,123 [main] ERROR com.pay.Gateway - out_trade_no=2026X1 failed",
     "2026X1"),
    ("[2026-11-11 00:00:01] ERROR: txn T1 failed (code 51): 余额不足", "T1"),
    ("[2026-11-11 00:00:01] ERROR: order failed (code 51): 余额不足", None),
])
@pytest.mark.parametrize("command", ["diagnose", "summary"])
def test_text_logs_keep_transaction_ids(tmp_path: Path, line: str, txn_id: str | None,
                                        command: str) -> None:
    log = tmp_path / "app.log"
    log.write_text(line + "\n", encoding="utf-8")
    if command == "diagnose":
        result = run("diagnose", str(log), "-f", "jsonl", "-q")
        assert json.loads(result.stdout)["txn_id"] == txn_id
    else:
        assert summary(str(log))["totals"]["records"] == 1
