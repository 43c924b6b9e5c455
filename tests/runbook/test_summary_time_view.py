"""``summary``: failures over time and spikes, in the terminal and in every machine format."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from txdiag.cli.app import app
from txdiag.exitcodes import ExitCode

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "transactions.jsonl"


def run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def summary_json(*args: str) -> dict[str, Any]:
    result = run("summary", *args, "--format", "json", "--quiet")
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_the_example_incident_is_the_one_spike(check_schema: Callable[[Any, str], None]) -> None:
    """examples/transactions.jsonl has a 10-minute system outage at 01:12 (gen_logs.py)."""
    data = summary_json(str(EXAMPLE))
    check_schema(data, "summary")
    timeline = data["timeline"]
    assert timeline["records"] == data["totals"]["records"] == 3000
    assert timeline["bucket_seconds"] == 30 and timeline["requested_seconds"] is None
    assert sum(b["records"] for b in timeline["buckets"]) == 3000
    assert sum(b["failures"] for b in timeline["buckets"]) == data["totals"]["failures"]
    (spike,) = data["spikes"]
    assert spike["category"] == "system"
    assert (spike["start"], spike["end"]) == ("2026-11-11T01:12:00Z", "2026-11-11T01:22:00Z")
    assert spike["peak_rate"] > 0.5 and spike["baseline_rate"] < 0.1
    assert spike["top_reason"].startswith("system.")
    assert spike["affected"] > 100 and not spike["ongoing"]
    assert timeline["spike_detection"]["method"] == "rolling_median_mad"


def test_bucket_option_and_its_errors(make_log: Callable[..., Path]) -> None:
    log = make_log(minutes=30)
    data = summary_json(str(log), "--bucket", "5m")
    assert data["timeline"]["bucket_seconds"] == 300
    assert data["timeline"]["requested_seconds"] == 300
    assert len(data["timeline"]["buckets"]) == 6
    result = run("summary", str(log), "--bucket", "soon")
    assert result.exit_code == ExitCode.USAGE and "--bucket 'soon'" in result.stderr


def test_a_too_fine_bucket_is_widened_not_unbounded(make_log: Callable[..., Path]) -> None:
    data = summary_json(str(make_log(minutes=600, per_minute=2)), "--bucket", "1s")
    timeline = data["timeline"]
    assert timeline["requested_seconds"] == 1 and timeline["bucket_seconds"] >= 150
    assert len(timeline["buckets"]) <= 240


def test_records_without_time_are_counted_apart(make_log: Callable[..., Path]) -> None:
    data = summary_json(str(make_log(rows=[(None, "system")] * 3)))
    timeline = data["timeline"]
    assert timeline["no_timestamp"] == 3 and timeline["buckets"] == []
    assert timeline["start"] is None and data["spikes"] == []


def test_table_draws_the_time_view_and_lists_spikes(make_log: Callable[..., Path]) -> None:
    log = make_log(minutes=60, spike=(40, 45, "network", 0.5))
    out = run("summary", str(log), "-q").stdout
    assert "Failures over time" in out
    chart = out.split("Failures over time", 1)[1]
    assert "all failures" in chart and "network" in chart
    assert "Spikes" in chart
    assert ("network 2026-11-11T00:40:00Z to 2026-11-11T00:46:00Z" in
            " ".join(chart.split()))
    assert "network.gateway_timeout" in chart


def test_no_spike_is_said(make_log: Callable[..., Path]) -> None:
    out = run("summary", str(make_log(minutes=60)), "-q").stdout
    assert "No spikes." in out


def test_csv_and_markdown_carry_buckets_and_spikes(make_log: Callable[..., Path]) -> None:
    log = make_log(minutes=60, spike=(40, 45, "network", 0.5))
    rows = list(csv.reader(io.StringIO(run("summary", str(log), "-f", "csv", "-q").stdout)))
    spikes = [r for r in rows if r[0] == "spike"]
    assert spikes == [["spike", "2026-11-11T00:40:00Z/2026-11-11T00:46:00Z", "network",
                       spikes[0][3], spikes[0][4]]]
    assert any(r[0] == "bucket" and r[2] == "network" for r in rows)
    markdown = run("summary", str(log), "-f", "markdown", "-q").stdout
    assert "| network | 2026-11-11T00:40:00Z | 2026-11-11T00:46:00Z |" in markdown


@pytest.mark.parametrize("width", [40, 60, 120])
def test_time_view_fits_the_width(make_log: Callable[..., Path], width: int,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", str(width))
    out = run("summary", str(make_log(minutes=240, spike=(100, 110, "system", 0.6))),
              "-q").stdout
    chart = out.split("Failures over time", 1)[1]
    assert all(len(line) <= width for line in chart.splitlines())
    assert "system.bank_error" in chart.replace("\n", "")  # folded, never cut
