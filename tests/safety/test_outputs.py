"""End to end: personal data and terminal attacks in logs never reach any output.

Records carrying Luhn-valid card numbers (grouped and not, 19-digit UnionPay included), resident
ID numbers, mobile numbers (+86/0086), e-mail addresses, bearer tokens and secret parameters,
decorated with escape sequences, C1 and bidi controls, zero-width characters, Rich markup,
emoji codes and newlines, go through the CLI (``diagnose`` and ``summary`` in every format,
``explain``). Checked: no raw personal data on stdout or stderr, no raw control character, no
row forged by an embedded newline, no CSV cell that starts a formula, markup printed literally,
``--no-mask`` announced, and classification deterministic (coloured or not).

Colour is off (the runner is not a terminal), so any ESC in the output came from the data.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.safety.reference import id_check_char, luhn_complete
from typer.testing import CliRunner, Result

import txdiag.classify as classify_module
import txdiag.pipeline as pipeline_module
from txdiag.aggregate import Summary
from txdiag.classify import Classifier
from txdiag.cli.app import app, main
from txdiag.config import parse_config
from txdiag.errors import TxdiagError
from txdiag.models import Diagnosis
from txdiag.pipeline import Observation, Pipeline
from txdiag.render.common import Presenter
from txdiag.render.table import TableWriter
from txdiag.rulebook import Rulebook, load_rulebook
from txdiag.rulebook.loader import read_rule_file
from txdiag.safety import quoted, shown, strip_ansi

DATA = Path(__file__).parent.parent / "data"
NASTY = DATA / "nasty"
FORMATS = ("table", "json", "jsonl", "csv", "markdown")
TEXT_FORMATS = ("table", "csv", "markdown")
WIDE = {"COLUMNS": "250"}
NARROW = {"COLUMNS": "60"}

RULEBOOK: Rulebook = load_rulebook()
PIPELINE = Pipeline(RULEBOOK)
"""One pipeline for the library-level checks (building one compiles every rule pattern)."""

_SHARED: dict[tuple[int, ...], tuple[Rulebook, Classifier]] = {}


@pytest.fixture(autouse=True, scope="module")
def _one_classifier_per_rulebook() -> Iterator[None]:
    """CLI runs here share a classifier per rulebook (same rule files, same classifier).

    Building one compiles every rule pattern: about 50 of the 75 ms of a CLI run. The rulebook
    is kept with it, so the ids in the key cannot be reused. Determinism is checked with fresh
    classifiers (test_classification_is_deterministic_across_pipelines).
    """
    real = classify_module.Classifier

    def shared(rulebook: Rulebook) -> Classifier:
        key = tuple(map(id, rulebook.files))
        if key not in _SHARED:
            _SHARED[key] = (rulebook, real(rulebook))
        return _SHARED[key][1]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(classify_module, "Classifier", shared)
        patch.setattr(pipeline_module, "Classifier", shared)
        yield


# --------------------------------------------------------------------------------------------
# independent statements of personal data (not imported from the code under test)

PROVINCES = ("11", "31", "32", "33", "44", "51", "61", "65")
EPOCH_MS = (946_684_800_000, 4_102_444_800_000)


@dataclass(frozen=True)
class Secret:
    """A piece of personal data or a credential: how it is written, and what must not leak."""

    written: str
    raw: str
    """Checked against the output with blanks and dashes removed (folded cells, separators)."""


def compact(text: str) -> str:
    return re.sub(r"[\s\-]+", "", text)


@st.composite
def cards(draw: st.DrawFn) -> Secret:
    length = draw(st.sampled_from([15, 16, 16, 19, 19]))
    prefix = draw(st.sampled_from(["4", "51", "55", "62", "6222", "35", "37"]))
    body = prefix + draw(st.text("0123456789", min_size=length - 1 - len(prefix),
                                 max_size=length - 1 - len(prefix)))
    number = luhn_complete(body)
    style = draw(st.sampled_from(["plain", "space", "dash"]))
    if style == "plain":
        written = number
    else:
        sep = " " if style == "space" else "-"
        written = sep.join(number[i : i + 4] for i in range(0, len(number), 4))
    return Secret(written, number)


@st.composite
def id_numbers(draw: st.DrawFn) -> Secret:
    region = draw(st.sampled_from(PROVINCES)) + draw(st.text("0123456789", min_size=4,
                                                             max_size=4))
    born = draw(st.dates(min_value=date(1930, 1, 1), max_value=date(2020, 12, 31)))
    first17 = region + born.strftime("%Y%m%d") + draw(st.text("0123456789", min_size=3,
                                                              max_size=3))
    number = first17 + id_check_char(first17)
    return Secret(number, number)


@st.composite
def mobiles(draw: st.DrawFn) -> Secret:
    digits = "1" + draw(st.sampled_from("3456789")) + draw(st.text("0123456789", min_size=9,
                                                                   max_size=9))
    written = digits
    if draw(st.booleans()):
        sep = draw(st.sampled_from([" ", "-"]))
        written = sep.join((digits[:3], digits[3:7], digits[7:]))
    prefix = draw(st.sampled_from(["", "+86", "+86 ", "0086", "0086 ", "+86-"]))
    return Secret(prefix + written, digits)


@st.composite
def emails(draw: st.DrawFn) -> Secret:
    local = draw(st.text("abcdefghijklmnopqrstuvwxyz0123456789._", min_size=4, max_size=10))
    local = "u" + local.strip("._") + "x"
    domain = draw(st.sampled_from(["example.com", "qq.com", "163.com", "mail.example.com.cn"]))
    address = f"{local}@{domain}"
    return Secret(address, address)


TOKEN = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", min_size=16,
                max_size=32)


@st.composite
def credentials(draw: st.DrawFn) -> Secret:
    token = draw(TOKEN)
    template = draw(st.sampled_from([
        "Authorization: Bearer {}",
        "access_token={}",
        "GET https://api.example.com/v1/pay?amount=1&access_token={}&x=1",
        "api_key={}",
        '{{"client_secret": "{}"}}',
    ]))
    return Secret(template.format(token), token)


SECRETS = st.one_of(cards(), id_numbers(), mobiles(), emails(), credentials())

# Decorations: complete sequences may touch the personal data; the unterminated ones (which
# would swallow what follows on a terminal) only come last in a field.
DECORATIONS = st.sampled_from([
    "\x1b[31m", "\x1b[0m", "\x1b[1;38;5;196m", "\x1b[2J", "\x9b31m", "\x1b]0;pwned\x07",
    "\x1b]8;;https://evil.example/\x1b\\", "\x85", "\x7f", "\x00", "\x07",
    "\u202e", "\u2066", "\u200f", "\u200b", "\ufeff", "\u2028",
    "[bold red]", "[/]", "[link=https://evil.example]", ":smile:", ":warning:",
    "\n", "\r\n", "\x0b", " ", "，", "=", '"', "(", "/",
])
TRAILERS = st.sampled_from(["", "", "\x1b]0;unterminated title", "\x1b[31", "\x1b", "\x90dcs"])
WORDS = st.sampled_from(["卡号", "card", "手机", "user", "余额不足", "declined", "ACQ.SYSTEM_ERROR",
                         "=cmd|' /C calc'!A0", "+1", "-2+3", "@SUM(1)", "\t=1", "\r=1"])


@st.composite
def decorated(draw: st.DrawFn, secrets: list[Secret]) -> str:
    """Words, decorations and (maybe) a piece of personal data, never glued to a letter."""
    parts = [draw(DECORATIONS) + draw(WORDS) for _ in range(draw(st.integers(0, 3)))]
    if draw(st.booleans()):
        secret = draw(SECRETS)
        secrets.append(secret)
        parts.append(draw(DECORATIONS) + secret.written + draw(DECORATIONS))
    parts.append(draw(TRAILERS))
    return "".join(parts)


FORGED = "x \nFORGED,ROW \r\nFORGED| \u2028FORGED \x85FORGED \x0bFORGED \x1cFORGED"
"""Line breaks (for some reader) each followed by a marker. Shown visibly, every marker follows
a letter or digit (``\\nFORGED``); after a raw line break it would start a line, a row or a
table cell. Each is a short word of its own, so that Rich wraps the cell at the blanks and
never folds a marker onto a line of its own."""


def assert_no_forged_line(out: str) -> None:
    found = re.search(r"(?<![0-9A-Za-z])FORGED", out)
    assert found is None, f"a line break reached the output: {out[:found.end()][-60:]!r}"


@st.composite
def logs(draw: st.DrawFn) -> tuple[list[dict[str, object]], list[Secret]]:
    secrets: list[Secret] = []
    records: list[dict[str, object]] = []
    for i in range(draw(st.integers(1, 4))):
        record: dict[str, object] = {
            "txn_id": f"R{i}-" + draw(decorated(secrets)),
            "ts": f"2026-11-11T00:00:0{i}+08:00",
            "status": draw(st.sampled_from(["failed", "FAIL\x1b[0m", "declined\u202e"])),
            "code": draw(st.sampled_from(["51", "ACQ.SYSTEM_ERROR", "[red]X[/red]"]))
            + draw(decorated(secrets)),
            "msg": draw(decorated(secrets)) + draw(st.sampled_from(["", FORGED])),
            "channel": draw(st.sampled_from(["iso8583", "alipay", "wechat"]))
            + draw(decorated(secrets)),
            "user_id": draw(decorated(secrets)),
            "currency": draw(decorated(secrets)),
        }
        records.append(record)
    return records, secrets


# --------------------------------------------------------------------------------------------
# running the CLI and checking its output


def invoke(args: Sequence[str], env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, list(args), catch_exceptions=False, env=env or WIDE)


def write_jsonl(path: Path, records: Sequence[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                    encoding="utf-8")
    return path


BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff"


def unsafe_characters(text: str, *, text_format: bool) -> list[str]:
    """Characters that may act on a terminal (or hide) left raw in an output."""
    bad = []
    for ch in text:
        code = ord(ch)
        if (
            (code < 0x20 and ch not in "\n\t")
            or 0x7F <= code <= 0x9F
            or ch in BIDI
            or 0xD800 <= code <= 0xDFFF
            or (text_format and (ch in ZERO_WIDTH or ch in "\u2028\u2029"))
        ):
            bad.append(f"U+{code:04X}")
    return bad


def assert_no_leak(secrets: Sequence[Secret], *outputs: str) -> None:
    for out in outputs:
        squeezed = compact(out)
        for secret in secrets:
            assert compact(secret.raw) not in squeezed, f"{secret.raw!r} leaked"


def csv_rows(out: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(out)))


def assert_no_formula(rows: list[list[str]]) -> None:
    for row in rows:
        for cell in row:
            if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
                assert re.fullmatch(r"-[0-9]+(?:\.[0-9]+)?", cell), f"formula cell {cell!r}"


def unescaped_pipes(line: str) -> int:
    count, escaped = 0, False
    for ch in line:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "|":
            count += 1
    return count


ROW_START = re.compile(
    r"^ .*\s(?:balance|network|card_binding|risk_control|system|unknown)\.[a-z0-9_]+(?:\s|$)"
)
"""A table row's first line: it has the reason after the first column (the hints below the
table start with the reason, in the first column)."""


def check_rows(fmt: str, out: str, failures: int, *, narrow: bool = False) -> None:
    """No row forged by an embedded newline: the output has one row per finding."""
    assert_no_forged_line(out)
    lines = out.split("\n")
    if fmt == "table":
        if narrow:  # one block per finding, with a "category" line
            rows = [line for line in lines if line.startswith("category ")]
        else:  # a row's first line has its time and reason (folded lines do not); ids too
            # long for a table at this width are shown one block per finding
            rows = [line for line in lines
                    if ROW_START.search(line) or line.startswith("category ")]
        assert len(rows) == failures
    elif fmt == "markdown":
        rows = [line for line in lines if line.startswith("|")]
        assert len(rows) == failures + 2
        assert all(unescaped_pipes(row) == 9 for row in rows)
    elif fmt == "csv":
        assert len(out.split("\n")) == failures + 2  # header, rows, final newline
        rows = csv_rows(out)
        assert len(rows) == failures + 1
        assert all(len(row) == 13 for row in rows)
    elif fmt == "jsonl":
        assert len(out.split("\n")) == failures + 1
        assert all(isinstance(json.loads(line), dict) for line in out.split("\n")[:-1])
    else:
        assert len(json.loads(out)["findings"]) == failures


def check_output(fmt: str, result: Result, secrets: Sequence[Secret]) -> None:
    assert result.exit_code == 0, result.stderr
    assert_no_leak(secrets, result.stdout, result.stderr)
    assert not unsafe_characters(result.stdout, text_format=fmt in TEXT_FORMATS)
    assert not unsafe_characters(result.stderr, text_format=True)
    assert "😄" not in result.stdout and "⚠" not in result.stdout  # emoji codes stay text
    if fmt == "csv":
        assert_no_formula(csv_rows(result.stdout))


# --------------------------------------------------------------------------------------------
# the property, through every format of every command

SLOW = settings(deadline=None, max_examples=8,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("outputs")


@SLOW
@given(log=logs())
def test_generated_logs_are_safe_in_every_format(
    scratch: Path, log: tuple[list[dict[str, object]], list[Secret]]
) -> None:
    records, secrets = log
    path = write_jsonl(scratch / "gen.jsonl", records)
    for fmt in FORMATS:
        result = invoke(["diagnose", str(path), "-f", fmt])
        check_output(fmt, result, secrets)
        check_rows(fmt, result.stdout, len(records))
        summary = invoke(["summary", str(path), "-f", fmt])
        check_output(fmt, summary, secrets)
    narrow = invoke(["diagnose", str(path)], env=NARROW)
    check_output("table", narrow, secrets)
    check_rows("table", narrow.stdout, len(records), narrow=True)


@SLOW
@given(secret=SECRETS, before=DECORATIONS, after=DECORATIONS, word=WORDS)
def test_explain_never_echoes_personal_data(
    secret: Secret, before: str, after: str, word: str
) -> None:
    query = f"{word} {before}{secret.written}{after} 余额不足"
    for fmt in FORMATS:
        result = invoke(["explain", "-f", fmt, "--", query])
        check_output(fmt, result, [secret])


# --------------------------------------------------------------------------------------------
# the regression corpus, every format


def corpus_secrets() -> list[Secret]:
    return [
        Secret("", "6222021234567890128"), Secret("", "4111111111111111"),
        Secret("", "13812345678"), Secret("", "13987654321"), Secret("", "11010519491231002X"),
        Secret("", "zhang.san@example.com"), Secret("", "sk9Fq2LmNoPqRsTuVw"),
        Secret("", "eyAbCdEfGhIjKlMnOpQrStUv"), Secret("", "Zx81kQ0pLm"),
        Secret("", "13000000000"),
    ]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("command", ["diagnose", "summary"])
def test_corpus_personal_data_masked(command: str, fmt: str) -> None:
    result = invoke([command, str(NASTY / "pii_everywhere.jsonl"), "-f", fmt])
    check_output(fmt, result, corpus_secrets())
    if command == "diagnose":
        check_rows(fmt, result.stdout, 7)


def test_corpus_masks_exactly_and_keeps_diagnostics() -> None:
    rows = [json.loads(line) for line in
            invoke(["diagnose", str(NASTY / "pii_everywhere.jsonl"), "-f", "jsonl"])
            .stdout.splitlines()]
    by_id = {row["txn_id"]: row for row in rows}
    first = by_id["P1"]
    assert first["error_message"] == "卡号622202*********0128余额不足，手机+86 138****5678"
    assert first["user_id"] == "138****5678"
    assert first["reason"] == "balance.insufficient_funds"
    assert by_id["P3"]["timestamp_raw"] == "身份证 110105********002X"
    assert "access_token=[REDACTED]&amount=100" in by_id["P3"]["error_message"]
    assert "Bearer [REDACTED]" in by_id["P4"]["error_message"]
    assert "0086-139****4321" in by_id["P4"]["error_message"]
    # grouped numbers whose first group is the parameter of an unfinished CSI sequence
    last = by_id["P7"]
    assert last["error_message"] == "\x9b<130****0000"
    assert last["user_id"] == "\x1b[=622202*********0128"
    assert last["currency"] == "\x9b?110105********002X"


@pytest.mark.parametrize("fmt", FORMATS)
def test_corpus_controls_never_raw(fmt: str) -> None:
    result = invoke(["diagnose", str(NASTY / "controls_in_fields.jsonl"), "-f", fmt])
    check_output(fmt, result, [])
    check_rows(fmt, result.stdout, 5)
    assert "unreadable" in result.stderr  # the two bad lines are reported, safely


@pytest.mark.parametrize("command", ["diagnose", "summary"])
def test_csv_injection_corpus_is_neutralised(command: str) -> None:
    result = invoke([command, str(NASTY / "csv_injection.csv"), "-f", "csv"])
    check_output("csv", result, [])
    if command == "diagnose":
        rows = csv_rows(result.stdout)
        assert len(rows) == 5
        assert rows[1][1].startswith("'=HYPERLINK(")
        assert rows[2][1] == "'+cmd|' /C calc'!A0"
        assert rows[2][3] == "'@SUM(1)"
        assert rows[3][1] == "-12.50"  # a plain negative number stays a number


def test_file_name_is_masked_and_visible(tmp_path: Path) -> None:
    name = tmp_path / "log \x1b]0;x\x07 13812345678 \u202e.jsonl"
    write_jsonl(name, [{"txn_id": "T1", "status": "failed", "code": "51"}])
    secrets = [Secret("", "13812345678")]
    for fmt in FORMATS:
        for command in ("diagnose", "summary"):
            check_output(fmt, invoke([command, str(name), "-f", fmt]), secrets)


# --------------------------------------------------------------------------------------------
# markup, colour, --no-mask

MARKUP = "[bold red]ALERT[/] :smile: [link=https://evil.example]x[/link] \\[escaped]"


def test_markup_and_emoji_codes_print_literally(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "m.jsonl", [
        {"txn_id": "[blink]T1[/blink]", "status": "failed", "code": "[red]51[/red]",
         "msg": MARKUP, "channel": ":warning:"},
    ])
    for env in (WIDE, NARROW):
        out = invoke(["diagnose", str(path)], env=env).stdout
        assert "[bold red]ALERT[/]" in out and ":smile:" in out
        assert "[link=https://evil.example]" in out
        assert "[blink]T1[/blink]" in out and "[red]51[/red]" in out and ":warning:" in out
    assert "\\[escaped]" in invoke(["diagnose", str(path)], env=NARROW).stdout
    summary = invoke(["summary", str(path)]).stdout
    assert "[red]51[/red]" in summary and ":warning:" in summary
    explained = invoke(["explain", MARKUP]).stdout
    assert "[bold red]ALERT[/]" in explained and ":smile:" in explained


def test_colour_on_only_rich_emits_escape_sequences() -> None:
    """With colour on, every ESC in the table is one of Rich's own SGR codes, none from data."""
    out = io.StringIO()
    writer = TableWriter(out, Presenter(), width=200, color=True)
    observation = PIPELINE.observe({
        "txn_id": "T\x1b[2J1", "status": "failed", "code": "51", "channel": "iso8583",
        "msg": "\x1b]0;pwned\x07 " + MARKUP + " \x9b31m\u202e",
    })
    assert isinstance(observation, Observation)
    writer.write(PIPELINE.finding(observation))
    writer.finish(Summary(), [])
    text = out.getvalue()
    assert "\x1b[" in text  # colour is really on
    rest = re.sub(r"\x1b\[[0-9;]*m", "", text)
    assert not unsafe_characters(rest, text_format=True)
    assert "\\x1b[2J" in rest and "\\x1b]0;pwned\\x07" in rest and "[bold red]ALERT[/]" in rest


@pytest.mark.parametrize("command", ["diagnose", "summary"])
def test_no_mask_shows_raw_values_and_says_so(command: str) -> None:
    path = str(NASTY / "pii_everywhere.jsonl")
    masked = invoke([command, path, "-f", "json"])
    raw = invoke([command, path, "-f", "json", "--no-mask"])
    assert "masking is OFF" in raw.stderr
    assert "masking is OFF" not in masked.stderr
    if command == "diagnose":
        assert "6222021234567890128" in raw.stdout and "13812345678" in raw.stdout
        assert "6222021234567890128" not in masked.stdout
    # terminal safety does not depend on masking
    for fmt in FORMATS:
        check_output(fmt, invoke([command, path, "-f", fmt, "--no-mask"]), [])


def test_explain_no_mask_says_so() -> None:
    result = invoke(["explain", "卡 6222021234567890128 余额不足", "--no-mask"])
    assert "6222021234567890128" in result.stdout
    assert "masking is OFF" in result.stderr


# --------------------------------------------------------------------------------------------
# rule files are shared: their texts are shown visibly too


@pytest.mark.parametrize("args", [
    ("diagnose", "-f", "table"), ("diagnose", "-f", "csv"), ("diagnose", "-f", "markdown"),
    ("explain", "-f", "table"),
], ids=["diagnose-table", "diagnose-csv", "diagnose-markdown", "explain-table"])
def test_rule_file_texts_are_shown_visibly(tmp_path: Path, args: tuple[str, ...]) -> None:
    rules = tmp_path / "evil.toml"
    rules.write_text(EVIL_RULES, encoding="utf-8")
    path = write_jsonl(tmp_path / "e.jsonl", [{"txn_id": "T1", "status": "failed",
                                               "code": "EVIL1"}])
    command, *rest = args
    target = str(path) if command == "diagnose" else "EVIL1"
    result = invoke([command, target, "--rules", str(rules), *rest])
    assert result.exit_code == 0, result.stderr
    assert not unsafe_characters(result.stdout, text_format=True)
    if command == "diagnose":
        check_rows(rest[-1], result.stdout, 1)


EVIL_RULES = r"""
[pack]
id = "evil"

[[reasons]]
id = "system.evil_reason"
title = { en = "Evil \u001b[31mtitle\u202e", zh = "坏" }
description = { en = "d", zh = "d" }
retryable = "no"
hint = { en = "\u001b[2J x \nFORGED,ROW | \u2028FORGED \u009b31m", zh = "提示" }
action = { en = "action \u001b]8;;http://evil.example\u001b\\click \r\nFORGED", zh = "处理" }

[[rules]]
id = "evil.code"
reason = "system.evil_reason"
codes = ["EVIL1"]
source = "source \u001b[5m blink"
"""


def test_jsonl_rows_survive_splitlines(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "ls.jsonl", [
        {"txn_id": "T1", "status": "failed", "code": "51", "msg": "a\u2028b\u2029c"},
        {"txn_id": "T2", "status": "failed", "code": "51"},
    ])
    out = invoke(["diagnose", str(path), "-f", "jsonl"]).stdout
    assert len(out.splitlines()) == 2


@pytest.mark.parametrize("field", [
    "amount", "installments", "http_status", "latency_ms",
])
def test_card_number_in_a_numeric_field_is_masked(tmp_path: Path, field: str) -> None:
    path = write_jsonl(tmp_path / "n.jsonl", [
        {"txn_id": "T1", "status": "failed", "code": "51", field: "4111111111111111"},
    ])
    for fmt in ("json", "csv"):
        assert "4111111111111111" not in invoke(["diagnose", str(path), "-f", fmt]).stdout


# --------------------------------------------------------------------------------------------
# classification is deterministic, coloured or not


def corpus_messages() -> list[tuple[str, str]]:
    with (DATA / "accuracy_corpus.csv").open(encoding="utf-8", newline="") as handle:
        return [(row["channel"], row["message"]) for row in csv.DictReader(handle)
                if row["message"]]


MESSAGES = corpus_messages()
COLOURS = st.sampled_from([
    "\x1b[31m", "\x1b[0m", "\x1b[1;4;38;5;196m", "\x9b32m", "\x1b]0;title\x07",
    "\x1b]8;;https://example.com\x1b\\", "\x1b[m", "\x1b(B",
])


def diagnose(message: str, channel: str) -> Diagnosis:
    observation = PIPELINE.observe({"status": "failed", "msg": message, "channel": channel})
    assert isinstance(observation, Observation) and observation.diagnosis is not None
    return observation.diagnosis


def decision(diagnosis: Diagnosis) -> tuple[object, ...]:
    """What was decided and why; an unmatched message is echoed as logged, so it is stripped."""
    ev = diagnosis.evidence
    value = strip_ansi(ev.value) if ev.value is not None else None
    return (diagnosis.category, diagnosis.reason, diagnosis.retryable, ev.rule_id, ev.level,
            ev.field, ev.pattern, value)


@st.composite
def coloured(draw: st.DrawFn, text: str) -> str:
    """``text`` with escape sequences inserted anywhere, even inside words."""
    cuts = sorted(draw(st.lists(st.integers(0, len(text)), max_size=4)))
    out, last = [], 0
    for cut in cuts:
        out += [text[last:cut], draw(COLOURS)]
        last = cut
    return "".join(out) + text[last:]


@settings(deadline=None, max_examples=150)
@given(data=st.data(), case=st.sampled_from(MESSAGES))
def test_coloured_messages_are_diagnosed_like_plain_ones(
    data: st.DataObject, case: tuple[str, str]
) -> None:
    channel, message = case
    plain = decision(diagnose(message, channel))
    assert decision(diagnose(data.draw(coloured(message)), channel)) == plain


def test_classification_is_deterministic_across_pipelines() -> None:
    fresh = Pipeline(RULEBOOK)
    for channel, message in MESSAGES:
        a = PIPELINE.observe({"status": "failed", "msg": message, "channel": channel})
        b = fresh.observe({"status": "failed", "msg": message, "channel": channel})
        assert isinstance(a, Observation) and isinstance(b, Observation)
        assert a.diagnosis == b.diagnosis


def test_same_input_twice_gives_the_same_output() -> None:
    args = ["diagnose", str(NASTY / "pii_everywhere.jsonl"), "-f", "json"]
    assert invoke(args).stdout == invoke(args).stdout


@pytest.mark.parametrize("sequence", ["\x9d0;title\x07", "\x90payload\x9c", "\x9fapc\x9c"])
def test_eight_bit_string_sequences_are_stripped_before_classification(sequence: str) -> None:
    assert decision(diagnose(f"余额{sequence}不足", "")) == decision(diagnose("余额不足", ""))


def test_coloured_codes_are_diagnosed_like_plain_ones(tmp_path: Path) -> None:
    plain = tmp_path / "plain.log"
    plain.write_text("txn=T1 status=failed code=51 channel=iso8583\n", encoding="utf-8")
    colour = tmp_path / "colour.log"
    colour.write_text("txn=T1 status=failed code=\x1b[31m51\x1b[0m channel=iso8583\n",
                      encoding="utf-8")
    reasons = [json.loads(invoke(["diagnose", str(p), "-f", "jsonl"]).stdout)["reason"]
               for p in (plain, colour)]
    assert reasons[0] == reasons[1] == "balance.insufficient_funds"


def test_coloured_text_lines_are_read_like_plain_ones() -> None:
    result = invoke(["summary", str(NASTY / "coloured_text.log"), "--input-format", "text",
                     "-f", "json"])
    totals = json.loads(result.stdout)["totals"]
    assert (totals["records"], totals["unreadable"]) == (3, 0)


# --------------------------------------------------------------------------------------------
# errors never echo raw personal data or control characters

CARD = "6222021234567890128"
ESC = "\x1b]0;t\x07\x1b[31m\u202e\x9b"


def run_main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """The real entry point (usage errors included), not the test runner's."""
    with pytest.raises(SystemExit) as stop:
        main(argv)
    captured = capsys.readouterr()
    code = stop.value.code
    return code if isinstance(code, int) else 1, captured.out, captured.err


BAD_OPTIONS = {
    "since": ["--since", f"{ESC}{CARD}"],
    "since_words": ["--since", f"x {CARD} ago"],
    "map": ["--map", f"error_code{ESC}{CARD}"],
    "map_field": ["--map", f"{CARD}{ESC}=x"],
    "encoding": ["--encoding", f"{CARD}{ESC}"],
    "assume_tz": ["--assume-tz", f"{ESC}{CARD}"],
    "profile": ["--profile", f"{CARD}{ESC}"],
    "format": ["--format", f"{ESC}{CARD}"],
    "category": ["-c", f"{ESC}{CARD}"],
    "lang": ["--lang", f"{ESC}{CARD}"],
    "header": ["--header", f"{ESC}{CARD}"],
    "token_env": ["--token-env", f"{ESC}{CARD}"],
    "api": ["--api", f"{ESC}{CARD}"],
    "rules": ["--rules", f"no{ESC}{CARD}.toml"],
    "config": ["--config", f"no{ESC}{CARD}.toml"],
    "unknown_option": [f"--bogus{ESC}{CARD}"],
    "max_line_bytes": ["--max-line-bytes", f"{ESC}{CARD}"],
}


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
@pytest.mark.parametrize("name", sorted(BAD_OPTIONS))
def test_bad_options_are_reported_masked_and_visible(
    name: str, as_json: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["diagnose", str(NASTY / "pii_everywhere.jsonl"), *BAD_OPTIONS[name]]
    if as_json:
        argv += ["-f", "json"] if name != "format" else []
    code, out, err = run_main(argv, capsys)
    assert code == 2 or code == 3
    assert out == ""
    assert "error" in err
    assert CARD not in compact(err)
    assert not unsafe_characters(err, text_format=True)


def test_missing_input_is_reported_masked_and_visible(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_main(["summary", str(tmp_path / f"gone {ESC}{CARD}.jsonl")], capsys)
    assert code == 3
    assert CARD not in err and not unsafe_characters(err, text_format=True)


def test_unknown_input_format_error_is_masked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "odd.log"
    path.write_text(f"\x1b[31m{CARD} 余额不足\x1b[0m\n", encoding="utf-8")
    code, _, err = run_main(["summary", str(path)], capsys)
    assert code == 3
    assert CARD not in err and not unsafe_characters(err, text_format=True)


def test_unknown_input_format_error_does_not_cut_a_number_before_masking(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for pad in range(15, 30):
        path = tmp_path / "odd.log"
        path.write_text("p" * pad + f" {CARD} declined\n", encoding="utf-8")
        _, _, err = run_main(["summary", str(path)], capsys)
        digits = max(re.findall(r"[0-9]+", err), key=len)
        assert len(digits) <= 6, err


RULE_HEAD = '[pack]\nid = "p"\n[[rules]]\nid = "r1"\nreason = "system.gateway_error"\n'
BAD_RULE_FILES = {
    "http_status": RULE_HEAD + f'http_status = ["{CARD}"]\n',
    "http_status_escape": RULE_HEAD + f'http_status = ["\\u001b[31m {CARD}"]\n',
    "message_pattern": RULE_HEAD + f'messages = ["(?=x) {CARD}"]\n',
    "rule_id": f'[pack]\nid = "p"\n[[rules]]\nid = "{CARD} \\u001b[31m"\n'
               'reason = "system.gateway_error"\ncodes = ["1"]\n',
    "unknown_reason": '[pack]\nid = "p"\n[[rules]]\nid = "r1"\n'
                      f'reason = "system.x {CARD}\\u001b[31m"\ncodes = ["1"]\n',
    "retryable": RULE_HEAD + f'codes = ["1"]\nretryable = "{CARD}\\u001b[31m"\n',
    "min_latency": RULE_HEAD + f'min_latency_ms = "{CARD}\\u001b"\n',
    "toml": f'[pack]\nid = {CARD}\\u001b\n',
}


def rule_file_error(text: str) -> str:
    try:
        loaded = read_rule_file("bad.toml", text=text)
        Rulebook([*RULEBOOK.files, loaded])
    except TxdiagError as exc:
        return exc.message + " " + (exc.hint or "")
    raise AssertionError("the rule file was accepted")


def assert_error_is_clean(message: str) -> None:
    assert CARD not in compact(message), message
    assert not unsafe_characters(message, text_format=True), message


@pytest.mark.parametrize("name", sorted(BAD_RULE_FILES))
def test_rule_file_errors_are_masked_and_visible_in_the_cli(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "bad.toml"
    rules.write_text(BAD_RULE_FILES[name], encoding="utf-8")
    code, _, err = run_main(["explain", "51", "--rules", str(rules)], capsys)
    assert code == 2
    assert_error_is_clean(err)


@pytest.mark.parametrize("name", sorted(BAD_RULE_FILES))
def test_rule_file_errors_never_echo_values(name: str) -> None:
    """The library's own error text is safe: a library caller may print it as it is."""
    assert_error_is_clean(rule_file_error(BAD_RULE_FILES[name]))


BAD_CONFIGS: dict[str, dict[str, object]] = {
    "lang": {"defaults": {"lang": CARD + ESC}},
    "max_line_bytes": {"defaults": {"max_line_bytes": CARD + ESC}},
    "timeout": {"api": {"a": {"timeout": CARD + ESC}}},
    "header": {"api": {"a": {"headers": {"x": int(CARD)}}}},
    "constant_value": {"profiles": {"p": {"constants": {"channel": [CARD]}}}},
    "unknown_constant": {"profiles": {"p": {"constants": {CARD + ESC: "x"}}}},
    "profile_name": {"profiles": {CARD + ESC: {"bogus": 1}}},
    "top_level_key": {CARD + ESC: 1},
}


def config_error(raw: dict[str, object]) -> str:
    try:
        parse_config(raw, "config.toml")
    except TxdiagError as exc:
        return exc.message + " " + (exc.hint or "")
    raise AssertionError("the config was accepted")


@pytest.mark.parametrize("name", sorted(BAD_CONFIGS))
def test_config_errors_never_echo_values_or_raw_keys(name: str) -> None:
    """Values are never quoted; keys (the error's location) are, masked and visible."""
    assert_error_is_clean(config_error(BAD_CONFIGS[name]))


def test_quoted_values_are_masked_visible_and_one_line() -> None:
    assert quoted("r1") == "'r1'" and shown("profiles.p") == "profiles.p"
    assert quoted(f"{CARD}\x1b[31m\n\u202e") == "'622202*********0128\\x1b[31m\\n\\u202e'"
    assert shown(int(CARD)) == "622202*********0128"


def test_library_error_texts_stay_helpful() -> None:
    """Masked and visible, an error still names the file, the rule or key and the field."""
    assert rule_file_error(BAD_RULE_FILES["rule_id"]).startswith(
        "bad.toml: rule '622202*********0128 \\x1b[31m' field 'id': String should match")
    assert ("bad.toml: rule 'r1' field 'reason': unknown reason "
            "'system.x 622202*********0128\\x1b[31m'") in rule_file_error(
                BAD_RULE_FILES["unknown_reason"])
    assert ("field 'http_status': HTTP status range '622202*********0128' is outside 100-599"
            in rule_file_error(BAD_RULE_FILES["http_status"]))
    assert ("field 'messages': pattern '(?=x) 622202*********0128' is not valid RE2 syntax"
            in rule_file_error(BAD_RULE_FILES["message_pattern"]))
    assert config_error(BAD_CONFIGS["unknown_constant"]).startswith(
        "config.toml: profiles.p.constants: unknown field(s): "
        "'622202*********0128\\x1b]0;t\\x07\\x1b[31m\\u202e\\x9b'")
    assert config_error(BAD_CONFIGS["profile_name"]).startswith(
        "config.toml: profiles.622202*********0128\\x1b]0;t\\x07")
    # ordinary names and keys come out as they were
    assert config_error({"profiles": {"p": {"bogus": 1}}}) == (
        "config.toml: profiles.p.bogus: unknown setting (check the spelling) ")
    assert config_error({"profiles": {"p": {"constants": {"colour": "x"}}}}).startswith(
        "config.toml: profiles.p.constants: unknown field(s): 'colour'")


def test_config_file_errors_are_masked_and_visible_in_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[profiles."{CARD}\\u001b[31m\\u202e"]\nbogus = 1\n', encoding="utf-8")
    code, _, err = run_main(["explain", "51", "--config", str(config)], capsys)
    assert code == 2
    assert_error_is_clean(err)


def test_a_leaking_check_can_fail() -> None:
    """The checks are not vacuous: a raw card, ESC or forged row is caught."""
    with pytest.raises(AssertionError):
        assert_no_leak([Secret("", CARD)], f"x {CARD[:10]}\n {CARD[10:]}")
    with pytest.raises(AssertionError):
        assert_error_is_clean("bad \x1b[2J")
    with pytest.raises(AssertionError):
        check_rows("csv", "h\na\nforged\n", 1)
    with pytest.raises(AssertionError):
        assert_no_formula([["=1+1"]])
