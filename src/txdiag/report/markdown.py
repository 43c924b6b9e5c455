"""The report as Markdown, for tickets and chat: the sections of :class:`Report` as text."""

from __future__ import annotations

import re
from typing import TextIO

from txdiag.report.model import Report, Table

_MARKDOWN_SPECIAL = re.compile(r"([\\`*\[\]<>|~])")


def md_text(text: str) -> str:
    """Text (already masked and visible) that Markdown shows as it is: no link, emphasis,
    HTML or table cell break can come from it."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def _table(out: TextIO, table: Table) -> None:
    if table.caption:
        out.write(f"**{md_text(table.caption)}**\n\n")
    if not table.rows:
        out.write("(none)\n\n")
        return
    out.write("| " + " | ".join(md_text(c) for c in table.columns) + " |\n")
    out.write("|" + "".join("---:|" if i in table.numeric else "---|"
                            for i in range(len(table.columns))) + "\n")
    for row in table.rows:
        out.write("| " + " | ".join(md_text(cell) if cell else " " for cell in row) + " |\n")
    out.write("\n")


def write_markdown(report: Report, out: TextIO) -> None:
    out.write(f"# {md_text(report.title)}\n")
    for number, section in enumerate(report.sections, 1):
        out.write(f"\n## {number}. {md_text(section.title)}\n\n")
        for paragraph in section.paragraphs:
            out.write(md_text(paragraph) + "\n\n")
        for table in section.tables:
            _table(out, table)
        for note in section.notes:
            out.write(md_text(note) + "\n\n")
    out.flush()
