"""``explain`` in every output format: what one code or message means.

Light on purpose, as ``txdiag explain`` should start at once: Rich loads for the table format
only, and nothing here needs pydantic.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Any, TextIO

from txdiag.render import OutputFormat
from txdiag.render.data import Block, DataResult, markdown_cell, write_data
from txdiag.render.data import Table as DataTable
from txdiag.render.present import SCHEMA_VERSION, Presenter, diagnosis_dict

if TYPE_CHECKING:
    from txdiag.diagnosis import Diagnosis
    from txdiag.explain import ChannelMeaning, Explanation

CSV_KEYS = ("query", "channel", "category", "reason", "retryable", "hint", "action")
MARKDOWN_KEYS = ("category", "reason", "title", "retryable", "hint", "action")
MEANING_KEYS = ("channel", "category", "reason", "retryable", "hint")


def meaning_dict(meaning: ChannelMeaning, p: Presenter) -> dict[str, Any]:
    """One channel's meaning of the code: the channel and the diagnosis there."""
    return {"channel": meaning.channel, "channel_title": meaning.channel_title,
            **diagnosis_dict(meaning.diagnosis, p)}


def write_explanation(fmt: OutputFormat, out: TextIO, query: str, channel: str | None,
                      explanation: Explanation, p: Presenter, *, width: int | None = None,
                      color: bool = False) -> None:
    diagnosis = explanation.diagnosis
    if fmt is OutputFormat.TABLE:
        render_explanation(out, query, channel, explanation, p, width=width, color=color)
        return
    data = {
        "schema_version": SCHEMA_VERSION,
        "command": "explain",
        "query": p.data(query),
        "channel": p.data(channel),
        "lang": p.lang,
        **diagnosis_dict(diagnosis, p),
        "meanings": [meaning_dict(m, p) for m in explanation.meanings],
    }
    rows = [data] + [{"query": data["query"], **meaning} for meaning in data["meanings"]]
    markdown: list[Block] = [
        f"### {markdown_cell(data['query'])}",
        DataTable(("field", "value"), [(key, p.value(data[key])) for key in MARKDOWN_KEYS]),
    ]
    if explanation.meanings:
        markdown.append(DataTable(MEANING_KEYS, [[p.value(meaning[k]) for k in MEANING_KEYS]
                                            for meaning in data["meanings"]]))
    write_data(fmt, out, DataResult(
        document=data,
        indent=None,
        csv=DataTable(CSV_KEYS, [[p.value(row[k]) for k in CSV_KEYS] for row in rows]),
        markdown=markdown,
    ))


def render_explanation(out: TextIO, query: str, channel: str | None, explanation: Explanation,
                       p: Presenter, *, width: int | None = None, color: bool = False) -> None:
    """The support agent's view of one code or message, and, for a code that means different
    things on different channels, each channel's meaning and how to ask for one."""
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    from txdiag.render.console import CATEGORY_STYLE, LABELS, RETRY_TEXT, make_console

    console = make_console(out, width=width, color=color)
    labels = LABELS[p.lang]
    diagnosis = explanation.diagnosis
    if not explanation.meanings or diagnosis.evidence.level != "none":
        # (an unrecognised code that channels read differently: their readings say more)
        title = p.text(query) + (f"  ({p.text(channel)})" if channel else "")
        console.print(Panel(_diagnosis_grid(diagnosis, p), title=Text(title),
                            title_align="left", expand=False))
    if not explanation.meanings:
        return
    # Stacked, one channel a block: ids never share a line with a wrapping column.
    console.print(Text(f"{p.text(query)}: {labels['meanings']}", style="bold"))
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    for meaning in explanation.meanings:
        found = meaning.diagnosis
        block = Text()
        block.append(found.reason, style=CATEGORY_STYLE.get(found.category.value, ""))
        block.append(f" — {p.text(found.title.get(p.lang))}\n")
        block.append(f"{labels['retryable']}: {found.retryable.value} — "
                     f"{RETRY_TEXT[p.lang][found.retryable.value]}\n", style="dim")
        block.append(f"{labels['hint']}: {p.text(found.hint.get(p.lang))}", style="green")
        grid.add_row(Text(meaning.channel, style="bold"), block)
        grid.add_row("", "")
    console.print(grid)
    first = explanation.meanings[0].channel
    console.print(Text(labels["ask_channel"].format(query=shlex.quote(p.text(query)),
                                                    channel=first)))


def _diagnosis_grid(diagnosis: Diagnosis, p: Presenter) -> Any:
    from rich.table import Table
    from rich.text import Text

    from txdiag.render.console import LABELS, RETRY_TEXT, category_text

    lang = p.lang
    labels = LABELS[lang]
    ev = diagnosis.evidence
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_row(labels["category"], category_text(diagnosis.category.value, lang))
    title = p.text(diagnosis.title.get(lang))
    grid.add_row(labels["reason"], Text(f"{diagnosis.reason} — {title}"))
    grid.add_row(labels["retryable"], Text(f"{diagnosis.retryable.value} — "
                                           f"{RETRY_TEXT[lang][diagnosis.retryable.value]}"))
    grid.add_row(labels["hint"], Text(p.text(diagnosis.hint.get(lang)), style="green"))
    grid.add_row(labels["action"], Text(p.text(diagnosis.action.get(lang))))
    if ev.rule_id:
        value = p.text(ev.value) if ev.value else ""
        evidence = f"{ev.rule_id} ({ev.level}): {ev.field} = {value}"
        if ev.pattern and ev.pattern.startswith("concepts:"):
            evidence += f"  [{p.text(ev.pattern)}]"
        if ev.rule_source:
            evidence += f"\n{p.text(ev.rule_source)}"
    else:
        evidence = labels["no_match"]
    grid.add_row(labels["evidence"], Text(evidence, style="dim"))
    return grid
