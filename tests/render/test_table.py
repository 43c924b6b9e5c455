"""The tables people read, at the widths terminals have: golden files, and nothing cut.

Each command is rendered at 80, 100, 120, 160 and 200 columns with colour off and compared with
``tests/data/golden/render/`` (regenerate with ``TXDIAG_UPDATE_GOLDEN=1``). Independently of the
golden files, every identifier (time, id, channel, code, reason) must appear whole on one line,
and every word of every hint and message must be there: nothing wrapped mid-token, nothing lost.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from txdiag.cli.app import app

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "data" / "golden" / "render"
EXAMPLE = "examples/transactions.jsonl"
WIDTHS = (80, 100, 120, 160, 200)
SHOWN = 20


def render(width: int, *args: str) -> str:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False,
                                env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.stderr
    return result.stdout


def tokens(text: str) -> set[str]:
    return set(text.split())


def assert_golden(name: str, text: str) -> None:
    text = "\n".join(line.rstrip() for line in text.splitlines()) + "\n"
    golden = GOLDEN / name
    if os.environ.get("TXDIAG_UPDATE_GOLDEN"):
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8"), f"{name} differs from its golden file"


def assert_fits(text: str, width: int) -> None:
    from rich.cells import cell_len

    assert max(cell_len(line.rstrip()) for line in text.splitlines()) <= width


@pytest.fixture(autouse=True)
def _at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # relative input names: the golden files hold no tmp path


@pytest.fixture(scope="module")
def findings() -> list[dict[str, Any]]:
    out = CliRunner().invoke(app, ["diagnose", EXAMPLE, "-n", str(SHOWN), "-f", "jsonl"],
                             catch_exceptions=False).stdout
    return [json.loads(line) for line in out.splitlines()]


@pytest.fixture(scope="module")
def summary_data() -> dict[str, Any]:
    out = CliRunner().invoke(app, ["summary", EXAMPLE, "-f", "json"],
                             catch_exceptions=False).stdout
    data: dict[str, Any] = json.loads(out)
    return data


@pytest.mark.parametrize("width", WIDTHS)
def test_diagnose_keeps_every_identifier_and_word(width: int,
                                                  findings: list[dict[str, Any]]) -> None:
    out = render(width, "diagnose", EXAMPLE, "-n", str(SHOWN))
    assert_golden(f"diagnose-{width}.txt", out)
    assert_fits(out, width)
    words = tokens(out)
    assert len(findings) == SHOWN
    for f in findings:
        for key in ("timestamp", "txn_id", "channel", "error_code", "reason"):
            if f[key]:
                assert f[key] in words, f"{key} {f[key]!r} cut or lost at {width} columns"
        for word in f["hint"].split():
            assert word in words, f"{word!r} lost at {width} columns"
        if "Messages are left out below" not in out:
            for word in (f["error_message"] or "").split():
                assert word in words, f"{word!r} lost at {width} columns"


def test_diagnose_is_a_table_once_the_identifiers_fit() -> None:
    assert "─" not in render(100, "diagnose", EXAMPLE, "-n", str(SHOWN))  # one block each
    wide = render(120, "diagnose", EXAMPLE, "-n", str(SHOWN))
    assert re.search(r"^ time +txn id +channel +code +reason", wide, re.MULTILINE)
    # Each reason's hint once, under the table, not once per row.
    hint = "Your payment result is being confirmed."
    assert wide.count(hint) == 1 and wide.count("system.internal_error") > 2
    assert "message" in render(160, "diagnose", EXAMPLE, "-n", str(SHOWN)).split("\n")[1]


@pytest.mark.parametrize("width", WIDTHS)
def test_summary_keeps_every_identifier(width: int, summary_data: dict[str, Any]) -> None:
    out = render(width, "summary", EXAMPLE)
    assert_golden(f"summary-{width}.txt", out)
    assert_fits(out, width)
    words = tokens(out)
    for row in summary_data["top_reasons"]:
        assert row["reason"] in words
    for channel, codes in summary_data["top_codes"].items():
        assert channel in words
        for code in codes[:5]:  # the table shows five a channel
            assert (code["code"] or "(none)") in words and code["reason"] in words
    for category in summary_data["by_category"]:
        assert category in words


def test_spikes_are_merged_capped_and_an_empty_baseline_is_said() -> None:
    import io
    from datetime import UTC, datetime, timedelta

    from txdiag.render.console import make_console
    from txdiag.render.table import render_time_view
    from txdiag.spikes import Spike
    from txdiag.timeline import Timeline

    start = datetime(2026, 11, 11, tzinfo=UTC)
    timeline = Timeline(60)
    for minute in range(60):  # busy enough to be judged minute by minute
        for _ in range(25):
            timeline.add(start + timedelta(minutes=minute), "system", "system.busy")

    def spike(minute: int, affected: int, baseline: float = 0.02) -> Spike:
        at = start + timedelta(minutes=minute)
        return Spike(category="system", start=at, end=at + timedelta(minutes=1),
                     peak_rate=0.5, peak_at=at, baseline_rate=baseline, p_value=1e-9,
                     affected=affected, records=100, buckets=1, top_reason="system.busy",
                     top_reason_count=affected, ongoing=False)

    # minutes 0 and 1 touch (one spike); the others stand apart, each smaller than the last
    spikes = [spike(0, 40), spike(1, 40), *(spike(5 * n, 30 - n) for n in range(1, 8)),
              spike(40, 90, baseline=0.0)]
    out = io.StringIO()
    render_time_view(make_console(out, width=100), timeline, spikes, top=3)
    text = out.getvalue()
    lines = [line for line in text.splitlines() if line.startswith("system 2026")]
    assert len(lines) == 3  # the three with the most excess failures, in time order
    assert "00:00:00Z to 2026-11-11T00:02:00Z" in lines[0]
    words = " ".join(text.split())
    assert "(baseline 2.0%), 80 failures" in words  # the two touching windows as one
    assert "00:41:00Z: peak 50.0% of records (baseline 0%: none in the buckets before)" in words
    assert "... and 6 smaller spikes (--top 3" in words
    assert "10 windows" in words


@pytest.mark.parametrize("width", [80, 120])
def test_chinese_tables_name_categories_and_reasons_in_chinese(
        width: int, summary_data: dict[str, Any]) -> None:
    """The ids stay (JSON and filters use them); their Chinese titles are shown beside them."""
    out = render(width, "summary", EXAMPLE, "--lang", "zh")
    assert_fits(out, width)
    words = tokens(out)
    for category in ("余额/额度", "风控", "系统"):
        assert category in words
    assert {"balance.insufficient_funds", "余额不足", "risk_control.issuer_declined",
            "发卡行拒绝交易"} <= words
    rows = render(width, "diagnose", EXAMPLE, "-n", "3", "--lang", "zh")
    assert "余额/额度" in rows or "系统内部错误：" in rows
    assert "系统内部错误：您的支付结果正在确认中" in "".join(rows.split())
