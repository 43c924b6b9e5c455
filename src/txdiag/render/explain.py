"""``explain`` in every output format: what one code or message means.

Light on purpose, as ``txdiag explain`` should start at once: Rich loads for the table format
only, and nothing here needs pydantic.
"""

from __future__ import annotations

import csv
from typing import TYPE_CHECKING, TextIO

from txdiag.render import OutputFormat
from txdiag.render.present import (
    SCHEMA_VERSION,
    Presenter,
    diagnosis_dict,
    dumps,
    md_cell,
)
from txdiag.safety import neutralize_csv_cell

if TYPE_CHECKING:
    from txdiag.diagnosis import Diagnosis


def write_explanation(fmt: OutputFormat, out: TextIO, query: str, channel: str | None,
                      diagnosis: Diagnosis, p: Presenter, *, width: int | None = None,
                      color: bool = False) -> None:
    if fmt is OutputFormat.TABLE:
        render_explanation(out, query, channel, diagnosis, p, width=width, color=color)
        return
    data = {
        "schema_version": SCHEMA_VERSION,
        "command": "explain",
        "query": p.data(query),
        "channel": p.data(channel),
        "lang": p.lang,
        **diagnosis_dict(diagnosis, p),
    }
    if fmt in (OutputFormat.JSON, OutputFormat.JSONL):
        out.write(dumps(data) + "\n")
    elif fmt is OutputFormat.CSV:
        writer = csv.writer(out, lineterminator="\n")
        keys = ("query", "channel", "category", "reason", "retryable", "hint", "action")
        writer.writerow(keys)
        writer.writerow([neutralize_csv_cell(p.text(str(data[k] or ""))) for k in keys])
    else:
        out.write(f"### {md_cell(p.text(query))}\n\n")
        for key in ("category", "reason", "title", "retryable", "hint", "action"):
            out.write(f"- **{key}**: {md_cell(p.text(str(data[key])))}\n")
    out.flush()


def render_explanation(out: TextIO, query: str, channel: str | None, diagnosis: Diagnosis,
                       p: Presenter, *, width: int | None = None, color: bool = False) -> None:
    """The support agent's view of one code or message."""
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    from txdiag.render.console import LABELS, RETRY_TEXT, category_text, make_console

    console = make_console(out, width=width, color=color)
    lang = p.lang
    labels = LABELS[lang]
    ev = diagnosis.evidence
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_row(labels["category"], category_text(diagnosis.category.value))
    title = p.text(diagnosis.title.get(lang))
    grid.add_row(labels["reason"], Text(f"{diagnosis.reason} — {title}"))
    grid.add_row(labels["retryable"], Text(f"{diagnosis.retryable.value} — "
                                           f"{RETRY_TEXT[lang][diagnosis.retryable.value]}"))
    grid.add_row(labels["hint"], Text(p.text(diagnosis.hint.get(lang)), style="green"))
    grid.add_row(labels["action"], Text(p.text(diagnosis.action.get(lang))))
    if ev.rule_id:
        evidence = f"{ev.rule_id} ({ev.level}): {ev.field} = {p.text(ev.value)}"
        if ev.rule_source:
            evidence += f"\n{p.text(ev.rule_source)}"
    else:
        evidence = labels["no_match"]
    grid.add_row(labels["evidence"], Text(evidence, style="dim"))
    title = p.text(query) + (f"  ({p.text(channel)})" if channel else "")
    console.print(Panel(grid, title=Text(title), title_align="left", expand=False))

