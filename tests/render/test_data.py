"""The one writer of the data formats: shapes, and hostile text in every format."""

from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner

from txdiag.cli.app import app
from txdiag.render import OutputFormat
from txdiag.render.data import (
    CsvTable,
    DataResult,
    MarkdownTable,
    Table,
    csv_cell,
    markdown_cell,
    write_data,
)

HOSTILE = "=HYPERLINK(\"x\")|a\\b\n| forged | row |\x1b[31m\u202e\u2028"


def written(fmt: OutputFormat, result: DataResult) -> str:
    out = io.StringIO()
    write_data(fmt, out, result)
    return out.getvalue()


RESULT = DataResult(
    document={"command": "test", "rows": [{"a": 1, "b": HOSTILE}]},
    lines=[{"a": 1}, {"a": 2}],
    csv=Table(("a", "b"), [(1, HOSTILE), (None, True), (2.5, "")]),
    markdown=["**bold** paragraph", Table(("a", "b"), [(1, HOSTILE)], right=(0,))],
)


def test_json_is_the_document_indented_and_jsonl_the_lines() -> None:
    text = written(OutputFormat.JSON, RESULT)
    assert json.loads(text) == RESULT.document
    assert text.startswith('{\n  "command": "test"')
    assert written(OutputFormat.JSONL, RESULT) == '{"a":1}\n{"a":2}\n'


def test_jsonl_without_lines_is_the_document_on_one_line() -> None:
    result = DataResult(document={"a": [1, 2]}, csv=Table(("a",), []), indent=None)
    assert written(OutputFormat.JSONL, result) == '{"a":[1,2]}\n'
    assert written(OutputFormat.JSON, result) == '{"a":[1,2]}\n'


def test_json_escapes_what_could_drive_a_terminal() -> None:
    text = written(OutputFormat.JSON, RESULT)
    assert "\x1b" not in text and "\u202e" not in text and "\u2028" not in text
    assert json.loads(text)["rows"][0]["b"] == HOSTILE


def test_csv_cells_are_visible_and_never_formulas() -> None:
    text = written(OutputFormat.CSV, RESULT)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["a", "b"]
    assert rows[1][0] == "1"
    assert rows[1][1].startswith("'=HYPERLINK")
    assert "\x1b" not in text and "\n|" not in text and "\u202e" not in text
    assert rows[2] == ["", "True"]
    assert rows[3] == ["2.5", ""]
    assert len(rows) == 4


def test_markdown_cells_cannot_end_or_add_a_row() -> None:
    text = written(OutputFormat.MARKDOWN, RESULT)
    lines = text.splitlines()
    assert lines[:4] == ["**bold** paragraph", "", "| a | b |", "|---:|---|"]
    assert len(lines) == 5
    # made visible (a backslash escape), then the backslashes and pipes escaped
    assert lines[4] == ("| 1 | =HYPERLINK(\"x\")\\|a\\\\b\\\\n\\| forged \\| row \\|"
                        "\\\\x1b[31m\\\\u202e\\\\u2028 |")
    assert "\x1b" not in text and "\u202e" not in text


def test_markdown_is_the_csv_table_when_not_given() -> None:
    result = DataResult(document={}, csv=Table(("x", "y"), [("a|b", None)]))
    assert written(OutputFormat.MARKDOWN, result) == "| x | y |\n|---|---|\n| a\\|b |   |\n"


def test_the_table_format_is_not_a_data_format() -> None:
    with pytest.raises(ValueError, match="table"):
        written(OutputFormat.TABLE, RESULT)


def test_streaming_tables_write_the_same_lines() -> None:
    out = io.StringIO()
    table = CsvTable(out, ("a", "b"))
    table.row(["-1", "-x"])
    assert out.getvalue() == "a,b\n-1,'-x\n"  # a negative number stays a number
    out = io.StringIO()
    MarkdownTable(out, ("a",)).row([None])
    assert out.getvalue() == "| a |\n|---|\n|   |\n"
    assert csv_cell(None) == "" and markdown_cell(None) == " "


@pytest.mark.parametrize("fmt", [OutputFormat.CSV, OutputFormat.MARKDOWN])
def test_a_hostile_query_stays_one_cell(fmt: OutputFormat) -> None:
    """Through a command: what a support agent pastes cannot forge rows or run formulas."""
    query = "=cmd|' /C calc'!A0\n| x | y |\x1b]8;;http://evil\x07 13812345678"
    result = CliRunner().invoke(app, ["explain", query, "--format", fmt.value],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert "\x1b" not in text and "\x07" not in text
    assert "13812345678" not in text  # masked
    if fmt is OutputFormat.CSV:
        rows = list(csv.reader(io.StringIO(text)))
        assert len(rows) == 2 and rows[1][0].startswith("'=cmd")
    else:
        heading, _, *table = text.splitlines()
        assert heading.startswith("### =cmd\\|") and "\\\\n\\| x \\| y \\|" in heading
        assert table[:2] == ["| field | value |", "|---|---|"]
        assert all(line.startswith("| ") and line.count(" | ") == 1 for line in table[2:])
