"""The library works without the CLI: no Typer, Rich or httpx is loaded for a whole run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = """
import json, sys
from txdiag.aggregate import Summary
from txdiag.pipeline import Pipeline, RunLedger
from txdiag.rulebook import load_rulebook
from txdiag.config import load_config
from txdiag.mining import TemplateMiner
from txdiag.render.common import Presenter, summary_dict

pipeline = Pipeline(load_rulebook())
summary = Summary()
ledger = RunLedger()
for event in pipeline.run([sys.argv[1]], ledger):
    summary.add(event)
data = summary_dict(summary, ledger.inputs, Presenter())
heavy = sorted(m for m in ("typer", "rich", "httpx", "click") if m in sys.modules)
print(json.dumps({"records": data["totals"]["records"], "heavy": heavy}))
"""


def test_library_run_loads_no_cli_or_http_modules() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(ROOT / "examples" / "transactions.jsonl")],
        capture_output=True, text=True, timeout=60, check=True,
    )
    data = json.loads(result.stdout)
    assert data == {"records": 3000, "heavy": []}


def test_observe_a_mapping_directly() -> None:
    from txdiag.pipeline import Observation, Pipeline
    from txdiag.rulebook import load_rulebook

    obs = Pipeline(load_rulebook()).observe(
        {"txn_id": "T1", "status": "failed", "resp_code": "51", "channel": "iso8583"})
    assert isinstance(obs, Observation) and obs.diagnosis is not None
    assert obs.diagnosis.reason == "balance.insufficient_funds"
    assert obs.diagnosis.hint.zh


def test_a_pipeline_serves_runs_each_with_its_own_ledger(tmp_path: Path) -> None:
    # The accounting of a run (inputs read, records outside the window, the file being read)
    # is the run's: a pipeline read twice, or by a fold and record by record, mixes nothing.
    from datetime import UTC, datetime

    from txdiag.aggregate import Summary
    from txdiag.fold import SummaryFold
    from txdiag.pipeline import Pipeline, RunLedger, TimeWindow
    from txdiag.rulebook import load_rulebook

    example = str(ROOT / "examples" / "transactions.jsonl")
    other = tmp_path / "other.jsonl"
    other.write_text('{"ts": "2026-11-11T01:00:00Z", "status": "failed", "code": "51"}\n',
                     encoding="utf-8")
    pipeline = Pipeline(load_rulebook(),
                        window=TimeWindow(since=datetime(2026, 11, 11, 1, tzinfo=UTC)))
    by_record, folded = RunLedger(), RunLedger()
    events = list(pipeline.run([example], by_record))
    summary = Summary()
    SummaryFold(pipeline, summary, ledger=folded).run([example, str(other)])
    assert [stats.name for stats in by_record.inputs] == [example]
    assert [stats.name for stats in folded.inputs] == [example, str(other)]
    assert by_record.filtered_out == folded.filtered_out > 0
    assert len(events) + by_record.filtered_out == by_record.inputs[0].lines.lines
    assert summary.records == len(events) + 1
