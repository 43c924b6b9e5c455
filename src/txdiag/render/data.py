"""One writer for the data formats (json, jsonl, csv, markdown), over what a command builds.

A command describes its result once, as a :class:`DataResult`: the document (the ``--format
json`` object), the objects of its JSON Lines (or none: the document on one line), its CSV table
and its Markdown (tables and paragraphs). :func:`write_data` writes it in the format asked for.
The rows of ``diagnose`` stream through the same cell and line code (:class:`CsvTable`,
:class:`MarkdownTable`), one row at a time.

Values arrive masked (the renderer applies :class:`~txdiag.render.present.Presenter`'s policy
where it builds them); what makes them safe in each format is done here, for every cell:

- JSON and JSON Lines: :func:`~txdiag.render.present.dumps` (C0, DEL, C1, bidi and zero-width
  characters escaped);
- CSV: control characters made visible, and a cell a spreadsheet would run as a formula
  neutralised (:func:`~txdiag.safety.neutralize_csv_cell`);
- Markdown: control characters made visible, then backslashes and pipes escaped, so that a cell
  can neither end its row nor add one.

Light on purpose (no Rich, no pydantic): ``explain`` renders with it.
"""

from __future__ import annotations

import csv
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from txdiag.render import OutputFormat
from txdiag.render.present import dumps, md_cell
from txdiag.safety import neutralize_csv_cell, visible

Cell = str | int | float | bool | None
"""One value of a row: text, a number, a flag, or nothing (an empty cell)."""

DATA_FORMATS = (OutputFormat.JSON, OutputFormat.JSONL, OutputFormat.CSV, OutputFormat.MARKDOWN)
"""The formats :func:`write_data` writes (``table`` is each command's own, for people)."""

__all__ = [
    "DATA_FORMATS",
    "Cell",
    "CsvTable",
    "DataResult",
    "MarkdownTable",
    "Table",
    "csv_cell",
    "markdown_cell",
    "write_data",
]


def _text(value: Cell) -> str:
    if value.__class__ is str:
        return value
    return "" if value is None else str(value)


def csv_cell(value: Cell) -> str:
    """A CSV cell: visible text, never a formula (quoting is the CSV writer's)."""
    return neutralize_csv_cell(visible(_text(value)))


def markdown_cell(value: Cell) -> str:
    """A Markdown table cell: visible text with backslashes and pipes escaped (one space when
    empty)."""
    return md_cell(visible(_text(value)))


@dataclass(frozen=True)
class Table:
    """A table of rows: ``columns`` names them (the CSV and Markdown header, trusted text), each
    row holds one cell per column in that order. ``right``: the indexes of the columns Markdown
    aligns right (numbers)."""

    columns: Sequence[str]
    rows: Iterable[Sequence[Cell]]
    right: Collection[int] = ()


Block = str | Table
"""A part of a Markdown output: a table, or a paragraph already written in Markdown (built by
the renderer from trusted words, with untrusted parts passed through :func:`markdown_cell`)."""


@dataclass(frozen=True)
class DataResult:
    """A command's result, in the shapes the data formats need."""

    document: Mapping[str, Any]
    """The ``--format json`` object (docs/output.md)."""
    csv: Table
    """The ``--format csv`` table."""
    markdown: Sequence[Block] = field(default=())
    """The ``--format markdown`` parts, a blank line between them; empty: the CSV table."""
    lines: Iterable[Mapping[str, Any]] | None = None
    """The objects of ``--format jsonl``, one a line; None: the document, on one line."""
    indent: int | None = 2
    """The indentation of ``--format json`` (None: compact, on one line)."""


class CsvTable:
    """A CSV table written row by row: the header at once, then each row as it comes."""

    def __init__(self, out: TextIO, columns: Sequence[str]) -> None:
        self.writer = csv.writer(out, lineterminator="\n")
        self.writer.writerow(columns)

    def row(self, cells: Iterable[Cell]) -> None:
        self.writer.writerow([csv_cell(cell) for cell in cells])


class MarkdownTable:
    """A Markdown table written row by row: the header and separator at once, then each row."""

    def __init__(self, out: TextIO, columns: Sequence[str], right: Collection[int] = ()) -> None:
        self.out = out
        out.write("| " + " | ".join(columns) + " |\n")
        out.write("|" + "".join("---:|" if i in right else "---|"
                                for i in range(len(columns))) + "\n")

    def row(self, cells: Iterable[Cell]) -> None:
        self.out.write("| " + " | ".join(markdown_cell(cell) for cell in cells) + " |\n")


def _markdown(out: TextIO, blocks: Sequence[Block]) -> None:
    for index, block in enumerate(blocks):
        if index:
            out.write("\n")
        if isinstance(block, Table):
            table = MarkdownTable(out, block.columns, block.right)
            for cells in block.rows:
                table.row(cells)
        else:
            out.write(block + "\n")


def write_data(fmt: OutputFormat, out: TextIO, result: DataResult) -> None:
    """``result`` in one of the :data:`DATA_FORMATS`."""
    if fmt is OutputFormat.JSON:
        out.write(dumps(result.document, indent=result.indent) + "\n")
    elif fmt is OutputFormat.JSONL:
        lines = [result.document] if result.lines is None else result.lines
        out.writelines(dumps(line) + "\n" for line in lines)
    elif fmt is OutputFormat.CSV:
        table = CsvTable(out, result.csv.columns)
        for cells in result.csv.rows:
            table.row(cells)
    elif fmt is OutputFormat.MARKDOWN:
        _markdown(out, result.markdown or [result.csv])
    else:
        raise ValueError(f"{fmt.value} is not a data format")
    out.flush()
