"""Streaming writers of ``diagnose`` rows, one class per format, one interface."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from typing import Any, Protocol, TextIO

from txdiag.aggregate import Summary
from txdiag.models import Finding, format_time
from txdiag.readers import ReadStats
from txdiag.render import OutputFormat
from txdiag.render.common import (
    SCHEMA_VERSION,
    Presenter,
    finding_dict,
    inputs_list,
    json_escape_unsafe,
    totals_dict,
)
from txdiag.safety import neutralize_csv_cell

MESSAGE_WIDTH = 60

CSV_COLUMNS = (
    "timestamp", "txn_id", "channel", "error_code", "error_message", "http_status", "category",
    "reason", "retryable", "hint", "action", "rule_id", "source",
)


class FindingWriter(Protocol):
    """Receives findings one by one, then the run's totals."""

    def write(self, finding: Finding) -> None: ...

    def finish(self, summary: Summary, inputs: Sequence[ReadStats]) -> None: ...


def dumps(value: Any, *, indent: int | None = None) -> str:
    """JSON with UTF-8 text kept readable and terminal-unsafe characters escaped.

    Compact unless ``indent`` is given.
    """
    separators = (",", ": ") if indent else (",", ":")
    return json_escape_unsafe(
        json.dumps(value, ensure_ascii=False, separators=separators, indent=indent)
    )


def shorten(text: str, width: int = MESSAGE_WIDTH) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


class JsonLinesWriter:
    def __init__(self, out: TextIO, presenter: Presenter) -> None:
        self.out = out
        self.p = presenter

    def write(self, finding: Finding) -> None:
        self.out.write(dumps(finding_dict(finding, self.p)) + "\n")

    def finish(self, summary: Summary, inputs: Sequence[ReadStats]) -> None:
        self.out.flush()


class JsonWriter:
    """One JSON object, written incrementally: memory does not grow with the number of rows."""

    def __init__(self, out: TextIO, presenter: Presenter) -> None:
        self.out = out
        self.p = presenter
        self.count = 0
        out.write(f'{{"schema_version":{SCHEMA_VERSION},"command":"diagnose",'
                  f'"lang":"{presenter.lang}","findings":[')

    def write(self, finding: Finding) -> None:
        self.out.write(("," if self.count else "") + "\n" + dumps(finding_dict(finding, self.p)))
        self.count += 1

    def finish(self, summary: Summary, inputs: Sequence[ReadStats]) -> None:
        tail = {
            "shown": self.count,
            "totals": totals_dict(summary, inputs),
            "by_category": dict(summary.by_category),
            "inputs": inputs_list(inputs, self.p),
        }
        self.out.write("\n]," + dumps(tail)[1:] + "\n")
        self.out.flush()


def _row(finding: Finding, p: Presenter) -> list[str]:
    r, d = finding.record, finding.diagnosis
    return [
        format_time(r.timestamp) or p.text(r.timestamp_raw),
        p.text(r.txn_id),
        p.text(r.channel),
        p.text(r.error_code),
        p.text(r.error_message),
        "" if r.http_status is None else str(p.number(r.http_status)),
        d.category.value,
        d.reason,
        d.retryable.value,
        p.text(d.hint.get(p.lang)),
        p.text(d.action.get(p.lang)),
        d.evidence.rule_id or "",
        p.text(str(r.source)),
    ]


class CsvWriter:
    def __init__(self, out: TextIO, presenter: Presenter) -> None:
        self.out = out
        self.p = presenter
        self.writer = csv.writer(out, lineterminator="\n")
        self.writer.writerow(CSV_COLUMNS)

    def write(self, finding: Finding) -> None:
        self.writer.writerow([neutralize_csv_cell(cell) for cell in _row(finding, self.p)])

    def finish(self, summary: Summary, inputs: Sequence[ReadStats]) -> None:
        self.out.flush()


def md_cell(text: str) -> str:
    """A Markdown table cell: pipes escaped (text is already visible, so no newlines)."""
    return text.replace("\\", "\\\\").replace("|", "\\|") if text else " "


class MarkdownWriter:
    HEADER = ("time", "txn id", "channel", "code", "message", "category", "reason", "hint")

    def __init__(self, out: TextIO, presenter: Presenter) -> None:
        self.out = out
        self.p = presenter
        out.write("| " + " | ".join(self.HEADER) + " |\n")
        out.write("|" + "---|" * len(self.HEADER) + "\n")

    def write(self, finding: Finding) -> None:
        row = _row(finding, self.p)
        cells = [row[0], row[1], row[2], row[3], shorten(row[4]), row[6], row[7], row[9]]
        self.out.write("| " + " | ".join(md_cell(c) for c in cells) + " |\n")

    def finish(self, summary: Summary, inputs: Sequence[ReadStats]) -> None:
        self.out.write(
            f"\n{summary.failures} failures in {summary.records} records"
            f" ({summary.unreadable} unreadable)\n"
        )
        self.out.flush()


def finding_writer(fmt: OutputFormat, out: TextIO, presenter: Presenter, *,
                   width: int | None = None, color: bool = False) -> FindingWriter:
    """The writer for a format (the table writer loads Rich on demand)."""
    if fmt is OutputFormat.TABLE:
        from txdiag.render.table import TableWriter

        return TableWriter(out, presenter, width=width, color=color)
    writers: dict[OutputFormat, type[JsonLinesWriter | JsonWriter | CsvWriter | MarkdownWriter]]
    writers = {
        OutputFormat.JSONL: JsonLinesWriter,
        OutputFormat.JSON: JsonWriter,
        OutputFormat.CSV: CsvWriter,
        OutputFormat.MARKDOWN: MarkdownWriter,
    }
    return writers[fmt](out, presenter)
