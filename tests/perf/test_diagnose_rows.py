"""``diagnose --format json|jsonl`` rows written straight from observations (FindingRows) are
byte for byte the rows of the plain way: the Finding built, turned into a dict, dumped.

Correctness only: timings are for benchmarks/bench.py.
"""

from __future__ import annotations

import importlib.util
import io
import json
from argparse import Namespace
from datetime import timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from txdiag.normalize import FieldMap
from txdiag.pipeline import Observation, Pipeline
from txdiag.render.common import Presenter, finding_dict
from txdiag.render.writers import FindingRows, JsonLinesWriter, JsonWriter, dumps
from txdiag.rulebook import Rulebook

ROOT = Path(__file__).parent.parent.parent
PRESENTERS = [Presenter(), Presenter(mask=False), Presenter(lang="zh")]


def _plain(pipeline: Pipeline, observation: Observation, presenter: Presenter) -> str:
    return dumps(finding_dict(pipeline.finding(observation), presenter))


def _failures(pipeline: Pipeline, records: list[dict[str, Any]]) -> list[Observation]:
    found = []
    for line, record in enumerate(records, 1):
        event = pipeline.observe(record, "in\u202e.jsonl", line)
        if isinstance(event, Observation) and event.diagnosis is not None:
            found.append(event)
    return found


def _generated(records: int) -> list[dict[str, Any]]:
    spec = importlib.util.spec_from_file_location("gen_logs", ROOT / "benchmarks" / "gen_logs.py")
    assert spec and spec.loader
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    out = io.StringIO()
    gen.generate(Namespace(records=records, seed=7, failure_rate=0.6, hours=2.0, format="jsonl",
                           incident=True, gzip=False), out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


@pytest.mark.parametrize("presenter", PRESENTERS)
def test_generated_logs(rulebook: Rulebook, presenter: Presenter) -> None:
    pipeline = Pipeline(rulebook, assume_tz=timezone(timedelta(hours=8)))
    failures = _failures(pipeline, _generated(3000))
    assert len(failures) > 1000
    rows = FindingRows(presenter)
    for observation in failures:
        expected = _plain(pipeline, observation, presenter)
        assert rows.of_observation(observation, pipeline.normalizer.assume_tz) == expected
        # again, with the diagnosis' text kept from the first time
        assert rows.of_observation(observation, pipeline.normalizer.assume_tz) == expected


def test_writers_write_observations_as_findings(rulebook: Rulebook) -> None:
    pipeline = Pipeline(rulebook)
    failures = _failures(pipeline, _generated(300))
    for writer_class in (JsonLinesWriter, JsonWriter):
        fast, plain = io.StringIO(), io.StringIO()
        fast_writer, plain_writer = writer_class(fast, Presenter()), writer_class(plain,
                                                                                  Presenter())
        for observation in failures:
            fast_writer.write_observation(observation, pipeline)
            plain_writer.write(pipeline.finding(observation))
        assert fast.getvalue() == plain.getvalue()


_TEXT = st.text(st.characters(codec="utf-8"), max_size=30) | st.sampled_from([
    "4111 1111 1111 1111", "13812345678", "a@b.co", "password=hunter2", "\x1b[1m",
    "\u2028", "\x85", "\u200f", "2026-11-11T00:00:00", "2026-11-11 08:00:00", "1762790401",
    "1762790401123", "1,234.50", "NaN", "inf", "-0", "1e400", "12", "12.5",
    "0.000001", "0.0000001", "0199.89", "199.890", "0", "0.000000", "999999999999999.5",
    "T20261111000000001", "u702254", "AKIAIOSFODNN7EXAMPLE", "13812345678.0",
])
_VALUE = _TEXT | st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats() | \
    st.lists(st.integers(), max_size=2) | st.dictionaries(st.text(max_size=3), st.integers(),
                                                         max_size=2)
_NAMES = ("txn_id", "ts", "status", "channel", "code", "sub_code", "message", "http_status",
          "latency_ms", "amount", "currency", "installments", "user_id", "error")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(_NAMES), _VALUE, min_size=1), min_size=1,
                max_size=5),
       st.sampled_from(PRESENTERS))
def test_any_record(rulebook: Rulebook, records: list[dict[str, Any]],
                    presenter: Presenter) -> None:
    pipeline = Pipeline(rulebook, field_map=FieldMap.default())
    rows = FindingRows(presenter)
    for record in records:
        record.setdefault("status", "failed")
    for observation in _failures(pipeline, records):
        expected = _plain(pipeline, observation, presenter)
        assert rows.of_observation(observation, pipeline.normalizer.assume_tz) == expected
