"""``txdiag report``: the report's content, its Markdown (golden), the affected-list CSV, the
command line, and the page's markup (the browser tests are in test_browser.py)."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from txdiag.aggregate import Summary
from txdiag.cli.app import app
from txdiag.exitcodes import ExitCode
from txdiag.fold import SummaryFold
from txdiag.pipeline import Pipeline, RunLedger
from txdiag.render.present import Presenter
from txdiag.report import AffectedList, QueryFirst, build_report
from txdiag.report.collect import read_again
from txdiag.rulebook import Rulebook
from txdiag.spikes import detect_spikes
from txdiag.timeline import Timeline

sys.path.insert(0, str(Path(__file__).parent))
import hostile  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "transactions.jsonl"
GOLDEN = ROOT / "tests" / "data" / "golden"


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def folded(rulebook: Rulebook, path: Path
           ) -> tuple[Pipeline, RunLedger, Summary, Timeline, QueryFirst]:
    pipeline, ledger = Pipeline(rulebook), RunLedger()
    summary, timeline, query_first = Summary(), Timeline(), QueryFirst()
    SummaryFold(pipeline, summary, timeline, watch=query_first, ledger=ledger).run([str(path)])
    return pipeline, ledger, summary, timeline, query_first


def test_the_example_burst_is_an_incident_window(rulebook: Rulebook) -> None:
    _, ledger, summary, timeline, query_first = folded(rulebook, EXAMPLE)
    spikes = detect_spikes(timeline)
    made = build_report(summary, ledger.inputs, timeline, spikes, query_first, rulebook,
                        Presenter())
    [incident] = made.incidents
    assert incident.spike.category == "system"
    assert incident.spike.start.isoformat().startswith("2026-11-11T01:1")
    # the window's reasons and channels add up to its failures
    assert sum(n for _, n in incident.channels) == incident.spike.affected
    assert incident.reasons[0][0] == incident.spike.top_reason
    assert [s.id for s in made.sections] == ["headline", "timeline", "breakdowns", "reconcile",
                                             "notify", "provenance"]


def test_query_first_counts_and_amounts_match_the_records(rulebook: Rulebook) -> None:
    _, _, summary, _, query_first = folded(rulebook, EXAMPLE)
    assert query_first.count == summary.retryable["query_first"] > 0
    # the same, record by record through the plain pipeline
    expected: dict[str, Decimal] = {}
    pipeline = Pipeline(rulebook)
    lines = EXAMPLE.read_text("utf-8").splitlines()
    for number, line in enumerate(lines, 1):
        obs = pipeline.observe(json.loads(line), "x", number)
        diagnosis = getattr(obs, "diagnosis", None)
        if diagnosis is not None and diagnosis.retryable.value == "query_first":
            channel = obs.fields.channel or "(none)"  # type: ignore[union-attr]
            amount = Decimal(str(obs.fields.amount))  # type: ignore[union-attr]
            expected[channel] = expected.get(channel, Decimal(0)) + amount
    assert {ch: e.amounts["CNY"] for ch, e in query_first.by_channel.items()} == expected


def test_the_watch_sees_the_same_records_on_every_path(rulebook: Rulebook,
                                                       tmp_path: Path) -> None:
    # The fast path (chunks), and the plain path (fast=False) give the watch the same records.
    fast, plain = QueryFirst(), QueryFirst()
    SummaryFold(Pipeline(rulebook), Summary(), watch=fast).run([str(EXAMPLE)])
    SummaryFold(Pipeline(rulebook), Summary(), watch=plain, fast=False).run([str(EXAMPLE)])
    assert fast.by_channel == plain.by_channel
    csv_fast = QueryFirst()
    SummaryFold(Pipeline(rulebook), Summary(), watch=csv_fast).run(
        [str(ROOT / "examples" / "transactions.csv")])
    assert csv_fast.count > 0


def test_affected_list_is_the_window_and_masked(rulebook: Rulebook, tmp_path: Path) -> None:
    log = hostile.write_log(tmp_path / "hostile.jsonl")
    pipeline, ledger, summary, timeline, _ = folded(rulebook, log)
    spikes = detect_spikes(timeline)
    assert [s.category for s in spikes] == ["system"]
    out = io.StringIO()
    listed = AffectedList(spikes, pipeline, Presenter(), out)
    inputs = list(ledger.inputs)
    read_again(pipeline, [str(log)], listed)
    assert ledger.inputs == inputs  # the second pass leaves the first one's accounting alone
    assert listed.counts == [spikes[0].affected] == [100]
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0][:4] == ["incident", "time", "txn_id", "user_id"]
    assert len(rows) == 101
    text = out.getvalue()
    assert hostile.PHONE not in text
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "@")), cell
            assert cell == "" or cell[0] != "-" or cell == "-5.00"
    assert any(row[3].startswith("'=HYPERLINK") for row in rows[1:])
    # every row has the customer hint `diagnose` gives its transaction
    hints = {}
    for number, line in enumerate(log.read_text("utf-8").splitlines(), 1):
        obs = Pipeline(rulebook).observe(json.loads(line), "x", number)
        if getattr(obs, "diagnosis", None) is not None:
            hints[Presenter().text(obs.fields.txn_id)] = obs.diagnosis.hint.en  # type: ignore
    assert all(row[9] and row[9] == hints[row[2]] for row in rows[1:])


def test_markdown_golden(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Markdown report, byte for byte. Regenerate with TXDIAG_UPDATE_GOLDEN=1."""
    monkeypatch.chdir(ROOT)
    result = run("report", "examples/transactions.jsonl", "--format", "markdown",
                 "--top", "3")
    assert result.exit_code == 0
    golden = GOLDEN / "transactions.report.md"
    if os.environ.get("TXDIAG_UPDATE_GOLDEN"):
        golden.write_text(result.stdout, encoding="utf-8")
    assert result.stdout == golden.read_text(encoding="utf-8")


def test_markdown_of_hostile_text_is_inert(tmp_path: Path) -> None:
    log = hostile.write_log(tmp_path / "hostile.jsonl")
    result = run("report", str(log), "--format", "markdown", "--affected",
                 str(tmp_path / "a.csv"))
    assert result.exit_code == 0
    text = result.stdout
    assert re.search(r"(?<!\\)<", text) is None  # every < escaped: no HTML in a ticket
    assert "\\<img src=x onerror=alert(1)\\>" in text
    for secret in (hostile.CARD, hostile.PHONE, hostile.EMAIL, "\x1b", "\u202e"):
        assert secret not in text
    assert "Incident 1: first 20 of 100 affected transactions" in text


def test_html_escapes_everything_and_loads_nothing(tmp_path: Path) -> None:
    log = hostile.write_log(tmp_path / "hostile.jsonl")
    page = tmp_path / "r.html"
    result = run("report", str(log), "-o", str(page), "--affected", str(tmp_path / "a.csv"))
    assert result.exit_code == 0
    html = page.read_text("utf-8")
    assert "<script" not in html.lower() and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;;' in html
    # nothing to load: no link or source other than a fragment of the page itself
    assert re.findall(r'(?:href|src)\s*=\s*"(?!#)', html) == []
    for secret in (hostile.CARD, hostile.PHONE, hostile.EMAIL, "\x1b", "\u202e"):
        assert secret not in html
    assert html.count("<svg") == 2
    assert len(html.encode()) < 5 << 20


def test_report_command_errors(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["report", "-", "--affected", str(tmp_path / "a.csv")],
                                input="{}\n")
    assert result.exit_code == ExitCode.USAGE
    assert "stdin" in result.output
    result = run("report", str(EXAMPLE), "-o", str(tmp_path / "no" / "such" / "r.html"))
    assert result.exit_code == ExitCode.USAGE
    assert "cannot write" in result.output
    result = run("report", str(EXAMPLE), "--affected", str(tmp_path / "no" / "a.csv"))
    assert result.exit_code == ExitCode.USAGE
    assert f"{tmp_path / 'no' / 'a.csv'}: cannot write" in result.output
    result = run("report", str(tmp_path / "missing.jsonl"), "-o", str(tmp_path / "r.html"))
    assert result.exit_code == ExitCode.INPUT
    assert not (tmp_path / "r.html").exists()
    assert "Traceback" not in result.output


def test_report_says_how_to_repeat_it(tmp_path: Path) -> None:
    out = tmp_path / "r.md"
    result = run("report", str(EXAMPLE), "-f", "markdown", "-o", str(out), "--lang", "zh",
                 "--since", "2026-11-11T01:00:00Z")
    assert result.exit_code == 0
    text = out.read_text("utf-8")
    assert (f"To repeat it: txdiag report {EXAMPLE} --output {out} --format markdown "
            "--lang zh --since 2026-11-11T01:00:00Z") in text.replace("\\", "")
    assert "outside --since/--until" in text
    assert "rules (shipped)." in text
    rules = ROOT / "tests" / "data" / "rules" / "precedence.toml"
    result = run("report", str(EXAMPLE), "-f", "markdown", "--rules", str(rules))
    assert f"user rule files: {rules}." in result.stdout


def test_charts_are_the_same_from_the_worker_and_in_process(rulebook: Rulebook) -> None:
    from txdiag.report.painter import ChartPainter, draw

    _, _, _, timeline, _ = folded(rulebook, EXAMPLE)
    spikes = detect_spikes(timeline)
    here = draw(timeline, spikes)
    assert ChartPainter().paint(timeline, spikes) == here
    gone = ChartPainter()
    gone.close()  # a worker that is gone: the charts are drawn here, the same
    assert gone.paint(timeline, spikes) == here
    assert all(svg.startswith("<svg") and "<script" not in svg for svg in here)


def _stubborn() -> None:
    # What a forked chart worker does when it is told to stop before it has set its own
    # SIGTERM handler: it runs the parent's, which does not end it, and goes on waiting.
    import signal
    import time

    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    time.sleep(600)


def test_closing_the_painter_never_waits_without_bound() -> None:
    import multiprocessing
    import time

    from txdiag.report.painter import ChartPainter

    painter = ChartPainter()
    painter.close()
    process = multiprocessing.get_context("fork").Process(target=_stubborn, daemon=True)
    process.start()
    time.sleep(0.5)  # (its handler is set)
    painter._process = process  # noqa: SLF001 - the worker that will not stop on SIGTERM
    started = time.monotonic()
    painter.close()
    assert time.monotonic() - started < 10
    assert not process.is_alive()


def test_a_damaged_input_still_gets_its_report(tmp_path: Path) -> None:
    # What was read before the damage is reported, then the run exits 3 (docs/exit-codes.md).
    damaged = ROOT / "tests" / "data" / "nasty" / "truncated.jsonl.gz"
    out = tmp_path / "r.md"
    result = run("report", str(damaged), "-f", "markdown", "-o", str(out))
    assert result.exit_code == ExitCode.INPUT
    text = out.read_text("utf-8")
    assert "## 6. How this report was made" in text
    assert "Traceback" not in result.output


def test_ctrl_c_in_the_second_pass_keeps_the_report(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(*_: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("txdiag.report.collect.read_again", interrupted)
    page, listed = tmp_path / "r.html", tmp_path / "a.csv"
    result = run("report", str(EXAMPLE), "-o", str(page), "--affected", str(listed))
    assert result.exit_code == ExitCode.INTERRUPTED
    assert "Incident report" in page.read_text("utf-8")
    assert not listed.exists() and list(tmp_path.iterdir()) == [page]
