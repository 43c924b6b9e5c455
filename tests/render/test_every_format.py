"""Every command that takes ``--format`` writes every :class:`OutputFormat`, on the examples.

The commands are found by walking the CLI itself, so a new command with ``--format`` fails
:func:`test_every_format_command_has_a_case` until it is given a case here. Each output must
parse as its format (JSON; JSON Lines line by line; CSV with a header and rows of its width;
Markdown with a table whose rows have the header's width), and never hold a terminal escape or a
traceback.
"""

from __future__ import annotations

import csv
import io
import json
import re
import signal
import threading
from collections.abc import Iterator
from itertools import takewhile
from pathlib import Path
from typing import Any

import pytest
from tests.http.test_cli_api import load_demo
from tests.test_docs import commands
from typer.testing import CliRunner

from txdiag.cli.app import app, main
from txdiag.exitcodes import ExitCode
from txdiag.render import OutputFormat
from txdiag.render.data import DATA_FORMATS

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = str(ROOT / "examples" / "transactions.jsonl")
CORPUS = str(ROOT / "tests" / "data" / "corpus" / "en_more_gateways.csv")
URL = "http://127.0.0.1:{port}/v1/transactions/{{txn_id}}"

CASES: dict[str, list[tuple[list[str], ExitCode]]] = {
    "summary": [([EXAMPLE, "--bucket", "5m"], ExitCode.OK)],
    "diagnose": [([EXAMPLE], ExitCode.OK)],
    "check": [([EXAMPLE, "--max-rate", "failure=40"], ExitCode.OK),
              ([EXAMPLE, "--window", "5m", "--max-rate", "system=1", "--min-records", "5"],
               ExitCode.BREACH)],
    "explain": [(["51", "--channel", "iso8583"], ExitCode.OK),
                (["14"], ExitCode.OK)],  # a code that means something else on each channel
    "lookup": [(["T20261111000000001", "--url", URL], ExitCode.OK),  # failed
               (["T20261111000000000", "--url", URL], ExitCode.OK)],  # succeeded
    "watch": [([EXAMPLE, "--once"], ExitCode.OK)],
    "rules list": [(["--channel", "iso8583"], ExitCode.OK)],
    "rules show": [(["iso8583.51"], ExitCode.OK)],
    "rules test": [(["--code", "40004", "--channel", "alipay", "--message", "买家余额不足"],
                    ExitCode.OK)],
    "rules concepts": [([], ExitCode.OK)],
    "rules accuracy": [([CORPUS, "--show", "5"], ExitCode.OK)],
}
"""Arguments of each command with ``--format``, and the exit code docs/exit-codes.md gives."""

OTHER_FORMATS: dict[str, set[str]] = {"report": {"html", "markdown"}, "config show": set()}
"""Commands whose ``--format`` is not an :class:`OutputFormat` (documents, not results)."""

JSON_COMMAND = {"watch": "summary"}
"""The ``command`` of a JSON document, where it is not the command's own name."""


def format_choices() -> dict[str, set[str]]:
    """Every command with a ``--format`` option, and the values the option accepts."""
    found = {}
    for path, command in commands():
        for param in command.params:  # type: ignore[attr-defined]
            if "--format" in getattr(param, "opts", ()):
                # (an empty set: a free text the command checks itself)
                found[path] = {str(c) for c in getattr(param.type, "choices", ())}
    return found


def test_every_format_command_has_a_case() -> None:
    choices = format_choices()
    every = {fmt.value for fmt in OutputFormat}
    assert {path for path, values in choices.items() if values == every} == set(CASES)
    assert {path: values for path, values in choices.items() if values != every} == OTHER_FORMATS


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    """The example gateway on 127.0.0.1, for ``lookup``."""
    server = load_demo().make_server(0, fail_rate=0.0, quiet=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def run(args: list[str]) -> Any:
    return CliRunner().invoke(app, args, catch_exceptions=False)


def markdown_cells(line: str) -> list[str]:
    """The cells of a Markdown table row (a pipe escaped with a backslash is text)."""
    assert line.startswith("|") and line.endswith("|"), line
    return re.split(r"(?<!\\)\|", line[1:-1])


def markdown_tables(text: str) -> list[tuple[list[str], list[list[str]]]]:
    """Each Markdown table's header cells and rows (a table: a header, then a separator)."""
    lines = text.splitlines()
    found = []
    for index, line in enumerate(lines[:-1]):
        if line.startswith("|") and re.fullmatch(r"\|(?:-{3,}:?\|)+", lines[index + 1]):
            body = takewhile(lambda row: row.startswith("|"), lines[index + 2:])
            found.append((markdown_cells(line), [markdown_cells(row) for row in body]))
    return found


def check_markdown(text: str) -> None:
    tables = markdown_tables(text)
    assert tables, f"no Markdown table in:\n{text}"
    for header, rows in tables:
        assert all(len(row) == len(header) for row in rows), (header, rows)


def check_output(fmt: OutputFormat, text: str, command: str) -> None:
    assert text.strip(), "empty output"
    assert "\x1b" not in text and "\x9b" not in text
    if fmt is OutputFormat.JSON:
        document = json.loads(text)
        assert document["schema_version"] == 1
        assert document["command"] == JSON_COMMAND.get(command, command)
    elif fmt is OutputFormat.JSONL:
        objects = [json.loads(line) for line in text.splitlines()]
        assert objects and all(isinstance(o, dict) for o in objects)
    elif fmt is OutputFormat.CSV:
        rows = list(csv.reader(io.StringIO(text)))
        assert len(rows) >= 2, "a header and at least one row"
        assert {len(row) for row in rows} == {len(rows[0])}
        assert len(set(rows[0])) == len(rows[0]), "column names are unique"
    elif fmt is OutputFormat.MARKDOWN:
        check_markdown(text)


@pytest.mark.parametrize("fmt", list(OutputFormat))
@pytest.mark.parametrize("command", sorted(CASES))
def test_every_command_writes_every_format(command: str, fmt: OutputFormat,
                                           request: pytest.FixtureRequest) -> None:
    for args, code in CASES[command]:
        if "--url" in args:
            port = request.getfixturevalue("port")
            args = [a.format(port=port) if a == URL else a for a in args]
        result = run([*command.split(), *args, "--format", fmt.value])
        assert result.exit_code == code, (args, result.stderr)
        assert "Traceback" not in result.stderr and "internal error" not in result.stderr
        check_output(fmt, result.stdout, command)


@pytest.fixture
def own_sigterm() -> Iterator[None]:
    """``main`` installs its SIGTERM handler in this process: the tests after get it back as
    it was (a worker forked later would inherit it)."""
    before = signal.getsignal(signal.SIGTERM)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


@pytest.mark.usefixtures("own_sigterm")
@pytest.mark.parametrize("command", sorted(CASES))
def test_an_unknown_format_is_a_one_line_usage_error(command: str,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """As the installed ``txdiag`` runs it (``main``): Typer's usage error made one line."""
    args = [a.format(port=9) if a == URL else a for a in CASES[command][0][0]]
    with pytest.raises(SystemExit) as exited:
        main([*command.split(), *args, "--format", "xml"])
    assert exited.value.code == ExitCode.USAGE
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        "txdiag: error: Invalid value for '--format' / '-f': 'xml' is not one of 'table', "
        "'json', 'jsonl', 'csv', 'markdown'.",
        f"txdiag: hint: see 'txdiag {command} --help'",
    ]


def test_data_formats_are_every_format_but_the_table() -> None:
    assert set(DATA_FORMATS) == set(OutputFormat) - {OutputFormat.TABLE}


AGREEING = {
    "diagnose": ([EXAMPLE, "-c", "network"], lambda d: d["findings"]),
    "check": ([EXAMPLE, "--max-rate", "failure=40", "--max-count", "system=3"],
              lambda d: d["checks"]),
    "rules list": (["--channel", "alipay"], lambda d: d["rules"]),
    "rules test": (["--code", "40004", "--channel", "alipay", "--message", "买家余额不足"],
                   lambda d: d["matches"]),
    "rules concepts": ([], lambda d: d["concepts"]),
}
"""Commands whose CSV and Markdown have one row per item of a JSON list."""


@pytest.mark.parametrize("command", sorted(AGREEING))
def test_the_formats_agree(command: str) -> None:
    """One row per item in every format: the writer drops and adds none."""
    args, items = AGREEING[command]
    outputs = {fmt: run([*command.split(), *args, "--format", fmt.value]).stdout
               for fmt in DATA_FORMATS}
    count = len(items(json.loads(outputs[OutputFormat.JSON])))
    assert count > 1
    assert len(list(csv.reader(io.StringIO(outputs[OutputFormat.CSV])))) == count + 1
    assert len(markdown_tables(outputs[OutputFormat.MARKDOWN])[0][1]) == count
    jsonl = [json.loads(line) for line in outputs[OutputFormat.JSONL].splitlines()]
    assert len(jsonl) == count if command in ("diagnose", "rules list") else len(jsonl) == 1
