"""Renderings of rules (``txdiag rules list|show|test``) in every output format."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TextIO

from txdiag.accuracy import Report
from txdiag.classify import Candidate
from txdiag.render import OutputFormat
from txdiag.render.common import SCHEMA_VERSION, Presenter
from txdiag.render.data import Block, Cell, DataResult, Table, write_data
from txdiag.rulebook import Rule, Rulebook
from txdiag.vocabulary import Lang

LEVEL_TEXT = {
    "channel_code": "1 channel-specific code",
    "code": "2 channel-independent code",
    "status": "3 status",
    "message": "4 message pattern or concepts",
    "inferred_code": "5 code known to one meaning on other channels",
    "code_text": "5 the words of a code, read as a message",
    "http_status": "6 HTTP status",
    "latency": "6 latency",
    "fallback_code": "7 generic (fallback) code",
    "fallback_message": "7 message that names no cause (fallback)",
}


TEST_COLUMNS = ("rank", "wins", "rule_id", "level", "precedence", "field", "value", "pattern",
                "category", "reason", "channel")
"""The columns of ``rules test --format csv|markdown``: the keys of its JSON ``matches``."""


def selector_text(rule: Rule) -> str:
    if rule.selector == "codes":
        return "codes: " + ", ".join(rule.codes)
    if rule.selector == "messages":
        return "messages: " + " | ".join(rule.messages)
    if rule.selector == "concepts":
        return "concepts: " + " | ".join(" + ".join(c) for c in rule.concepts)
    if rule.selector == "http_status":
        return "http: " + ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in rule.http_status)
    if rule.selector == "statuses":
        return "statuses: " + ", ".join(rule.statuses)
    return f"latency >= {rule.min_latency_ms:g} ms"


def rule_dict(rule: Rule, lang: Lang | None = None) -> dict[str, Any]:
    """A rule with everything resolved; texts in one language, or both when ``lang`` is None."""
    def text(value: Any) -> Any:
        return value.get(lang) if lang else {"en": value.en, "zh": value.zh}

    return {
        "id": rule.id,
        "channel": rule.channel,
        "category": rule.category.value,
        "reason": rule.reason,
        "title": text(rule.title),
        "retryable": rule.retryable.value,
        "selector": rule.selector,
        "codes": list(rule.codes) or None,
        "messages": list(rule.messages) or None,
        "concepts": [" + ".join(c) for c in rule.concepts] or None,
        "http_status": [list(r) for r in rule.http_status] or None,
        "min_latency_ms": rule.min_latency_ms,
        "statuses": list(rule.statuses) or None,
        "fallback": rule.fallback,
        "hint": text(rule.hint),
        "action": text(rule.action),
        "source": rule.source,
        "pack": rule.pack,
        "file": rule.origin,
    }


def write_rule_list(fmt: OutputFormat, out: TextIO, rules: Sequence[Rule], p: Presenter, *,
                    color: bool = False, channel: str | None = None) -> None:
    """``channel``: the channel asked for, whose own rules the table says come first."""
    if fmt is OutputFormat.TABLE:
        _rule_table(out, rules, p, color=color, channel=channel)
        out.flush()
        return
    rows = [rule_dict(r, p.lang) for r in rules]
    write_data(fmt, out, DataResult(
        document={"schema_version": SCHEMA_VERSION, "command": "rules list",
                  "count": len(rows), "rules": rows},
        lines=rows,
        csv=Table(("id", "channel", "category", "reason", "retryable", "selector", "source"),
                  ((p.data(rule.id), p.data(rule.channel), rule.category.value,
                    p.data(rule.reason), rule.retryable.value, p.data(selector_text(rule)),
                    p.data(rule.source)) for rule in rules)),
        markdown=[Table(("id", "channel", "reason", "retry", "matches"),
                        ((rule.id, rule.channel, rule.reason, rule.retryable.value,
                          p.data(selector_text(rule))) for rule in rules))],
    ))


MATCHES_MIN = 20
"""The narrowest "matches" column worth a table; below it each rule takes two lines."""


def _rule_table(out: TextIO, rules: Sequence[Rule], p: Presenter, *, color: bool,
                channel: str | None) -> None:
    """id, reason and what the rule matches, shortened to one line (``rules show`` has it all).

    Ids and reasons are never cut: when they and a useful "matches" column do not fit the
    width, each rule takes two lines, the match under the id.
    """
    from rich import box
    from rich.cells import cell_len
    from rich.table import Table
    from rich.text import Text

    from txdiag.render.console import CATEGORY_STYLE, make_console
    from txdiag.render.table import table_width

    console = make_console(out, color=color)
    own = sum(1 for rule in rules if channel is not None and rule.channel == channel)
    title = Text(f"{len(rules)} rules", style="bold")
    if channel is not None:
        title.append(f": {own} of {channel} first, then {len(rules) - own} inherited or "
                     "generic (each in precedence order)", style="")
    console.print(title)
    ids = [rule.id for rule in rules]
    reasons = [rule.reason for rule in rules]
    widths = [max(map(cell_len, [*ids, "id"])), max(map(cell_len, [*reasons, "reason"]))]
    room = console.width - table_width([*widths, 0])
    if room >= MATCHES_MIN:
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
        table.add_column("id", no_wrap=True)
        table.add_column("reason", no_wrap=True)
        table.add_column("matches (codes, /text/)", no_wrap=True, overflow="ellipsis",
                         max_width=room)
        for rule in rules:
            table.add_row(Text(rule.id),
                          Text(rule.reason, style=CATEGORY_STYLE.get(rule.category.value, "")),
                          Text(p.text(match_summary(rule, room))))
        console.print(table)
    else:
        for rule in rules:
            line = Text(rule.id, style="bold")
            line.append("  ")
            line.append(rule.reason, style=CATEGORY_STYLE.get(rule.category.value, ""))
            console.print(line, overflow="fold")
            console.print(Text("  " + p.text(match_summary(rule, console.width - 2))),
                          no_wrap=True, overflow="ellipsis")
    console.print(Text("txdiag rules show ID has a rule's full definition.", style="dim"))


def match_summary(rule: Rule, width: int) -> str:
    """What a rule matches in about ``width`` cells: codes as they are (as many as fit), a
    message pattern between slashes or a concept combination (the first), then ``+N`` for the
    others; whatever is cut short ends in "…". Other kinds as :func:`selector_text` says
    them."""
    from rich.cells import cell_len

    if rule.selector == "codes":
        items = list(rule.codes)
    elif rule.selector == "messages":
        items = [f"/{pattern}/" for pattern in rule.messages]
    elif rule.selector == "concepts":
        items = [" + ".join(combination) for combination in rule.concepts]
    else:
        return selector_text(rule)
    shown = 1
    while (rule.selector == "codes" and shown < len(items)
           and cell_len(", ".join(items[: shown + 1])) + 5 <= width):
        shown += 1
    more = f" +{len(items) - shown}" if len(items) > shown else ""
    text = ", ".join(items[:shown])
    if cell_len(text) + len(more) > width:
        room = max(4, width - len(more) - 1)
        while cell_len(text) > room:
            text = text[:-1]
        text += "…"
    return text + more


def write_rule(fmt: OutputFormat, out: TextIO, rule: Rule, p: Presenter, *,
               color: bool = False) -> None:
    if fmt is not OutputFormat.TABLE:
        fields = [
            ("id", rule.id), ("channel", rule.channel), ("category", rule.category.value),
            ("reason", rule.reason), ("title_en", rule.title.en), ("title_zh", rule.title.zh),
            ("retryable", rule.retryable.value), ("selector", rule.selector),
            ("matches", selector_text(rule)), ("fallback", rule.fallback),
            ("source", rule.source), ("hint_en", rule.hint.en), ("hint_zh", rule.hint.zh),
            ("action_en", rule.action.en), ("action_zh", rule.action.zh), ("pack", rule.pack),
            ("file", rule.origin),
        ]
        values = [p.value(value) for _, value in fields]
        write_data(fmt, out, DataResult(
            document={"schema_version": SCHEMA_VERSION, "command": "rules show",
                      **rule_dict(rule)},
            csv=Table([name for name, _ in fields], [values]),
            markdown=[Table(("field", "value"),
                            [(name, value) for (name, _), value in zip(fields, values,
                                                                       strict=True)])],
        ))
        return
    lines = [
        f"{rule.id}  ({rule.channel or 'any channel'}, pack {rule.pack}, {rule.origin})",
        f"  category   {rule.category.value}",
        f"  reason     {rule.reason} — {rule.title.en} / {rule.title.zh}",
        f"  retry      {rule.retryable.value}",
        f"  matches    {selector_text(rule)}" + ("  (fallback)" if rule.fallback else ""),
        f"  source     {rule.source or '-'}",
        f"  hint en    {rule.hint.en}",
        f"  hint zh    {rule.hint.zh}",
        f"  action en  {rule.action.en}",
        f"  action zh  {rule.action.zh}",
    ]
    out.write("\n".join(p.text(line) for line in lines) + "\n")
    out.flush()


def write_rule_test(fmt: OutputFormat, out: TextIO, query: dict[str, Any],
                    candidates: Sequence[Candidate], rulebook: Rulebook, p: Presenter) -> None:
    """Every matching rule in precedence order, the winner first, and why it wins."""
    rows = [
        {
            "rank": index + 1,
            "wins": index == 0,
            "rule_id": c.rule.id,
            "level": c.level,
            "precedence": LEVEL_TEXT[c.level],
            "field": c.field,
            "value": p.data(c.value),
            "pattern": c.pattern,
            "category": c.rule.category.value,
            "reason": c.rule.reason,
            "channel": c.rule.channel,
        }
        for index, c in enumerate(candidates)
    ]
    winner = rows[0] if rows else None
    why = (
        f"{winner['rule_id']} wins at precedence level {winner['precedence']}"
        + (", before every other match" if len(rows) > 1 else "")
        if winner else "no rule matches: the failure would be unknown.no_match"
    )
    if fmt is not OutputFormat.TABLE:
        table = Table(TEST_COLUMNS, [[row[key] for key in TEST_COLUMNS] for row in rows])
        write_data(fmt, out, DataResult(
            document={"schema_version": SCHEMA_VERSION, "command": "rules test",
                      "query": {k: p.value(v) for k, v in query.items()},
                      "matches": rows, "why": why},
            csv=table,
            markdown=[table, p.text(why)],
        ))
        return
    if not rows:
        out.write(why + "\n")
        return
    for row in rows:
        mark = "WINS " if row["wins"] else "     "
        detail = f"{row['field']} = {row['value']}"
        if row["pattern"]:
            detail += f"  (pattern {row['pattern']})"
        out.write(p.text(f"{mark}{row['rank']:>2}. {row['rule_id']}  [{row['precedence']}]  "
                         f"{row['reason']}  — {detail}") + "\n")
    out.write(p.text(why) + "\n")
    out.flush()


def write_concepts(fmt: OutputFormat, out: TextIO, rulebook: Rulebook, p: Presenter) -> None:
    """Every concept with its terms and the rules that name it."""
    used_by: dict[str, set[str]] = {}
    for rule in rulebook.rules:
        for combination in rule.concepts:
            for concept_id in combination:
                used_by.setdefault(concept_id, set()).add(rule.id)
    concepts = list(rulebook.concepts.values())
    rules_of = {c.id: sorted(used_by.get(c.id, ())) for c in concepts}
    if fmt is not OutputFormat.TABLE:
        def cells(separator: str) -> list[tuple[Cell, ...]]:
            return [(p.data(c.id), p.data(c.title), c.negatable,
                     p.data(separator.join(c.terms)), p.data(separator.join(c.exclude)),
                     " ".join(rules_of[c.id])) for c in concepts]

        rows = [{"id": c.id, "title": c.title, "negatable": c.negatable, "terms": c.terms,
                 "exclude": c.exclude, "rules": rules_of[c.id]} for c in concepts]
        write_data(fmt, out, DataResult(
            document={"schema_version": SCHEMA_VERSION, "command": "rules concepts",
                      "concepts": rows},
            csv=Table(("id", "title", "negatable", "terms", "exclude", "rules"), cells(" | ")),
            markdown=[Table(("concept", "title", "negatable", "terms", "not inside", "rules"),
                            cells(" \u00b7 "))],
        ))
    else:
        for c in concepts:
            flags = "  (negatable)" if c.negatable else ""
            out.write(p.text(f"{c.id}{flags}: {c.title}") + "\n")
            out.write(p.text("  terms: " + " | ".join(c.terms)) + "\n")
            if c.exclude:
                out.write(p.text("  not inside: " + " | ".join(c.exclude)) + "\n")
            out.write(p.text("  rules: " + (" ".join(rules_of[c.id]) or "(none)")) + "\n")
    out.flush()


def write_accuracy(fmt: OutputFormat, out: TextIO, report: Report, split: str, p: Presenter,
                   *, show: int = 0) -> None:
    """The figures of ``rules accuracy``, and the rows not answered right (up to ``show``)."""
    misses = [{"where": p.data(s.row.where), "channel": p.data(s.row.channel),
               "code": p.data(s.row.code), "message": p.data(s.row.message),
               "expected": s.row.expected_reason, "got": s.reason, "rule_id": s.rule_id,
               "outcome": s.outcome}
              for s in report.scored if s.outcome != "right"][:show]
    categories = {c: {"precision": round(pr, 4), "recall": round(rc, 4), "rows": n}
                  for c, (pr, rc, n) in report.precision_recall().items()}
    figures = {"rows": report.rows, "accuracy": round(report.accuracy, 4),
               "confidently_wrong": round(report.confidently_wrong, 4),
               "unknown_faults": round(report.unknown_faults, 4),
               "reason_accuracy": round(report.reason_accuracy, 4)}
    if fmt is not OutputFormat.TABLE:
        rows: list[tuple[Cell, ...]] = [("figure", key, value, "")
                                        for key, value in figures.items()]
        rows += [("category", category, values[key], key)
                 for category, values in categories.items()
                 for key in ("precision", "recall", "rows")]
        rows += [("miss", miss["where"], miss["got"],
                  f"{miss['channel']} {miss['code']} {miss['message']} (expected "
                  f"{miss['expected']})") for miss in misses]
        miss_keys = ("where", "code", "message", "expected", "got")
        markdown: list[Block] = [
            f"### Accuracy ({split})",
            Table(("figure", "value"), list(figures.items())),
            Table(("category", "precision", "recall", "rows"),
                  [(category, values["precision"], values["recall"], values["rows"])
                   for category, values in categories.items()]),
        ]
        if misses:
            markdown.append(Table(miss_keys, [[miss[k] for k in miss_keys] for miss in misses]))
        write_data(fmt, out, DataResult(
            document={"schema_version": SCHEMA_VERSION, "command": "rules accuracy",
                      "split": split, **figures, "categories": categories, "misses": misses},
            csv=Table(("row", "name", "value", "detail"), rows),
            markdown=markdown,
        ))
    else:
        out.write("\n".join(p.text(line) for line in report.lines(split, show=show)) + "\n")
    out.flush()
