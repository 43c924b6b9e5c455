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
from txdiag.pipeline import Pipeline
from txdiag.rulebook import load_rulebook
from txdiag.config import load_config
from txdiag.mining import TemplateMiner
from txdiag.render.common import Presenter, summary_dict

pipeline = Pipeline(load_rulebook())
summary = Summary()
for event in pipeline.run([sys.argv[1]]):
    summary.add(event)
data = summary_dict(summary, pipeline.inputs, Presenter())
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
