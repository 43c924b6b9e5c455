"""Fuzzing the readers: no input can crash a run, and every line is accounted for.

Arbitrary bytes and structured-ish lines (JSON objects with random fields, CSV/TSV rows, logfmt,
text-template lines with stack traces) are written to a file, optionally gzip/bz2/xz-compressed
and optionally truncated, and read with every ``--input-format``. Only
:class:`txdiag.errors.TxdiagError` may escape, and the accounting of docs/formats.md holds.

Hypothesis example counts are kept small: the whole file runs in a few seconds on two cores.
"""

from __future__ import annotations

import bz2
import contextlib
import copy
import dataclasses
import gzip
import json
import lzma
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from txdiag.aggregate import Summary
from txdiag.errors import InputError, TxdiagError
from txdiag.formats import read_records
from txdiag.pipeline import Event, Observation, Pipeline, ReadOptions, RunLedger
from txdiag.readers import InputFormat, ReadStats, Unreadable, UnreadableCause
from txdiag.rulebook import Rulebook, load_rulebook
from txdiag.sources import open_input

NASTY_DIR = Path(__file__).parent.parent / "data" / "nasty"
NASTY_FILES = sorted(p for p in NASTY_DIR.iterdir() if p.is_file())

RULEBOOK: Rulebook = load_rulebook()
"""Built once: hypothesis examples must not rebuild the rulebook (and may not use fixtures)."""

COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "none": lambda data: data,
    "gzip": gzip.compress,
    "bz2": bz2.compress,
    "xz": lzma.compress,
}
SMALL_MAX_LINE = 200
"""A small --max-line-bytes so that generated inputs also exercise the over-long-line path."""

FUZZ = settings(
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# --------------------------------------------------------------------------------------------
# running an input


class Workdir:
    """One scratch file per test, rewritten for every example (tmp_path is per test only)."""

    def __init__(self, root: Path) -> None:
        self.path = root / "input.log"

    def write(self, data: bytes, compression: str = "none", cut: int = 0) -> Path:
        blob = COMPRESSORS[compression](data)
        if cut and compression != "none":
            blob = blob[: max(0, len(blob) - cut)]
        self.path.write_bytes(blob)
        return self.path


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Workdir:
    return Workdir(tmp_path_factory.mktemp("fuzz"))


_PROTOTYPES: dict[tuple[InputFormat, int], Pipeline] = {}


def pipeline_for(fmt: InputFormat, max_line_bytes: int, *, fresh: bool = False) -> Pipeline:
    """A pipeline with no input read yet.

    Building one compiles every rule pattern (about 50 ms), so examples share a prototype's
    classifier and normalizer; ``fresh`` builds a new one (for the determinism checks).
    """
    options = ReadOptions(input_format=fmt, max_line_bytes=max_line_bytes)
    if fresh:
        return Pipeline(RULEBOOK, read_options=options)
    proto = _PROTOTYPES.get((fmt, max_line_bytes))
    if proto is None:
        proto = _PROTOTYPES[(fmt, max_line_bytes)] = Pipeline(RULEBOOK, read_options=options)
    return copy.copy(proto)


class Run:
    """The outcome of reading one input through the pipeline."""

    def __init__(self, path: Path, fmt: InputFormat, max_line_bytes: int = SMALL_MAX_LINE,
                 *, fresh: bool = False) -> None:
        self.pipeline = pipeline_for(fmt, max_line_bytes, fresh=fresh)
        self.ledger = RunLedger()
        self.summary = Summary()
        self.events: list[Event] = []
        self.error: TxdiagError | None = None
        try:
            for event in self.pipeline.run([str(path)], self.ledger):
                self.summary.add(event)
                self.events.append(event)
        except TxdiagError as exc:
            self.error = exc

    @property
    def stats(self) -> ReadStats:
        return self.ledger.inputs[-1]

    def event_lines(self) -> list[int]:
        return [event.line for event in self.events]


def starts_with_brace(path: Path) -> bool:
    """Input whose first line format detection parses as JSON."""
    opened = open_input(str(path))
    try:
        head = opened.sample.removeprefix(b"\xef\xbb\xbf").lstrip()
    finally:
        opened.close()
    return head[:1] == b"{"


def check_events(run: Run) -> None:
    """What holds for every run that read to the end, whatever the format."""
    s = run.summary
    assert s.records == s.successes + s.failures
    assert s.unreadable == sum(s.unreadable_by_cause.values())
    assert s.records + s.unreadable == len(run.events)
    for event in run.events:
        if isinstance(event, Unreadable):
            assert isinstance(event.cause, UnreadableCause)
        else:
            assert isinstance(event, Observation)
            assert event.line >= 1
            assert (event.diagnosis is None) != event.fields.failed


def check_line_accounting(run: Run, *, extra: int = 0) -> None:
    """Every physical line is a record, a blank line, an unreadable one (or ``extra``)."""
    stats = run.stats
    s = run.summary
    lines = stats.lines.lines
    assert lines == s.records + stats.blank_lines + s.unreadable + stats.attached_lines + extra
    numbers = run.event_lines()
    assert len(numbers) == len(set(numbers)), "a line was counted twice"
    assert all(1 <= n <= lines for n in numbers)


# --------------------------------------------------------------------------------------------
# generated inputs

FIELD_NAMES = [
    "txn_id", "order_id", "ts", "time", "status", "trade_status", "channel", "code", "sub_code",
    "resp_code", "msg", "error_message", "error", "http_status", "latency_ms", "amount",
    "currency", "installments", "user_id", "Code", "STATUS", "",
]
NASTY_TEXT = st.sampled_from([
    "\x1b[31m", "\x1b]0;t\x07", "\x9b0m", "\u202e", "\u200b", "\n", "\r", "\t", "\x00",
    "\ud800", "余额不足", "\\", '"', ",", "=", "[bold]", ":smile:", "6222021234567890128",
])
TEXT = st.lists(st.text(max_size=6) | NASTY_TEXT, max_size=4).map("".join)
SCALARS = (
    TEXT | st.integers() | st.floats() | st.none() | st.booleans()
    | st.sampled_from(["failed", "success", "51", "ACQ.SYSTEM_ERROR", "2026-11-11 00:00:01"])
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)


def _json_line(value: object, ensure_ascii: bool) -> str:
    return json.dumps(value, ensure_ascii=ensure_ascii)


JSON_LINES = st.builds(
    _json_line,
    st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=5), JSON_VALUES, max_size=6)
    | JSON_VALUES,
    st.booleans(),
)
JUNK_LINES = st.sampled_from(["", "   ", "\t", "{bad", "[1, 2]", "null", '"str"', "{}", "]"])
LOGFMT_LINES = st.lists(
    st.tuples(
        st.sampled_from(FIELD_NAMES[:-1]) | st.text("abc_=", min_size=1, max_size=4),
        TEXT.map(lambda t: t.replace("\n", " ").replace("\r", " ")),
        st.sampled_from(["bare", "dq", "sq"]),
    ),
    max_size=5,
).map(
    lambda pairs: " ".join(
        f"{k}={v.replace(' ', '_')}" if q == "bare"
        else f'{k}="{v}"' if q == "dq"
        else f"{k}='{v}'"
        for k, v, q in pairs
    )
)
TEXT_LINES = st.one_of(
    st.builds(
        "2026-11-11 00:00:{:02d}.123 {} [pay-gw] txn=T{} code={} msg={}".format,
        st.integers(0, 59), st.sampled_from(["ERROR", "INFO", "WARN", "x"]),
        st.integers(0, 999), st.sampled_from(["51", "ACQ.SYSTEM_ERROR", ""]), TEXT,
    ),
    st.builds(
        "2026-11-11 00:00:01,123 [main] {} com.pay.Gateway - T{} payment failed: {}".format,
        st.sampled_from(["ERROR", "INFO"]), st.integers(0, 99), TEXT,
    ),
    st.builds("[2026-11-11 00:00:01] {}: {}".format, st.sampled_from(["ERROR", "info"]), TEXT),
    st.sampled_from([
        "    at com.pay.Gateway.call(Gateway.java:42)",
        "Caused by: java.net.SocketTimeoutException",
        "\tat x.y(Z.java:1)", "... 12 more", "Traceback (most recent call last):",
        "java.net.SocketTimeoutException: Read timed out",
    ]),
    TEXT,
)
ANY_LINES = st.one_of(JSON_LINES, JUNK_LINES, LOGFMT_LINES, TEXT_LINES, TEXT)


@st.composite
def documents(draw: st.DrawFn, lines: st.SearchStrategy[str] = ANY_LINES) -> bytes:
    """Lines joined with LF or CRLF, maybe a BOM, maybe no final newline, maybe bad bytes."""
    items = draw(st.lists(lines, max_size=8))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    text = newline.join(items) + (newline if items and draw(st.booleans()) else "")
    data = text.encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    if data and draw(st.integers(0, 3)) == 0:  # a stray byte that is not UTF-8
        at = draw(st.integers(0, len(data)))
        stray = draw(st.sampled_from([b"\xff", b"\xc3", b"\x80", b"\xe4\xbd"]))
        data = data[:at] + stray + data[at:]
    return data


ANY_BYTES = st.binary(max_size=300) | documents()
COMPRESSION = st.sampled_from(sorted(COMPRESSORS))
CUT = st.sampled_from([0, 0, 1, 5, 40])


# --------------------------------------------------------------------------------------------
# nothing but txdiag's own errors


@FUZZ
@given(data=ANY_BYTES, fmt=st.sampled_from(list(InputFormat)), compression=COMPRESSION, cut=CUT)
def test_any_input_in_any_format_raises_only_txdiag_errors(
    workdir: Workdir, data: bytes, fmt: InputFormat, compression: str, cut: int
) -> None:
    run = Run(workdir.write(data, compression, cut), fmt)
    if run.error is None:
        check_events(run)


@FUZZ
@given(data=ANY_BYTES, fmt=st.sampled_from(list(InputFormat)))
def test_readers_alone_raise_only_txdiag_errors(
    workdir: Workdir, data: bytes, fmt: InputFormat
) -> None:
    """The library entry points without the pipeline: open_input + read_records."""
    path = workdir.write(data)
    try:
        opened = open_input(str(path))
        try:
            _, items = read_records(opened, input_format=fmt, max_line_bytes=SMALL_MAX_LINE)
            for item in items:
                assert isinstance(item, Unreadable) or isinstance(item[1], dict)
        finally:
            opened.close()
    except TxdiagError:
        return


DEEP = b'{"a": ' + b"[" * 5000 + b"]" * 5000 + b', "records": [{}]}'


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (b"{ba", InputFormat.AUTO),
        (b"{ba", InputFormat.JSON),
        (b'{"a\xff": 1, "records": [{}]}', InputFormat.AUTO),
        (b'{"a\xff": 1, "records": [{}]}', InputFormat.JSON),
        (b'{"a":\n' + b"[" * 5000 + b"]" * 5000 + b', "records": [{}]}', InputFormat.AUTO),
        (DEEP, InputFormat.JSON),
    ],
    ids=["invalid_key", "invalid_key-json", "bad_utf8_key", "bad_utf8_key-json", "deep_member",
         "deep_member-json"],
)
def test_malformed_json_document_is_an_input_error(
    tmp_path: Path, data: bytes, fmt: InputFormat
) -> None:
    path = tmp_path / "doc.json"
    path.write_bytes(data)
    pipeline = pipeline_for(fmt, SMALL_MAX_LINE)
    with pytest.raises(InputError):
        list(pipeline.run([str(path)]))


def test_deeply_nested_first_line_is_an_input_error(tmp_path: Path) -> None:
    path = tmp_path / "doc.json"
    path.write_bytes(DEEP)
    with contextlib.suppress(TxdiagError):
        list(pipeline_for(InputFormat.AUTO, SMALL_MAX_LINE).run([str(path)]))


# --------------------------------------------------------------------------------------------
# every line accounted for


@FUZZ
@given(data=ANY_BYTES, compression=COMPRESSION)
@example(data=b'{"txn_id": "T1"}\n\n{bad\n[1]\n' + b"x" * 300 + b"\n\xff\n  \n", compression="none")
def test_jsonl_lines_are_records_blanks_or_unreadable(
    workdir: Workdir, data: bytes, compression: str
) -> None:
    run = Run(workdir.write(data, compression), InputFormat.JSONL)
    if run.error is not None:
        assert isinstance(run.error, InputError)  # binary data or UTF-16: refused up front
        return
    check_events(run)
    check_line_accounting(run)
    assert run.stats.attached_lines == 0


@FUZZ
@given(data=documents(JSON_LINES | JUNK_LINES), compression=COMPRESSION)
def test_jsonl_auto_detected_accounting(workdir: Workdir, data: bytes, compression: str) -> None:
    run = Run(workdir.write(data, compression), InputFormat.AUTO)
    if run.error is not None or run.stats.format != InputFormat.JSONL.value:
        return
    check_events(run)
    check_line_accounting(run)


@FUZZ
@given(
    data=ANY_BYTES | documents(LOGFMT_LINES | TEXT_LINES | JUNK_LINES),
    fmt=st.sampled_from([InputFormat.LOGFMT, InputFormat.TEXT]),
)
def test_line_formats_account_for_every_line(
    workdir: Workdir, data: bytes, fmt: InputFormat
) -> None:
    """logfmt and text: continuation lines (stack traces) are attached, every other is counted."""
    run = Run(workdir.write(data), fmt)
    if run.error is not None:
        return
    check_events(run)
    check_line_accounting(run)


CELL = st.text(
    st.characters(codec="utf-8", exclude_characters='"\n\r\x00'), max_size=8
) | st.sampled_from(["51", "failed", "ACQ.SYSTEM_ERROR", "=1+1", "-3", "余额不足"])


@st.composite
def delimited(draw: st.DrawFn, delimiter: str) -> bytes:
    """A header and rows without quotes: one physical line per row (some with a wrong width)."""
    header = draw(st.lists(st.sampled_from(FIELD_NAMES[:-1]), min_size=1, max_size=5))
    rows = [delimiter.join(header)]
    for _ in range(draw(st.integers(0, 6))):
        width = len(header) + draw(st.sampled_from([0, 0, 0, -1, 1]))
        rows.append(delimiter.join(draw(st.lists(CELL, min_size=width, max_size=width))))
        if draw(st.integers(0, 5)) == 0:
            rows.append(draw(st.sampled_from(["", "  "])))
    return "\n".join(rows).encode("utf-8")


@FUZZ
@given(data=st.data(), fmt=st.sampled_from([InputFormat.CSV, InputFormat.TSV]))
def test_delimited_rows_account_for_every_line(
    workdir: Workdir, data: st.DataObject, fmt: InputFormat
) -> None:
    document = data.draw(delimited("," if fmt is InputFormat.CSV else "\t"))
    run = Run(workdir.write(document), fmt)
    if run.error is not None:
        assert isinstance(run.error, InputError)
        return
    check_events(run)
    check_line_accounting(run, extra=1)  # the header row


def test_line_accounting_can_fail() -> None:
    """The accounting check is not vacuous: a run that lost a line is caught."""

    class Lossy(Run):
        def __init__(self) -> None:  # a run of a 3-line input that reported one record
            self.pipeline = Pipeline(RULEBOOK)
            self.ledger = RunLedger([ReadStats(name="x")])
            self.ledger.inputs[0].lines.lines = 3
            self.summary = Summary(records=1, failures=1)
            self.events = []

    with pytest.raises(AssertionError):
        check_line_accounting(Lossy())


# --------------------------------------------------------------------------------------------
# the regression corpus of nasty inputs


def _formats() -> Iterator[InputFormat]:
    yield from InputFormat


@pytest.mark.parametrize("fmt", list(_formats()), ids=lambda f: f.value)
@pytest.mark.parametrize("path", NASTY_FILES, ids=lambda p: p.name)
def test_nasty_corpus_reads_in_every_format(path: Path, fmt: InputFormat) -> None:
    first = Run(path, fmt)
    if first.error is not None:
        return
    check_events(first)
    if first.stats.format in (InputFormat.JSONL.value, InputFormat.LOGFMT.value,
                              InputFormat.TEXT.value):
        check_line_accounting(first)
    if fmt is not InputFormat.AUTO:
        return
    # deterministic: a new pipeline (nothing memoized) gives the same events and diagnoses
    second = Run(path, fmt, fresh=True)
    assert [_fingerprint(e) for e in first.events] == [_fingerprint(e) for e in second.events]


def _fingerprint(event: Event) -> tuple[object, ...]:
    if isinstance(event, Unreadable):
        return ("unreadable", event.line, event.cause, event.detail)
    diagnosis = dataclasses.asdict(event.diagnosis) if event.diagnosis is not None else None
    return ("record", event.line, diagnosis)


@pytest.mark.parametrize(
    ("name", "fmt", "records", "unreadable"),
    [
        ("pii_everywhere.jsonl", InputFormat.AUTO, 7, 0),
        ("controls_in_fields.jsonl", InputFormat.AUTO, 5, 2),
        ("csv_injection.csv", InputFormat.AUTO, 4, 1),
        ("logfmt_escapes.log", InputFormat.LOGFMT, 4, 0),
    ],
)
def test_nasty_structured_inputs_read_as_expected(
    name: str, fmt: InputFormat, records: int, unreadable: int
) -> None:
    run = Run(NASTY_DIR / name, fmt, max_line_bytes=1 << 20)
    assert run.error is None
    assert (run.summary.records, run.summary.unreadable) == (records, unreadable)


def test_truncated_gzip_keeps_what_was_read_then_fails() -> None:
    run = Run(NASTY_DIR / "truncated.jsonl.gz", InputFormat.AUTO)
    assert isinstance(run.error, InputError)
    assert "truncated or corrupt" in run.error.message
    assert run.summary.records > 0
