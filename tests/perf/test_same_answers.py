"""The fast paths give exactly the answers of the plain ones (issue 7: "same answers").

- the summary fold (txdiag.fold) against observing every record (Pipeline.run, Summary.add,
  Timeline.add_observation), on the accuracy corpus, on generated logs and on fuzzed lines,
  with --strict, --since/--until and chunk sizes down to one byte;
- the chunked readers against the line-by-line ones they replaced (kept here as oracles);
- the compiled extraction against the key-by-key one;
- ``--jobs 2`` against ``--jobs 1``, forked and spawned;
- ``diagnose`` rows handed over by the fold (:class:`~txdiag.fold.Rows`, in parts) against
  the rows of every failure observed one by one, in jsonl, json and csv;
- ``check``'s gate given the records in batches (:class:`~txdiag.fold.Tally`) against the
  gate given every observation.

Correctness only: timings are for benchmarks/bench.py.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import random
import re
import sys
from argparse import Namespace
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import txdiag.formats
import txdiag.jobs
import txdiag.sources
from txdiag.aggregate import MAX_TEMPLATES, Summary, Target, target_of
from txdiag.cli.app import app
from txdiag.errors import TxdiagError
from txdiag.fold import SummaryFold
from txdiag.formats import read_json_document
from txdiag.gate import Gate, parse_thresholds
from txdiag.normalize import Extracted, FieldMap, Normalizer
from txdiag.pipeline import Observation, Pipeline, ReadOptions, RunLedger, TimeWindow
from txdiag.readers import (
    InputFormat,
    KeyGuard,
    ReadStats,
    Unreadable,
    read_csv,
    read_jsonl,
)
from txdiag.render import OutputFormat
from txdiag.render.common import Presenter, summary_dict
from txdiag.render.writers import FindingFeed, FindingWriter, finding_writer
from txdiag.rulebook import Rulebook
from txdiag.sources import OpenedInput, iter_lines
from txdiag.spikes import detect_spikes
from txdiag.timeline import Timeline

ROOT = Path(__file__).parent.parent.parent
CORPUS = ROOT / "tests" / "data" / "accuracy_corpus.csv"
BASE = datetime(2026, 11, 11, tzinfo=UTC)


# -- the two ways to summarize -------------------------------------------------------------


class _Failures:
    """A fold watch that wants every failure: it must be given what the plain path observes
    (the fields a JSON Lines chunk hands over directly too)."""

    fields = frozenset({"txn_id", "timestamp", "amount", "currency", "user_id"})

    def __init__(self) -> None:
        self.seen: list[str] = []

    def wants(self, target: Target) -> bool:
        return target[1] is not None

    def record(self, fields: Extracted, target: Target) -> None:
        self.seen.append(repr((fields.txn_id, fields.timestamp, fields.amount, fields.currency,
                               fields.user_id, target[:3])))


class _Rows:
    """The ``diagnose`` output of a run, in one format (written after the run's totals)."""

    def __init__(self, pipeline: Pipeline, fmt: OutputFormat, presenter: Presenter,
                 categories: set[str] | None, limit: int | None) -> None:
        self.out = io.StringIO()
        self.writer: FindingWriter = finding_writer(fmt, self.out, presenter)
        self.feed = FindingFeed(lambda: self.writer, pipeline, categories=categories,
                                limit=limit)

    def text(self, summary: Summary, inputs: list[ReadStats]) -> str:
        self.writer.finish(summary, inputs)
        return self.out.getvalue()


def _gate(check: int | None) -> Gate | None:
    """``check``'s gate: None, or judging the run (0) or windows of ``check`` seconds."""
    if check is None:
        return None
    return Gate(parse_thresholds(["failure=30", "system=5"], ["balance=3"], "50"),
                window=check or None, min_records=2, max_open_windows=6)


def _render(ledger: RunLedger, summary: Summary, timeline: Timeline,
            error: str | None, watch: _Failures | None = None,
            rows: _Rows | None = None, gate: Gate | None = None) -> dict[str, Any]:
    summary.filtered_out = ledger.filtered_out
    data = summary_dict(summary, ledger.inputs, Presenter(mask=False), timeline=timeline,
                        spikes=detect_spikes(timeline))
    # Beyond the JSON: the order ties are broken in, every example and the raw buckets.
    data["order"] = [list(summary.by_reason), list(summary.by_channel),
                     list(summary.retryable), list(summary.unreadable_by_cause),
                     {k: list(v) for k, v in summary.codes_by_channel.items()}]
    data["examples"] = [(u.source, u.line, u.cause.value, u.detail)
                        for u in summary.unreadable_examples]
    # Every unknown-failure template kept, in order, with its count and example.
    miner = summary.templates
    data["templates"] = [[*key, count, miner.examples[key]] for key, count in miner.counts.items()]
    data["template_overflow"] = miner.overflow
    data["buckets"] = sorted((key, b.records, sorted(b.failures.items()),
                              sorted(b.reasons.items()), sorted(b.channels.items()))
                             for key, b in timeline.buckets.items())
    if watch is not None:
        # Within a chunk, records observed one by one reach a watch before the others.
        data["watched"] = sorted(watch.seen)
    data["no_timestamp"] = timeline.no_timestamp
    data["error"] = error
    if rows is not None:
        data["rows"] = rows.text(summary, ledger.inputs)
    if gate is not None:
        data["check"] = repr(gate.result())  # every count, time (with its zone) and order
    rendered: dict[str, Any] = json.loads(json.dumps(data, default=str))
    return rendered


def plain(rulebook: Rulebook, names: list[str], *, max_templates: int = MAX_TEMPLATES,
          rows: OutputFormat | None = None, presenter: Presenter | None = None,
          categories: set[str] | None = None, limit: int | None = None,
          check: int | None = None, **options: Any) -> dict[str, Any]:
    """Every record observed one by one; ``rows``: the ``diagnose`` output in that format,
    written the way ``diagnose`` wrote every row before the fold handed them over;
    ``check``: the gate of :func:`_gate` given every observation, as ``check`` did."""
    pipeline, ledger = Pipeline(rulebook, **options), RunLedger()
    summary, timeline, error = Summary(max_templates=max_templates), Timeline(), None
    watch = _Failures()
    table = None if rows is None else _Rows(pipeline, rows, presenter or Presenter(), None,
                                            None)
    shown = 0
    gate = _gate(check)
    try:
        for event in pipeline.run(names, ledger):
            summary.add(event)
            if isinstance(event, Observation):
                timeline.add_observation(event, pipeline.normalizer.assume_tz)
                if gate is not None:
                    gate.add_observation(event, pipeline.normalizer.assume_tz)
                if watch.wants(target_of(event)):
                    watch.record(event.fields, target_of(event))
                diagnosis = event.diagnosis
                if table is not None and diagnosis is not None and (
                        categories is None or diagnosis.category in categories) and (
                        limit is None or shown < limit):
                    table.writer.write_observation(event, pipeline)
                    shown += 1
    except TxdiagError as exc:
        error = str(exc)
    return _render(ledger, summary, timeline, error, watch, table, gate)


def fast(rulebook: Rulebook, names: list[str], jobs: int = 1, *,
         max_templates: int = MAX_TEMPLATES, watched: bool = True,
         rows: OutputFormat | None = None, presenter: Presenter | None = None,
         categories: set[str] | None = None, limit: int | None = None,
         check: int | None = None, **options: Any) -> dict[str, Any]:
    pipeline, ledger = Pipeline(rulebook, **options), RunLedger()
    summary, timeline, error = Summary(max_templates=max_templates), Timeline(), None
    # A watch reads in one process: --jobs is compared with one process without a watch.
    watch = _Failures() if watched and jobs == 1 else None
    table = None if rows is None else _Rows(pipeline, rows, presenter or Presenter(),
                                            categories, limit)
    gate = _gate(check)
    try:
        SummaryFold(pipeline, summary, timeline, jobs=jobs, watch=watch,
                    rows=None if table is None else table.feed, tally=gate,
                    ledger=ledger).run(names)
    except TxdiagError as exc:
        error = str(exc)
    return _render(ledger, summary, timeline, error, watch, table, gate)


# -- data ----------------------------------------------------------------------------------


def _gen_logs() -> Any:
    spec = importlib.util.spec_from_file_location("gen_logs", ROOT / "benchmarks" / "gen_logs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def generated(tmp_path: Path, records: int, fmt: str, *, seed: int = 7,
              incident: bool = True, distinct: bool = False) -> Path:
    gen = _gen_logs()
    out = io.StringIO()
    gen.generate(Namespace(records=records, seed=seed, failure_rate=0.6, hours=6.0, format=fmt,
                           incident=incident, distinct_messages=distinct), out)
    path = tmp_path / f"gen{'-distinct' if distinct else ''}.{fmt}"
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def corpus_records() -> list[dict[str, Any]]:
    """The accuracy corpus as log records: each row failed, with and without a status."""
    records: list[dict[str, Any]] = []
    with CORPUS.open(encoding="utf-8", newline="") as handle:
        for index, row in enumerate(csv.DictReader(handle)):
            moment = BASE + timedelta(seconds=37 * index)
            record: dict[str, Any] = {"ts": moment.isoformat().replace("+00:00", "Z"),
                                      "txn_id": f"T{index}", "channel": row["channel"]}
            if index % 3:
                record["status"] = "failed"
            if row["code"]:
                record["code"] = row["code"]
            if row["message"]:
                record["msg"] = row["message"]
            if row["http_status"]:
                record["http_status"] = int(row["http_status"])
            records.append(record)
    return records


@pytest.fixture(autouse=True)
def _small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    # Many chunks per test file: the seams between them get exercised.
    monkeypatch.setattr(txdiag.sources, "CHUNK_SIZE", 4096)
    monkeypatch.setattr(txdiag.formats, "BATCH_BYTES", 4096)
    monkeypatch.setattr(txdiag.formats, "BLOCK_SIZE", 8192)


# -- the summary fold --------------------------------------------------------------------------


def test_fold_matches_plain_on_the_accuracy_corpus(rulebook: Rulebook, tmp_path: Path) -> None:
    records = corpus_records()
    jsonl = tmp_path / "corpus.jsonl"
    jsonl.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records * 5),
                     encoding="utf-8")
    columns = ["ts", "txn_id", "channel", "status", "code", "msg", "http_status"]
    table = tmp_path / "corpus.csv"
    with table.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(records * 5)
    for path in (jsonl, table):
        assert fast(rulebook, [str(path)]) == plain(rulebook, [str(path)])


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "logfmt"])
def test_fold_matches_plain_on_generated_logs(rulebook: Rulebook, tmp_path: Path,
                                              fmt: str) -> None:
    path = generated(tmp_path, 6000, fmt)
    expected = plain(rulebook, [str(path)])
    assert expected["totals"]["records"] == 6000
    assert expected["spikes"], "the incident should show"
    assert fast(rulebook, [str(path)]) == expected


WINDOW = TimeWindow(BASE + timedelta(hours=1), BASE + timedelta(hours=4))
TIME_AND_STRICT: list[dict[str, Any]] = [
    {"window": WINDOW},
    {"assume_tz": timezone(timedelta(hours=8)), "window": WINDOW},
    {"read_options": ReadOptions(strict=True)},
    {"read_options": ReadOptions(strict=True), "window": WINDOW},
]
"""Pipeline options for the differential tests: ``--since/--until``, a zone, ``--strict``."""


def damaged(path: Path, inserted: dict[int, bytes]) -> Path:
    """A copy of ``path`` with lines inserted before the lines of these indices."""
    lines = path.read_bytes().splitlines(keepends=True)
    for at, line in sorted(inserted.items(), reverse=True):
        lines.insert(at, line + b"\n")
    copy = path.with_name("damaged-" + path.name)
    copy.write_bytes(b"".join(lines))
    return copy


def test_fold_matches_plain_with_window_zone_and_strict(rulebook: Rulebook,
                                                        tmp_path: Path) -> None:
    path = generated(tmp_path, 3000, "jsonl")
    broken = damaged(path, {2500: b'{"note": "no usable field"}'})
    for options in TIME_AND_STRICT:
        for path_ in (path, broken):
            assert fast(rulebook, [str(path_)], **options) == plain(rulebook, [str(path_)],
                                                                   **options)


_FIELDS = ["status", "Status", "state", "channel", "Channel", "code", "sub_code", "respCode",
           "RESPCODE", "msg", "message", "err_msg", "error", "Error", "http_status",
           "statusCode", "latency_ms", "latency", "txn_id", "id", "out_trade_no", "ts", "time",
           "amount", "total_fee", "txnAmt", "user_id", "note"]
_VALUES: list[Any] = [
    None, "", " ", "failed", "success", "pending", "alipay", "wechat", "bank-gw", "51", 51, 51.0,
    True, False, 503, "503", 0, "余额不足", "Not sufficient funds", "ERR_4711 odd state",
    "预留手机号13812345678与银行预留不一致", [], [1], {}, 30011, "30500",
    {"code": "card_declined", "decline_code": "insufficient_funds", "message": "m"},
    {"message": "timeout", "type": "api_error"}, {"message": "x", "deep": {"a": 1}},
    "SUCCESS", "10000",
]


def _stamp(rng: random.Random) -> Any:
    moment = BASE + timedelta(seconds=rng.randrange(20000), milliseconds=rng.randrange(1000))
    return rng.choice([
        moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        moment.strftime("%Y-%m-%d %H:%M:%S"),
        int(moment.timestamp() * 1000),
        moment.astimezone(timezone(timedelta(hours=8))).isoformat(),
        "20261111", None, "not a time",
    ])


def _fuzz_line(rng: random.Random, common: list[bytes]) -> bytes:
    roll = rng.random()
    if roll < 0.7:
        record = json.loads(rng.choice(common))
        record["ts"] = _stamp(rng)
        return json.dumps(record, ensure_ascii=False).encode()
    odd = [b"", b"  ", b"[1,2]", b'{"a":', b'{"status":"failed","msg":"\xff"}',
           b'{"st\\u0061tus":"failed"}', b'{"a":1} {"b":2}', b'{"status":"failed","x":NaN}',
           b'{"status":"failed","n":1e999}', b"\xef\xbb\xbf{}"]
    if roll < 0.78:
        return rng.choice(odd)
    if roll < 0.84:
        # A key given twice (issue 13): a verdict key or another, spelt as JSON writes it or
        # with an escape, or with a space before its colon.
        record = json.loads(rng.choice(common))
        key = rng.choice([*record, "code", "note", "error"])
        spelt = rng.choice([json.dumps(key), json.dumps(key).replace("e", "\\u0065", 1),
                            json.dumps(key) + " "])
        text = json.dumps(record, ensure_ascii=False)
        return f"{text[:-1]}, {spelt}: {json.dumps(rng.choice(_VALUES))}}}".encode()
    record = {rng.choice(_FIELDS): rng.choice(_VALUES) for _ in range(rng.randrange(6))}
    record["ts"] = _stamp(rng)
    return json.dumps(record, ensure_ascii=rng.random() < 0.3).encode()


@settings(deadline=None, max_examples=60)
@given(st.integers(0, 2**32 - 1))
def test_fold_matches_plain_on_fuzzed_lines(rulebook: Rulebook, tmp_path_factory: Any,
                                            seed: int) -> None:
    rng = random.Random(seed)
    common = [json.dumps({"channel": rng.choice(["alipay", "iso8583", "baitiao", "bank-gw"]),
                          "status": rng.choice(["failed", "success", "pending"]),
                          rng.choice(["code", "msg", "http_status", "error", "latency_ms"]):
                          rng.choice(_VALUES[3:])}, ensure_ascii=False).encode()
              for _ in range(12)]
    body = b"\n".join(_fuzz_line(rng, common) for _ in range(rng.randrange(400)))
    body += rng.choice([b"", b"\n"])
    if rng.random() < 0.2:
        body = b"\xef\xbb\xbf" + body
    if rng.random() < 0.2:
        body = body.replace(b"\n", b"\r\n")
    path = tmp_path_factory.mktemp("fuzz") / "fuzz.jsonl"
    path.write_bytes(b'{"status":"ok"}\n' + body)
    txdiag.sources.CHUNK_SIZE = rng.choice([1, 7, 300, 4096])
    options: dict[str, Any] = {}
    if rng.random() < 0.3:
        options["read_options"] = ReadOptions(strict=True)
    elif rng.random() < 0.3:
        options["read_options"] = ReadOptions(max_line_bytes=rng.choice([60, 200]))
    if rng.random() < 0.3:
        options["window"] = TimeWindow(BASE + timedelta(seconds=rng.randrange(10000)),
                                       BASE + timedelta(seconds=rng.randrange(10000, 25000)))
    if rng.random() < 0.5:  # diagnose rows too (the fold then reads in one process)
        options["rows"] = rng.choice([OutputFormat.JSONL, OutputFormat.JSON, OutputFormat.CSV])
        options["presenter"] = rng.choice([Presenter(), Presenter(mask=False)])
    if rng.random() < 0.5:  # check's gate too, over the run or windows
        options["check"] = rng.choice([0, 60, 900])
    assert fast(rulebook, [str(path)], **options) == plain(rulebook, [str(path)], **options)


# -- JSON documents ----------------------------------------------------------------------------

_ODD_ITEMS = ["[1, 2]", "7", '"text"', "null", '{"status":"failed","x":NaN}',
              '{"status":"failed","n":1e999}', '{"st\\u0061tus":"failed","code":"51"}',
              '{"status":"failed","msg":"a},{\\"b\\": 1}, {"}', '{"note":"no usable field"}',
              '{"status":"failed","msg":"\\ud800"}', '{"status":"failed","code":"51"}',
              '{"error": {"code": "x"}, "list": [{"a": 1}, {"b": 2}], "status": "failed"}',
              '{"status":"failed",\n"msg":"raw\nline end"}', "{}", "[{}]"]


def _document_items(rng: random.Random, common: list[bytes]) -> list[str]:
    """Records of a JSON document: common ones, odd values, keys given twice, random ones;
    some pretty-printed."""
    items: list[str] = []
    for _ in range(rng.randrange(300)):
        roll = rng.random()
        indent = 2 if rng.random() < 0.3 else None
        if roll < 0.7:
            record = json.loads(rng.choice(common))
            record["ts"] = _stamp(rng)
            items.append(json.dumps(record, ensure_ascii=False, indent=indent))
        elif roll < 0.8:
            items.append(rng.choice(_ODD_ITEMS))
        elif roll < 0.86:
            record = json.loads(rng.choice(common))
            key = rng.choice([*record, "code", "note"])
            text = json.dumps(record, ensure_ascii=False, indent=indent)
            items.append(f"{text[:-1]}, {json.dumps(key)}: {json.dumps(rng.choice(_VALUES))}}}")
        else:
            record = {rng.choice(_FIELDS): rng.choice(_VALUES) for _ in range(rng.randrange(6))}
            record["ts"] = _stamp(rng)
            items.append(json.dumps(record, ensure_ascii=rng.random() < 0.3, indent=indent))
    return items


def _fuzz_document(rng: random.Random, common: list[bytes]) -> tuple[bytes, str | None]:
    """A JSON document of records (an array, or one under ``data.list``), sometimes damaged:
    cut short, a byte that is not UTF-8, garbage after it; and its records path."""
    separator = rng.choice([",", ", ", ",\n", ",\n  ", "\n,\n", ",\r\n  "])
    array = "[" + rng.choice(["", "\n  "]) + separator.join(_document_items(rng, common)) + (
        rng.choice(["]", "\n]\n", " ] "]))
    path = None
    if rng.random() < 0.3:
        array = '{"meta": {"tags": [1, 2]}, "data": {"list": ' + array + "}}"
        path = rng.choice([None, "data.list"])
    data = array.encode("utf-8", "surrogatepass")
    roll = rng.random()
    if roll < 0.1:
        data = data[:rng.randrange(len(data) + 1)]
    elif roll < 0.15:
        at = rng.randrange(len(data) + 1)
        data = data[:at] + rng.choice([b"\xff", b"\xe4\xbd"]) + data[at:]
    elif roll < 0.2:
        data += rng.choice([b"garbage", b"[{}]", b"\n{"])
    if rng.random() < 0.1:
        data = b"\xef\xbb\xbf" + data
    return data, path


def _common_records(rng: random.Random) -> list[bytes]:
    return [json.dumps({"channel": rng.choice(["alipay", "iso8583", "baitiao", "bank-gw"]),
                        "status": rng.choice(["failed", "success", "pending"]),
                        rng.choice(["code", "msg", "http_status", "error", "latency_ms"]):
                        rng.choice(_VALUES[3:])}, ensure_ascii=False).encode()
            for _ in range(12)]


@settings(deadline=None, max_examples=60)
@given(st.integers(0, 2**32 - 1))
def test_fold_matches_plain_on_fuzzed_json_documents(rulebook: Rulebook, tmp_path_factory: Any,
                                                     seed: int) -> None:
    rng = random.Random(seed)
    data, records_path = _fuzz_document(rng, _common_records(rng))
    path = tmp_path_factory.mktemp("fuzz") / "fuzz.json"
    path.write_bytes(data)
    txdiag.formats.BATCH_BYTES = rng.choice([1, 40, 300, 4096, 1 << 16])
    txdiag.formats.BLOCK_SIZE = rng.choice([1, 7, 300, 1 << 20])
    options: dict[str, Any] = {}
    strict = rng.random() < 0.3
    options["read_options"] = ReadOptions(input_format=InputFormat.JSON, strict=strict,
                                          records_path=records_path)
    if rng.random() < 0.3:
        options["window"] = TimeWindow(BASE + timedelta(seconds=rng.randrange(10000)),
                                       BASE + timedelta(seconds=rng.randrange(10000, 25000)))
    assert fast(rulebook, [str(path)], **options) == plain(rulebook, [str(path)], **options)


@pytest.mark.parametrize("indent", [None, 2])
@pytest.mark.parametrize("records_path", [None, "data.list"])
def test_fold_matches_plain_on_generated_json_documents(rulebook: Rulebook, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        indent: int | None,
                                                        records_path: str | None) -> None:
    folded: list[int] = []
    chunk = SummaryFold._jsonl_chunk

    def counted(fold: SummaryFold, *args: Any) -> bool:
        done = chunk(fold, *args)
        folded.append(args[3] if done else 0)  # the records of a batch folded at once
        return done

    monkeypatch.setattr(SummaryFold, "_jsonl_chunk", counted)
    lines = generated(tmp_path, 3000, "jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    records.insert(1700, {"note": "no usable field"})
    document: Any = {"meta": {"n": 1}, "data": {"list": records}} if records_path else records
    path = tmp_path / "gen.json"
    path.write_text(json.dumps(document, ensure_ascii=False, indent=indent), encoding="utf-8")
    for strict in (False, True):
        options: dict[str, Any] = {"read_options": ReadOptions(strict=strict,
                                                               records_path=records_path)}
        expected = plain(rulebook, [str(path)], **options)
        assert expected["totals"]["records"] == (1700 if strict else 3000)
        folded.clear()
        assert fast(rulebook, [str(path)], **options) == expected
        assert sum(folded) > 0.9 * expected["totals"]["records"]
        # The record without a usable field is unreadable at the line it starts on (pretty
        # printed: the line before its only field).
        text = path.read_text(encoding="utf-8").splitlines()
        line = 1 if indent is None else next(
            number for number, content in enumerate(text) if "no usable field" in content)
        if strict:
            assert f"gen.json:{line}:" in expected["error"]
        else:
            assert expected["examples"] == [[str(path), line, "no_usable_fields",
                                             "none of the known field names"]]


def _oracle_document(data: bytes, records_path: str | None, guard: KeyGuard) -> list[Any]:
    """read_json_document as it was meant: the whole document decoded to text at once, its
    records array the top-level one or at ``data.list`` in an object, each
    value then decoded in place by ``raw_decode`` and given the line it starts on."""
    text = data.decode("utf-8", "surrogateescape").removeprefix("\ufeff")
    decoder, blank = json.JSONDecoder(), re.compile(r"[ \t\r\n]*")
    head = '{"meta": {"tags": [1, 2]}, "data": {"list": ['
    if not text.strip() or (text.startswith("{") and not text.startswith(head)):
        return ["refused"]  # the document is cut or damaged before its records
    at = len(head) if text.startswith("{") else blank.match(text).end() + 1  # type: ignore[union-attr]
    out: list[Any] = []
    at = blank.match(text, at).end()  # type: ignore[union-attr]
    if text[at:at + 1] == "]":
        return out
    while True:
        # A value that cannot be read is reported where the one before it ended.
        failed = text.count("\n", 0, at) + 1
        at = blank.match(text, at).end()  # type: ignore[union-attr]
        line = text.count("\n", 0, at) + 1
        try:
            value, end = decoder.raw_decode(text, at)
        except json.JSONDecodeError:
            return [*out, (failed, "invalid_json")]
        if re.search("[\udc80-\udcff]", text[at:end]):
            return [*out, (failed, "bad_encoding")]
        if isinstance(value, dict):
            raw = text[at:end].encode()
            item = guard.check("x", line, raw, text[at:end], value)
            out.append((item.line, item.cause.value) if isinstance(item, Unreadable) else item)
        else:
            out.append((line, "not_an_object"))
        at = blank.match(text, end).end()  # type: ignore[union-attr]
        if text[at:at + 1] == ",":
            at += 1
        elif text[at:at + 1] == "]":
            return out
        else:
            return [*out, (text.count("\n", 0, at) + 1, "invalid_json")]


@settings(deadline=None, max_examples=80)
@given(st.integers(0, 2**32 - 1))
def test_json_document_reader_matches_the_whole_document_read_at_once(seed: int) -> None:
    rng = random.Random(seed)
    data, records_path = _fuzz_document(rng, _common_records(rng))
    if data.removeprefix(b"\xef\xbb\xbf").startswith(b'{"meta"'):
        records_path = "data.list"
    guard = KeyGuard(lambda name: name in ("status", "code", "msg"))
    expected = _oracle_document(data, records_path, guard)
    for batches in (True, False):
        txdiag.formats.BATCH_BYTES = rng.choice([1, 40, 300, 4096, 1 << 16])
        txdiag.formats.BLOCK_SIZE = rng.choice([1, 7, 300, 1 << 20])
        try:
            got = [(i.line, i.cause.value) if isinstance(i, Unreadable) else i
                   for i in read_json_document(_opened(data), ReadStats(name="x"), 1 << 20,
                                               records_path, guard, batches=batches)]
        except TxdiagError:
            got = ["refused"]
        assert got == expected, batches


def test_deep_records_are_judged_by_json_in_documents(rulebook: Rulebook,
                                                     tmp_path: Path) -> None:
    """A record nested about as deep as the recursion limit allows: msgspec gives up first
    (it is called deeper), so ``json`` decides, in batches or not, in the fold or not."""
    limit = sys.getrecursionlimit()
    outcomes = set()
    for depth in range(limit - 200, limit + 20, 9):
        for field in ("note", "error"):
            data = (b'[{"status":"failed","code":"51"}, {"status":"failed", "' + field.encode()
                    + b'": ' + b"[" * depth + b"]" * depth + b'}, {"status":"ok"}]')
            path = tmp_path / "deep.json"
            path.write_bytes(data)
            items = []
            for batches in (True, False):
                try:
                    items.append([item if isinstance(item, Unreadable) else item[0]
                                  for item in read_json_document(
                                      _opened(data), ReadStats(name="x"), 1 << 20,
                                      batches=batches)])
                except TxdiagError as exc:
                    items.append([str(exc)])
            assert items[0] == items[1]
            expected = plain(rulebook, [str(path)])
            assert fast(rulebook, [str(path)]) == expected
            outcomes.add(expected["error"] is None)
    assert outcomes == {True, False}  # both sides of the limit were tried


@pytest.mark.parametrize("indent", [None, 2])
def test_json_document_batches_are_cut_and_taken(indent: int | None) -> None:
    """Pretty-printed or not, records come in batches (each item once, at its line), and a
    batch given back is read value by value."""
    records = [{"n": index, "msg": "a},{b" if index == 1000 else "x"} for index in range(2000)]
    data = json.dumps(records, indent=indent).encode()
    seen: list[int] = []

    def take(batch: Any) -> Any:
        try:
            values = list(map(json.loads, batch.data.split(b"\n")))
        except ValueError:
            return None  # cut inside a string: given back
        seen.append(batch.count)
        if len(seen) % 3 == 0:
            return None  # given back all the same
        return list(zip(batch.lines(), values, strict=True))

    got = list(read_json_document(_opened(data), ReadStats(name="x"), 1 << 20, take=take))
    assert [item[1] for item in got] == records  # type: ignore[index]
    expected = _oracle_document(data, None, KeyGuard(lambda name: False))
    assert [item[0] for item in got] == [item[0] for item in expected]  # type: ignore[index]
    assert len(seen) > 3 and sum(seen) > len(records) / 2


def unknown_failures(tmp_path: Path, records: int, fmt: str, *, seed: int = 11) -> Path:
    """A log of failures no rule explains, whose messages differ in numbers, ids, hex, quoted
    values and personal data, among successes and known failures, in time order."""
    rng = random.Random(seed)
    shapes = [
        lambda: f"ERR_4711 ledger mismatch for order {rng.randrange(10**5)} in batch "
                f"{rng.randrange(9)}",
        lambda: f"settlement worker T2026{rng.randrange(10**10):010d} stuck on "
                f"'{rng.choice(['pay-core', 'ledger'])}' trace={rng.getrandbits(64):016x}",
        lambda: f"对账差异 用户138{rng.randrange(10**8):08d} 金额{rng.randrange(1000)}元",
        lambda: f"odd state {rng.randrange(100)}",
        lambda: f"quota {rng.randrange(50)} of {rng.randrange(50)} used by "
                f"shard-{rng.randrange(400)}",  # many templates: shard ids are short codes
    ]
    rows: list[dict[str, Any]] = []
    for index in range(records):
        moment = BASE + timedelta(seconds=3 * index)
        row: dict[str, Any] = {"ts": moment.isoformat().replace("+00:00", "Z"),
                               "txn_id": f"T{index}",
                               "channel": rng.choice(["baitiao", "bank-gw", "iso8583"])}
        roll = rng.random()
        if roll < 0.3:
            row["status"] = "success"
        elif roll < 0.45:
            row.update(status="failed", code="51")
        else:
            row["status"] = "failed"
            if rng.random() < 0.3:
                row["code"] = rng.choice(["ZZ91", "ZZ92"])
            if rng.random() < 0.95:
                row["msg"] = rng.choice(shapes)()
        rows.append(row)
    path = tmp_path / f"unknown.{fmt}"
    if fmt == "jsonl":
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                        encoding="utf-8")
    elif fmt == "csv":
        columns = ["ts", "txn_id", "channel", "status", "code", "msg"]
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, columns, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    else:
        path.write_text("".join(" ".join(f"{k}={json.dumps(v, ensure_ascii=False)}"
                                         for k, v in r.items()) + "\n" for r in rows),
                        encoding="utf-8")
    return path


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "logfmt"])
@pytest.mark.parametrize("max_templates", [MAX_TEMPLATES, 40, 3])
def test_fold_mines_templates_like_plain(rulebook: Rulebook, tmp_path: Path, fmt: str,
                                         max_templates: int) -> None:
    path = unknown_failures(tmp_path, 5000, fmt)
    expected = plain(rulebook, [str(path)], max_templates=max_templates)
    mined = expected["unknown_templates"]
    assert mined["failures"] > 2000
    assert mined["capped"] == (max_templates < MAX_TEMPLATES)
    assert len(expected["templates"]) == min(max_templates, mined["distinct"])
    assert fast(rulebook, [str(path)], max_templates=max_templates) == expected
    window = TimeWindow(BASE + timedelta(hours=1), BASE + timedelta(hours=3))
    assert fast(rulebook, [str(path)], max_templates=max_templates, window=window) == plain(
        rulebook, [str(path)], max_templates=max_templates, window=window)


# -- diagnose rows --------------------------------------------------------------------------


_ROW_FORMATS = [OutputFormat.JSONL, OutputFormat.JSON, OutputFormat.CSV]


@pytest.mark.parametrize("fmt", _ROW_FORMATS)
@pytest.mark.parametrize("distinct", [False, True])
def test_rows_match_plain_on_generated_logs(rulebook: Rulebook, tmp_path: Path,
                                            fmt: OutputFormat, distinct: bool) -> None:
    path = generated(tmp_path, 4000, "jsonl", distinct=distinct)
    for presenter in (Presenter(), Presenter(mask=False), Presenter(lang="zh")):
        expected = plain(rulebook, [str(path)], rows=fmt, presenter=presenter)
        assert expected["rows"].count("\n") > 2000
        assert fast(rulebook, [str(path)], rows=fmt, presenter=presenter) == expected


def test_rows_come_in_parts_from_json_lines(rulebook: Rulebook, tmp_path: Path) -> None:
    """The rows of a JSON Lines input are handed over in parts (the outcome's fields and
    diagnosis once per key), not observed one by one."""
    path = generated(tmp_path, 3000, "jsonl", distinct=True)
    pipeline = Pipeline(rulebook)
    table = _Rows(pipeline, OutputFormat.JSONL, Presenter(), None, None)
    outcomes: set[int] = set()
    parts = table.feed.parts

    def counted(outcome: Extracted, *args: Any) -> None:
        outcomes.add(id(outcome))
        parts(outcome, *args)

    table.feed.parts = counted  # type: ignore[method-assign]
    summary = Summary()
    SummaryFold(pipeline, summary, rows=table.feed).run([str(path)])
    assert table.feed.shown == summary.failures > 1500
    # Every message is distinct: records whose code or status decides share an outcome (their
    # rows show their own message), those whose message decides (or may) have one each.
    assert 100 < len(outcomes) < 0.75 * table.feed.shown


def test_rows_match_plain_with_window_zone_strict_and_limits(rulebook: Rulebook,
                                                             tmp_path: Path) -> None:
    path = generated(tmp_path, 3000, "jsonl", distinct=True)
    broken = damaged(path, {
        2500: b'{"note": "no usable field"}',
        100: b'{"status": "failed", "msg": "\xff broken"}',
        50: b'{"ts": "2026-11-11T01:00:00Z", "status": "failed", "latency_ms": 31000,'
            b' "msg": "card 6222020000000000000 holder=Zhang San"}'})
    variants: list[dict[str, Any]] = [
        *TIME_AND_STRICT,
        {"categories": {"network", "system"}},
        {"limit": 7},
        {"categories": {"balance"}, "limit": 40, "window": WINDOW},
    ]
    for options in variants:
        for path_ in (path, broken):
            for fmt in _ROW_FORMATS:
                expected = plain(rulebook, [str(path_)], rows=fmt, **options)
                assert fast(rulebook, [str(path_)], rows=fmt, **options) == expected


def test_rows_match_plain_with_user_field_maps_and_profiles(rulebook: Rulebook,
                                                            tmp_path: Path) -> None:
    """Field names of a user's map (an amount in fen, several id names, a nested code) and a
    profile's constants hand the rows the same fields as the normalizer finds."""
    rng = random.Random(5)
    path = tmp_path / "mapped.jsonl"
    records = []
    for index in range(1500):
        record: dict[str, Any] = {
            "when": (BASE + timedelta(seconds=index * 7)).isoformat(),
            "state": rng.choice(["FAIL", "FAIL", "OK"]),
            "err": rng.choice([{"no": "51"}, {"no": "ACQ.SYSTEM_ERROR"}, {"text": "超时"},
                               {"no": ""}, {}]),
            "fen": rng.choice([1999, "1999", "19.99", None, ""]),
            rng.choice(["order_no", "trade_no", "serial"]): f"O{index:010d}",
            "phone_user": rng.choice(["13812345678", "u1", ""]),
            "cost": rng.choice([120, 31000, "45", None]),
            "period": rng.choice([3, "6", 1.5, None]),
        }
        if rng.random() < 0.3:
            record["order_no"] = rng.choice(["", None, "A1"])
        records.append(record)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                    encoding="utf-8")
    field_map = FieldMap.default().with_overrides({
        "timestamp": ["when"], "status": ["state"], "error_code": ["err.no"],
        "error_message": ["err.text"], "amount": ["fen", "total_fee"],
        "txn_id": ["serial", "order_no", "trade_no"], "user_id": ["phone_user"],
        "latency_ms": ["cost"], "installments": ["period"]})
    for options in ({"field_map": field_map},
                    {"field_map": field_map, "constants": {"channel": "alipay",
                                                           "currency": "CNY"}},
                    {"field_map": field_map, "status_values": {"FAIL": "failed",
                                                               "OK": "success"}}):
        for fmt in _ROW_FORMATS:
            expected = plain(rulebook, [str(path)], rows=fmt, **options)
            assert expected["rows"].count("\n") > 300
            assert fast(rulebook, [str(path)], rows=fmt, **options) == expected


def test_rows_match_plain_with_amount_objects(rulebook: Rulebook, tmp_path: Path) -> None:
    """An amount given as an object (WeChat Pay v3: ``{"total": 1999, "currency": "CNY"}``,
    in fen) or as a value, and a currency beside it or inside it, as the normalizer reads
    them."""
    rng = random.Random(9)
    path = tmp_path / "amounts.jsonl"
    records = []
    for index in range(1200):
        record: dict[str, Any] = {"ts": (BASE + timedelta(seconds=index)).isoformat(),
                                  "txn_id": f"T{index}", "status": "failed",
                                  "code": rng.choice(["51", "NOTENOUGH", "X9"])}
        record["amount"] = rng.choice([
            {"total": rng.choice([1999, "1999", None, "", 12.5]), "currency": "CNY"},
            {"total": 5}, {"currency": "USD"}, {}, "19.99", 1999, None, "", [1]])
        if rng.random() < 0.5:
            record["currency"] = rng.choice(["CNY", "", None])
        if rng.random() < 0.2:
            record["total_fee"] = rng.choice([1999, "", None])
        records.append(record)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    for fmt in _ROW_FORMATS:
        expected = plain(rulebook, [str(path)], rows=fmt)
        assert expected["rows"].count("\n") > 1000
        assert fast(rulebook, [str(path)], rows=fmt) == expected


# -- check ----------------------------------------------------------------------------------


@pytest.mark.parametrize("distinct", [False, True])
def test_gate_matches_plain(rulebook: Rulebook, tmp_path: Path, distinct: bool) -> None:
    path = generated(tmp_path, 4000, "jsonl", distinct=distinct)
    broken = damaged(path, {
        1200: b'{"note": "no usable field"}',
        300: b'{"txn_id": "T1", "ts": "2026-11-11T01:00:00+08:00", "status": "x"}',
        30: b'{"txn_id": "T2", "status": "failed", "ts": "yesterday"}'})
    for options in ({}, *TIME_AND_STRICT):
        for check in (0, 60, 3600):
            for path_ in (path, broken):
                expected = plain(rulebook, [str(path_)], check=check, **options)
                assert "GateResult" in expected["check"]
                assert fast(rulebook, [str(path_)], check=check, **options) == expected
    csv_path = generated(tmp_path, 1500, "csv")
    assert fast(rulebook, [str(csv_path)], check=300) == plain(rulebook, [str(csv_path)],
                                                                check=300)


def _unquoted_csv(tmp_path: Path, records: int, distinct: bool) -> Path:
    """Generated CSV without a quote (commas in messages made semicolons): folded in chunks."""
    path = generated(tmp_path, records, "csv", distinct=distinct)
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    unquoted = path.with_name("unquoted-" + path.name)
    unquoted.write_text("".join(",".join(cell.replace(",", ";").replace('"', "'")
                                         for cell in row) + "\n" for row in rows),
                        encoding="utf-8")
    return unquoted


@pytest.mark.parametrize("distinct", [False, True])
def test_rows_and_gate_of_csv_match_plain(rulebook: Rulebook, tmp_path: Path,
                                          distinct: bool) -> None:
    # CSV chunks hand diagnose its rows and check's gate its verdicts in batches too.
    path = _unquoted_csv(tmp_path, 3000, distinct)
    broken = damaged(path, {1200: b"only,one,cell", 300: b",,,,,,,,,,,"})
    for path_ in (path, broken):
        for options in ({}, *TIME_AND_STRICT):
            for fmt in (OutputFormat.JSONL, OutputFormat.CSV):
                expected = plain(rulebook, [str(path_)], rows=fmt, **options)
                assert fast(rulebook, [str(path_)], rows=fmt, **options) == expected
            for check in (0, 60):
                expected = plain(rulebook, [str(path_)], check=check, **options)
                assert fast(rulebook, [str(path_)], check=check, **options) == expected
        assert plain(rulebook, [str(path_)], rows=OutputFormat.JSONL)["rows"].count("\n") > 1500


# -- --jobs --------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_jobs_give_the_output_of_one_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             method: str) -> None:
    if method == "fork" and "fork" not in __import__("multiprocessing").get_all_start_methods():
        pytest.skip("no fork on this platform")
    path = generated(tmp_path, 8000, "jsonl")
    lines = path.read_bytes().splitlines(keepends=True)
    for at in (10, 4000, 7990):  # unreadable lines in every range, line numbers to shift
        lines.insert(at, b"not json\n")
    path.write_bytes(b"".join(lines))
    monkeypatch.setattr(txdiag.jobs, "MIN_SPLIT_BYTES", 1)
    monkeypatch.setenv(txdiag.jobs.START_METHOD_ENV, method)
    runner = CliRunner()
    outputs = []
    for jobs in ("1", "2", "3"):
        result = runner.invoke(app, ["summary", str(path), "--format", "json", "--jobs", jobs],
                               catch_exceptions=False)
        assert result.exit_code == 0, result.output
        outputs.append(result.stdout)
    assert outputs[0] == outputs[1] == outputs[2]
    summary = json.loads(outputs[0])
    assert summary["totals"]["unreadable"] == 3
    assert [e["line"] for e in summary["unreadable"]["examples"]] == [11, 4001, 7991]


def test_jobs_stop_at_the_first_unreadable_under_strict(
        rulebook: Rulebook, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = generated(tmp_path, 6000, "jsonl")
    lines = path.read_bytes().splitlines(keepends=True)
    lines.insert(4500, b"[1]\n")
    path.write_bytes(b"".join(lines))
    monkeypatch.setattr(txdiag.jobs, "MIN_SPLIT_BYTES", 1)
    options: dict[str, Any] = {"read_options": ReadOptions(strict=True)}
    one = fast(rulebook, [str(path)], watched=False, **options)
    assert one["error"] is not None and ":4501:" in one["error"]
    assert fast(rulebook, [str(path)], jobs=2, **options) == one
    assert fast(rulebook, [str(path)], jobs=4, **options) == one


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_jobs_mine_the_templates_of_one_process(rulebook: Rulebook, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                method: str) -> None:
    if method == "fork" and "fork" not in __import__("multiprocessing").get_all_start_methods():
        pytest.skip("no fork on this platform")
    path = unknown_failures(tmp_path, 8000, "jsonl")
    monkeypatch.setattr(txdiag.jobs, "MIN_SPLIT_BYTES", 1)
    monkeypatch.setenv(txdiag.jobs.START_METHOD_ENV, method)
    one = fast(rulebook, [str(path)], watched=False)
    assert one["unknown_templates"]["distinct"] > 100 and not one["unknown_templates"]["capped"]
    assert fast(rulebook, [str(path)], jobs=2) == one
    assert fast(rulebook, [str(path)], jobs=3) == one
    runner = CliRunner()
    outputs = [runner.invoke(app, ["summary", str(path), "-f", "json", "--top", "50", "-j", jobs],
                             catch_exceptions=False).stdout for jobs in ("1", "2")]
    assert outputs[0] == outputs[1]
    # --no-mask reaches the workers: a template first seen in a later part has a raw example
    late = tmp_path / "late.jsonl"
    late.write_bytes(generated(tmp_path, 6000, "jsonl").read_bytes() + path.read_bytes())
    outputs = [runner.invoke(app, ["summary", str(late), "-f", "json", "--no-mask", "-j", jobs],
                             catch_exceptions=False).stdout for jobs in ("1", "2")]
    assert outputs[0] == outputs[1]
    assert re.search(r"用户138[0-9]{8} ", outputs[0])
    # Under the cap, a part may count in its overflow failures of a template an earlier part
    # kept: the kept templates, their order and examples are the same, and nothing is lost.
    capped = fast(rulebook, [str(path)], max_templates=20)
    split = fast(rulebook, [str(path)], jobs=2, max_templates=20)
    assert [row[:3] + row[4:] for row in split["templates"]] == [
        row[:3] + row[4:] for row in capped["templates"]]
    assert split["unknown_templates"]["failures"] == capped["unknown_templates"]["failures"]
    assert split["unknown_templates"]["capped"]


def test_progress_follows_the_range_read_here_under_jobs(
        rulebook: Rulebook, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bar used to stay at the format sniff's 0.1 MB while the records climbed."""
    path = generated(tmp_path, 8000, "jsonl")
    monkeypatch.setattr(txdiag.jobs, "MIN_SPLIT_BYTES", 1)
    ledger = RunLedger()
    seen: list[tuple[int, int | None]] = []

    def progress(count: int) -> None:
        if ledger.current is not None:
            seen.append(ledger.current.position())

    SummaryFold(Pipeline(rulebook), Summary(), None, on_progress=progress, jobs=2,
                ledger=ledger).run([str(path)])
    (first_end,) = {total for _, total in seen if total is not None} - {path.stat().st_size}
    done = [position for position, total in seen if total == first_end]
    assert done == sorted(done) and len(set(done)) > 1  # it moves, forward
    assert done[-1] == first_end > 2 * 65536


def test_split_points_start_lines(tmp_path: Path) -> None:
    path = tmp_path / "lines.jsonl"
    path.write_bytes(b"".join(b'{"n":%d}\n' % n for n in range(1000)))
    for parts in (1, 2, 3, 7):
        ranges = txdiag.jobs.split_points(str(path), parts)
        data = path.read_bytes()
        assert ranges[0][0] == 0 and ranges[-1][1] == len(data)
        for (_, end), (start, _) in zip(ranges, ranges[1:], strict=False):
            assert end == start and data[start - 1:start] == b"\n"


# -- readers against the line-by-line versions they replaced ---------------------------------


def _oracle_lines(data: bytes, max_line_bytes: int) -> Iterator[tuple[int, bytes | None]]:
    """iter_lines as it was: the file as one stream of lines."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for number, part in enumerate(lines, 1):
        yield number, None if len(part) > max_line_bytes else (
            part[:-1] if part.endswith(b"\r") else part)


def _oracle_jsonl(data: bytes, max_line_bytes: int) -> list[Any]:
    """read_jsonl as it was: json.loads per line."""
    out: list[Any] = []
    for number, raw in _oracle_lines(data, max_line_bytes):
        if raw is None:
            out.append((number, "line_too_long"))
            continue
        raw = raw.removeprefix(b"\xef\xbb\xbf")  # on any line: files may be concatenated
        if not raw.strip():
            continue
        try:
            value = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            out.append((number, "bad_encoding"))
            continue
        except (ValueError, RecursionError):
            out.append((number, "invalid_json"))
            continue
        out.append((number, value) if isinstance(value, dict) else (number, "not_an_object"))
    return out


def _opened(data: bytes) -> OpenedInput:
    return OpenedInput("x", io.BufferedReader(io.BytesIO(data)), None, b"")


_PIECES = [b'{"a":1}', b'{"b":"x"}', b'{"c":{"d":[1,2]}}', b"[1]", b"5", b"", b"   ", b'{"a":',
           b"1}", b'{"a":1} {"b":2}', b'{"a":1}{"b":2}', b'\xef\xbb\xbf{"a":1}', b'{"x":"\xff"}',
           b'{"x":"\xe4\xb8\xad"}', b'{"a":NaN}', b'{"a":1e999}', b'{"a":"\\ud800"}',
           b'{"a":1,"a":2}', b'{"a":1}\r', b' {"a":1}', b'{"a":1} ', b'{"a":"\x01"}', b"\x0c",
           b"null", b"{}", b'{"k":"' + b"y" * 40 + b'"}', b"{" * 3000 + b"}" * 3000]


@settings(deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=14), st.sampled_from([b"", b"\n", b"\r\n"]),
       st.sampled_from([20, 60, 1 << 20]), st.sampled_from([1, 3, 16, 64, 1 << 16]))
def test_chunked_jsonl_reader_matches_line_by_line(pieces: list[bytes], end: bytes,
                                                   max_line_bytes: int, size: int) -> None:
    data = b"\n".join(pieces) + end
    txdiag.sources.CHUNK_SIZE = size
    stats = ReadStats(name="x")
    got = [(i.line, i.cause.value) if isinstance(i, Unreadable) else i
           for i in read_jsonl(_opened(data), stats, max_line_bytes)]
    assert got == _oracle_jsonl(data, max_line_bytes)
    assert stats.lines.lines == len(list(_oracle_lines(data, max_line_bytes)))


@given(st.binary(max_size=80).map(lambda b: b.replace(b"\x00", b"a")),
       st.sampled_from([1, 2, 5, 1 << 20]), st.sampled_from([1, 2, 3, 64]))
def test_chunked_line_splitter_matches_the_stream(data: bytes, max_line_bytes: int,
                                                  size: int) -> None:
    txdiag.sources.BLOCK_SIZE = size
    try:
        stats = txdiag.sources.LineStats()
        got = list(iter_lines(_opened(data), stats, max_line_bytes=max_line_bytes))
    finally:
        txdiag.sources.BLOCK_SIZE = 1 << 20
    assert got == list(_oracle_lines(data, max_line_bytes))
    assert stats.too_long == sum(1 for _, line in got if line is None)


@given(st.lists(st.sampled_from(["a,b,c", "1,2,3", '"x,y",2,3', '"multi', 'line",2,3', "",
                                 "  ", "1,2", "1,2,3,4", '"a""b",2,3', "é,2,3", "x\r"]),
                max_size=10))
def test_push_based_csv_rows_match_csv_reader(lines: list[str]) -> None:
    data = ("\n".join(lines) + "\n").encode()
    stats = ReadStats(name="x")
    got = [(i.line, i.cause.value) if isinstance(i, Unreadable) else i
           for i in read_csv(_opened(data), stats, 1 << 20)]
    # The oracle: csv.reader over the whole text yields the same records where rows are
    # well formed; the push reader must at least agree on every well-formed file.
    if all(line.count('"') % 2 == 0 and line.strip() for line in lines) and lines:
        rows = list(csv.reader(io.StringIO("\n".join(lines) + "\n")))
        header, body = rows[0], rows[1:]
        # A row repeating the header (files concatenated) is no record.
        expected = [(n + 2, {k: v for k, v in zip(header, row, strict=True) if v != ""})
                    for n, row in enumerate(body)
                    if len(row) == len(header) and [c.strip() for c in row] != header]
        assert [g for g in got if isinstance(g[1], dict)] == expected


# -- extraction ----------------------------------------------------------------------------


_RECORD = st.dictionaries(st.sampled_from([*_FIELDS, "x", "gw"]),
                          st.sampled_from([*_VALUES, {"a": {"code": "7"}}, {"name": "unionpay"},
                                           1e300]), max_size=8)


@settings(deadline=None)
@given(_RECORD)
def test_compiled_extraction_matches_key_by_key(rulebook: Rulebook,
                                                record: dict[str, Any]) -> None:
    custom = FieldMap.default().with_overrides(
        {"error_code": ["x.a.code", "code", "resp_code"], "channel": ["gw.name", "channel"]})
    for field_map, constants in ((None, None), (custom, {"channel": "alipay"})):
        normalizer = Normalizer(rulebook, field_map, constants=constants)
        fast_fields = normalizer.extract(record)
        plain_fields = normalizer.extract_generic(record)
        assert (asdict(fast_fields) if fast_fields else None) == (
            asdict(plain_fields) if plain_fields else None)


def test_csv_input_format_forced(rulebook: Rulebook, tmp_path: Path) -> None:
    path = generated(tmp_path, 2000, "csv")
    options: dict[str, Any] = {"read_options": ReadOptions(input_format=InputFormat.CSV)}
    assert fast(rulebook, [str(path)], **options) == plain(rulebook, [str(path)], **options)


def test_text_templates_fold_like_plain(rulebook: Rulebook, tmp_path: Path) -> None:
    lines = []
    rng = random.Random(3)
    for index in range(3000):
        moment = BASE + timedelta(seconds=7 * index)
        level = rng.choice(["ERROR", "INFO", "WARN"])
        code = rng.choice(["51", "05", "96", "ACQ.SYSTEM_ERROR", ""])
        message = rng.choice(["余额不足", "Read timed out", "ok", "odd state 4711"])
        tail = f"txn=T{index} code={code} msg={message}" if code else f"txn=T{index}"
        lines.append(f"{moment:%Y-%m-%d %H:%M:%S}.{index % 1000:03d} {level} [pay-gw] {tail}")
        if rng.random() < 0.05:
            lines.append("    at com.pay.Gateway.call(Gateway.java:42)")
        if rng.random() < 0.01:
            lines.append("garbage without a template")
    path = tmp_path / "gateway.log"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for strict in (False, True):
        options: dict[str, Any] = {"read_options": ReadOptions(strict=strict)}
        assert fast(rulebook, [str(path)], **options) == plain(rulebook, [str(path)], **options)
        # diagnose's rows and check's gate, in batches too (each record with its own line)
        for wanted in ({"rows": OutputFormat.JSONL}, {"rows": OutputFormat.CSV}, {"check": 60},
                       {"check": 0, "window": WINDOW}):
            assert fast(rulebook, [str(path)], **options, **wanted) == plain(
                rulebook, [str(path)], **options, **wanted)


@pytest.mark.parametrize("distinct", [False, True])
def test_rows_and_gate_of_logfmt_match_plain(rulebook: Rulebook, tmp_path: Path,
                                             distinct: bool) -> None:
    path = generated(tmp_path, 3000, "logfmt", distinct=distinct)
    broken = damaged(path, {1200: b"no pairs here at all", 300: b'status="unclosed'})
    for path_ in (path, broken):
        for options in ({}, *TIME_AND_STRICT):
            for wanted in ({"rows": OutputFormat.JSONL}, {"check": 60}):
                assert fast(rulebook, [str(path_)], **options, **wanted) == plain(
                    rulebook, [str(path_)], **options, **wanted)


@settings(deadline=None)
@given(st.sampled_from([None, "alipay", "iso8583", "wechatpay", "unionpay", "card", "stripe",
                        "nowhere"]),
       st.lists(st.sampled_from(["51", "05", "ACQ.SYSTEM_ERROR", "40004", "card_declined",
                                 "insufficient_funds", "NOTENOUGH", "SUCCESS", "zz"]),
                max_size=2),
       st.sampled_from([None, "余额不足", "Read timed out", "系统繁忙，请稍后再试", "odd",
                        "connection reset by peer"]),
       st.sampled_from([None, 200, 404, 429, 503]), st.sampled_from([None, 50.0, 31000.0]),
       st.sampled_from([None, "failed", "pending", "USERPAYING"]))
def test_decide_is_the_head_of_the_precedence(rulebook: Rulebook, channel: str | None,
                                              codes: list[str], message: str | None,
                                              http_status: int | None, latency: float | None,
                                              status: str | None) -> None:
    from txdiag.classify import Classifier

    classifier = Classifier(rulebook)
    pairs = tuple(("code", code) for code in codes)
    decided = classifier.decide(channel=channel, codes=pairs, message=message,
                                http_status=http_status, latency_ms=latency, status=status)
    diagnosis = classifier.classify(channel=channel, codes=pairs, message=message,
                                    http_status=http_status, latency_ms=latency, status=status)
    assert (decided.rule.id if decided else None) == diagnosis.evidence.rule_id
    assert (decided.level if decided else "none") == diagnosis.evidence.level


def test_an_observed_outcome_is_never_mistaken_for_a_key(rulebook: Rulebook,
                                                         tmp_path: Path) -> None:
    # A record observed on its own (only a channel and a transaction id: a success) has the
    # outcome ("alipay", None, "(none)"); the key of the record after it holds the same three
    # values. They must stay two different things.
    lines = [{"channel": "alipay", "status": "failed", "code": "51"},
             {"channel": "alipay", "txn_id": "T1"},
             {"channel": "alipay", "code": "(none)"}] * 50
    path = tmp_path / "collide.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    assert fast(rulebook, [str(path)]) == plain(rulebook, [str(path)])


@settings(deadline=None)
@given(st.sampled_from([None, "alipay", "iso8583", "wechatpay", "unionpay", "card", "stripe",
                        "baitiao", "nowhere"]),
       st.lists(st.sampled_from(["51", "05", "03", "ACQ.SYSTEM_ERROR", "40004", "card_declined",
                                 "insufficient_funds", "NOTENOUGH", "SUCCESS", "zz"]),
                max_size=2),
       st.sampled_from([None, "failed", "pending", "USERPAYING", "FAIL"]),
       st.lists(st.sampled_from(["余额不足", "Read timed out", "系统繁忙，请稍后再试", "odd", "",
                                 "connection reset by peer", "Card expired", "风险交易",
                                 "卡号无效 order 202611110000123"]), min_size=1, max_size=4),
       st.sampled_from([None, 200, 503]), st.sampled_from([None, 50.0, 31000.0]))
def test_what_decides_before_the_message_decides_whatever_the_message(
        rulebook: Rulebook, channel: str | None, codes: list[str], status: str | None,
        messages: list[str], http_status: int | None, latency: float | None) -> None:
    # What lets records differing only in their message share one key in the fold.
    from txdiag.classify import Classifier

    classifier = Classifier(rulebook)
    pairs = tuple(("code", code) for code in codes)
    before = classifier.decided_before_message(channel=channel, codes=pairs, status=status)
    if before is None:
        return
    for message in messages:
        decided = classifier.decide(channel=channel, codes=pairs, message=message,
                                    http_status=http_status, latency_ms=latency, status=status)
        assert decided == before, message


def test_keys_of_one_input_do_not_answer_for_another(rulebook: Rulebook,
                                                     tmp_path: Path) -> None:
    # The same values under names in another order mean other things: a status of the first
    # file is a message of the second. Each input is read as it would be alone.
    first = tmp_path / "first.jsonl"
    first.write_text('{"status": "failed", "msg": "insufficient balance"}\n' * 3,
                     encoding="utf-8")
    second = tmp_path / "second.jsonl"
    second.write_text('{"msg": "failed", "status": "insufficient balance"}\n' * 3,
                      encoding="utf-8")
    first_csv = tmp_path / "first.csv"
    first_csv.write_text("status,msg\nfailed,insufficient balance\n" * 1, encoding="utf-8")
    second_csv = tmp_path / "second.csv"
    second_csv.write_text("msg,status\nfailed,insufficient balance\n", encoding="utf-8")
    names = [str(first), str(second), str(first_csv), str(second_csv), str(first)]
    expected = plain(rulebook, names)
    assert expected["totals"]["failures"] == 7 and expected["totals"]["successes"] == 4
    assert fast(rulebook, names) == expected


def _messages_everywhere(rng: random.Random, count: int) -> list[dict[str, Any]]:
    """Records whose messages all differ (an order number and a trace id), at the top and
    inside objects, for channels whose codes decide, whose messages come first, and with no
    code at all."""
    records: list[dict[str, Any]] = []
    for index in range(count):
        tail = f" (order O{index:012d}, trace {rng.getrandbits(64):016x})"
        record: dict[str, Any] = {"ts": (BASE + timedelta(seconds=7 * index)).isoformat(),
                                  "txn_id": f"T{index}"}
        shape = rng.randrange(7)
        if shape == 0:
            record |= {"channel": "stripe", "status": "failed",
                       "error": {"code": rng.choice(["card_declined", "expired_card", "zz"]),
                                 "decline_code": rng.choice(["insufficient_funds", None]),
                                 "message": rng.choice(["Your card was declined", "odd"]) + tail}}
        elif shape == 1:
            record |= {"channel": "unionpay", "status": "failed",
                       "respCode": rng.choice(["03", "06", "51"]),
                       "respMsg": rng.choice(["交易超时", "商户未开通", "odd"]) + tail}
        elif shape == 2:
            record |= {"channel": "baitiao", "status": rng.choice(["failed", None]),
                       "err_msg": rng.choice(["额度不足", "ERR_4711 unexpected state", "成功"])
                       + tail}
        elif shape == 3:
            record |= {"channel": "alipay", "status": rng.choice(["failed", "success"]),
                       "code": rng.choice(["40004", "10000"]),
                       "sub_code": rng.choice(["ACQ.SYSTEM_ERROR", None]),
                       "msg": "Business Failed" + tail,
                       "sub_msg": rng.choice(["余额不足", "x"]) + tail}
        elif shape == 4:
            record |= {"channel": "bank-gw", "status": "failed",
                       "http_status": rng.choice([503, None]),
                       "error": rng.choice(["read: connection reset by peer", "odd"]) + tail}
        elif shape == 5:
            record |= {"channel": "wechatpay", "return_code": "SUCCESS",
                       "result_code": rng.choice(["SUCCESS", "FAIL"]),
                       "err_code": rng.choice(["NOTENOUGH", None]),
                       "err_code_des": "余额不足" + tail}
        else:
            record |= {"status": "failed", "code": rng.choice(["51", "05", None]),
                       "message": rng.choice(["Insufficient funds", "Do not honor"]) + tail,
                       "latency_ms": rng.choice([10, 40000])}
        records.append({key: value for key, value in record.items() if value is not None})
    return records


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_records_differing_in_their_message_fold_like_plain(rulebook: Rulebook,
                                                           tmp_path: Path, fmt: str) -> None:
    # Where a code or a status decides, records of many messages share one key; where the
    # message decides (or may), each keeps its own: the answers are those of one by one.
    records = _messages_everywhere(random.Random(5), 3000)
    path = tmp_path / f"messages.{fmt}"
    if fmt == "jsonl":
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                        encoding="utf-8")
    else:
        # (no comma, so no quote: the CSV chunks are folded at once)
        records = [{key: str(value).replace(",", ";") for key, value in record.items()}
                   for record in records]
        columns = sorted({key for record in records for key in record if key != "error"})
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, columns, lineterminator="\n", extrasaction="ignore")
            writer.writeheader()
            writer.writerows(records)
    expected = plain(rulebook, [str(path)])
    assert expected["totals"]["records"] == 3000
    assert expected["unknown_templates"]["templates"], "messages no rule explains should show"
    assert fast(rulebook, [str(path)]) == expected
    assert fast(rulebook, [str(path)], check=0) == plain(rulebook, [str(path)], check=0)
    # diagnose's rows: each shows its own message, also where its outcome is shared
    for rows in (OutputFormat.JSONL, OutputFormat.CSV):
        shown = fast(rulebook, [str(path)], rows=rows)
        assert shown == plain(rulebook, [str(path)], rows=rows)
        if rows is OutputFormat.JSONL:  # (each message differs, and rows show their own)
            messages = [json.loads(line)["error_message"] for line in shown["rows"].splitlines()]
            assert len({m for m in messages if m}) == len([m for m in messages if m]) > 1000


_CELLS = ["", " ", "failed", "success", "pending", "FAIL", "alipay", "iso8583", "unionpay",
          "baitiao", "stripe", "51", "05", "03", "503", "0", "余额不足", "Not sufficient funds",
          "ERR_4711 odd state", "交易超时 order 202611110000123", "SUCCESS", "10000", "30011",
          "card_declined", "40000", "12.5"]


@settings(deadline=None, max_examples=40)
@given(st.integers(0, 2**32 - 1))
def test_csv_and_logfmt_batches_match_plain_on_fuzzed_rows(rulebook: Rulebook,
                                                           tmp_path_factory: Any,
                                                           seed: int) -> None:
    # Random headers (deciding columns in any order, twice, or missing), cells and damaged
    # lines; summary, diagnose's rows and check's gate as record by record gives them.
    rng = random.Random(seed)
    names = ["ts", "txn_id", "channel", "status", "code", "msg", "http_status", "latency_ms",
             "sub_msg", "note"]
    header = rng.sample(names, rng.randrange(2, len(names) + 1))
    if rng.random() < 0.1:
        header.append(rng.choice(header))  # a column given twice
    lines: list[str] = []
    for index in range(rng.randrange(300)):
        cells = {name: rng.choice(_CELLS) for name in header}
        cells["ts"] = (BASE + timedelta(seconds=rng.randrange(20000))).isoformat()
        cells["txn_id"] = f"T{index}" if rng.random() < 0.9 else ""
        cells["latency_ms"] = str(rng.choice([10, 30000, 61000]))
        if rng.random() < 0.02:
            lines.append(rng.choice(["garbage", '"open,quote', ",".join(header), "a,b"]))
            continue
        lines.append(",".join(cells[name] for name in header))
    folder = tmp_path_factory.mktemp("fuzzcsv")
    table = folder / "fuzz.csv"
    table.write_text(",".join(header) + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    pairs = folder / "fuzz.log"
    pairs.write_text("".join(
        " ".join(f"{name}={value.replace(' ', '_') or '_'}"
                 for name, value in zip(header, line.split(","), strict=False)) + "\n"
        for line in lines), encoding="utf-8")
    txdiag.sources.CHUNK_SIZE = rng.choice([7, 300, 4096])
    options: dict[str, Any] = {}
    if rng.random() < 0.3:
        options["read_options"] = ReadOptions(strict=True)
    if rng.random() < 0.3:
        options["window"] = TimeWindow(BASE + timedelta(seconds=rng.randrange(10000)),
                                       BASE + timedelta(seconds=rng.randrange(10000, 25000)))
    wanted: dict[str, Any] = rng.choice([{}, {"rows": OutputFormat.JSONL},
                                         {"rows": OutputFormat.CSV}, {"check": 0},
                                         {"check": 60}])
    assert fast(rulebook, [str(table)], **options, **wanted) == plain(
        rulebook, [str(table)], **options, **wanted)
    # (logfmt under --strict is left out: stopped by a record without a usable field, the
    # batch reader has read up to 512 records further than the plain reader, and says so in
    # the input's line count; everything else agrees)
    options.pop("read_options", None)
    assert fast(rulebook, [str(pairs)], **options, **wanted) == plain(
        rulebook, [str(pairs)], **options, **wanted)
