"""``summary`` lists the top unknown-failure templates: counted, bounded, masked, printed safely."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from txdiag.aggregate import Summary
from txdiag.cli.app import app
from txdiag.fold import SummaryFold
from txdiag.pipeline import Pipeline
from txdiag.rulebook import Rulebook

FORMATS = ("table", "json", "jsonl", "csv", "markdown")
PHONE = "13812345678"
CARD = "6222021234567890128"  # Luhn-valid
MARKUP = "[bold]x[/bold]"


def run(*args: str, columns: int = 200) -> Result:
    return CliRunner().invoke(app, list(args), catch_exceptions=False,
                              env={"COLUMNS": str(columns)})


def write(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                    encoding="utf-8")
    return path


def sample(tmp_path: Path) -> Path:
    """30 + 20 + 10 failures no rule explains, in three templates, among others."""
    records: list[dict[str, Any]] = []
    for n in range(30):
        records.append({"txn_id": f"A{n}", "status": "failed", "channel": "baitiao",
                        "msg": f"ERR_4711 ledger mismatch for order {88000 + n * 7} "
                               f"in batch {n % 9}"})
        records.append({"txn_id": f"S{n}", "status": "success", "channel": "alipay"})
        records.append({"txn_id": f"K{n}", "status": "failed", "channel": "iso8583",
                        "resp_code": "51"})
    records.extend({"txn_id": f"B{n}", "status": "failed", "channel": "bank-gw", "code": "ZZ91",
                    "msg": f"settlement worker T2026111100{n:04d}99 stuck on 'pay-core' "
                           f"trace={0x5f2a9c1d8e7b6a54 + n * 4099:016x}"} for n in range(20))
    records.extend({"txn_id": f"C{n}", "status": "failed", "channel": "baitiao",
                    "msg": f"对账差异 用户{PHONE[:-2]}{n:02d} 卡{CARD} 金额{100 + n}.50元"}
                   for n in range(10))
    return write(tmp_path / "unknown.jsonl", records)


def test_templates_group_messages_that_differ_in_numbers_and_ids(tmp_path: Path) -> None:
    result = run("summary", str(sample(tmp_path)), "-f", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    mined = data["unknown_templates"]
    assert [(t["channel"], t["code"], t["template"], t["count"]) for t in mined["templates"]] == [
        ("baitiao", "(none)", "ERR_4711 ledger mismatch for order <num> in batch <num>", 30),
        ("bank-gw", "ZZ91", "settlement worker <id> stuck on <str> trace=<hex>", 20),
        ("baitiao", "(none)", "对账差异 用户<masked> 卡<masked> 金额<num>元", 10),
    ]
    # the first message of each template is its example
    assert mined["templates"][0]["example"] == "ERR_4711 ledger mismatch for order 88000 in batch 0"
    assert mined["templates"][1]["example"].startswith("settlement worker T2026111100000099 ")
    assert (mined["failures"], mined["distinct"], mined["capped"], mined["overflow"]) == (
        60, 3, False, 0)
    # counts add up to the failures no rule explains (and only those: not the known code 51)
    no_match = {r["reason"]: r["count"] for r in data["top_reasons"]}["unknown.no_match"]
    assert sum(t["count"] for t in mined["templates"]) == no_match == 60
    assert mined["templates"][0]["share_of_unknown"] == 0.5


def test_top_limits_the_templates_listed(tmp_path: Path) -> None:
    data = json.loads(run("summary", str(sample(tmp_path)), "-f", "json", "--top", "1").stdout)
    assert [t["count"] for t in data["unknown_templates"]["templates"]] == [30]
    assert data["unknown_templates"]["distinct"] == 3


def test_no_unknown_failures_no_templates(tmp_path: Path) -> None:
    path = write(tmp_path / "known.jsonl", [
        {"txn_id": "T1", "status": "failed", "channel": "iso8583", "resp_code": "51"},
        {"txn_id": "T2", "status": "pending", "channel": "wechatpay", "code": "USERPAYING"},
    ])
    data = json.loads(run("summary", str(path), "-f", "json").stdout)
    assert data["unknown_templates"] == {"failures": 0, "distinct": 0, "max_templates": 1000,
                                         "capped": False, "overflow": 0, "templates": []}
    assert "unknown failures" not in run("summary", str(path)).stdout
    assert "unknown failure template" not in run("summary", str(path), "-f", "markdown").stdout


def test_the_cap_bounds_memory_and_is_reported(rulebook: Rulebook, tmp_path: Path) -> None:
    # 500 templates (an order code of its own in each message), cap 50
    path = write(tmp_path / "many.jsonl", [
        {"txn_id": f"T{n}", "status": "failed", "channel": "baitiao",
         "msg": f"batch code{n % 500} mismatch {n}"} for n in range(2000)])
    summary = Summary(max_templates=50)
    SummaryFold(Pipeline(rulebook), summary).run([str(path)])
    miner = summary.templates
    assert len(miner.counts) == len(miner.examples) == 50
    assert miner.capped and miner.overflow == 2000 - 50 * 4
    assert miner.failures == 2000 == summary.by_reason["unknown.no_match"]
    # the CLI's cap, reported in every format
    path = write(tmp_path / "more.jsonl", [
        {"txn_id": f"T{n}", "status": "failed", "channel": "baitiao",
         "msg": f"batch code{n} mismatch"} for n in range(1100)])
    data = json.loads(run("summary", str(path), "-f", "json").stdout)["unknown_templates"]
    assert (data["distinct"], data["capped"], data["overflow"]) == (1000, True, 100)
    assert "Template cap reached (1,000 kept): 100 failures" in run("summary", str(path)).stdout
    assert "Template cap reached" in run("summary", str(path), "-f", "markdown").stdout
    rows = list(csv.reader(io.StringIO(run("summary", str(path), "-f", "csv").stdout)))
    assert ["template_overflow", "", "unknown", "100", ""] in rows


@pytest.mark.parametrize("fmt", FORMATS)
def test_personal_data_never_in_templates_or_examples(tmp_path: Path, fmt: str) -> None:
    result = run("summary", str(sample(tmp_path)), "-f", fmt, "--top", "50")
    assert result.exit_code == 0, result.stderr
    squeezed = re.sub(r"[\s\-]+", "", result.stdout)
    assert CARD not in squeezed and PHONE[:-2] not in squeezed
    assert "<masked>" in result.stdout  # the template is there
    if fmt != "csv":  # CSV rows have no room for an example
        assert "622202*********0128" in result.stdout  # and its masked example


def test_no_mask_shows_the_raw_example_but_never_a_raw_template(tmp_path: Path) -> None:
    result = run("summary", str(sample(tmp_path)), "-f", "json", "--no-mask")
    (row,) = [t for t in json.loads(result.stdout)["unknown_templates"]["templates"]
              if t["template"].startswith("对账差异")]
    assert row["example"] == f"对账差异 用户{PHONE[:-2]}00 卡{CARD} 金额100.50元"
    assert row["template"] == "对账差异 用户<masked> 卡<masked> 金额<num>元"


@pytest.mark.parametrize("mask", [[], ["--no-mask"]])
@pytest.mark.parametrize("columns", [200, 60])
def test_markup_and_escapes_print_literally(tmp_path: Path, mask: list[str],
                                            columns: int) -> None:
    path = write(tmp_path / "markup.jsonl", [
        {"txn_id": "T1", "status": "failed", "channel": "baitiao",
         "msg": f"{MARKUP} odd \x1b[31mstate\x1b[0m 42 bell\x07"}])
    for fmt in ("table", "markdown", "csv"):
        out = run("summary", str(path), "-f", fmt, *mask, columns=columns).stdout
        assert "\x1b" not in out and "\x07" not in out
        assert MARKUP in out  # never read as Rich markup
        if fmt == "table":
            assert "Top unknown failures" in out
            assert "[bold]x[/bold] odd state" in out
        if mask and fmt != "csv":  # the raw example: its escapes shown, not acted on
            assert "\\x1b[31mstate" in out and "\\x07" in out
    data = json.loads(run("summary", str(path), "-f", "json", *mask).stdout)
    (row,) = data["unknown_templates"]["templates"]
    assert row["template"] == "[bold]x[/bold] odd state <num> bell\x07"  # JSON escapes it
    if mask:
        assert row["example"] == f"{MARKUP} odd \x1b[31mstate\x1b[0m 42 bell\x07"
    else:
        assert "\x1b" not in row["example"] and MARKUP in row["example"]


def test_a_summary_that_shows_no_templates_mines_none(rulebook: Rulebook,
                                                      tmp_path: Path) -> None:
    # diagnose and check keep a summary for their totals but never show templates: they skip
    # the templating of every unexplained message, on the plain path and the fast one.
    path = sample(tmp_path)
    for mine in (True, False):
        plain = Summary(mine_templates=mine)
        for event in Pipeline(rulebook).run([str(path)]):
            plain.add(event)
        folded = Summary(mine_templates=mine)
        SummaryFold(Pipeline(rulebook), folded).run([str(path)])
        for summary in (plain, folded):
            assert summary.failures > 0
            assert bool(summary.templates.failures) is mine
