"""Rulebook tools behind ``txdiag rules``: export as TOML, and drafts for unknown failures."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import MISSING, fields
from typing import Any

import tomli_w

from txdiag.aggregate import NO_CHANNEL, NO_CODE
from txdiag.concepts import JOIN, MAX_CONCEPTS, ConceptMatcher
from txdiag.render.present import json_escape_unsafe
from txdiag.rulebook.loader import NO_MATCH_REASON, Rulebook
from txdiag.rulebook.resolved import ChannelDef, ConceptDef, ReasonDef, Rule
from txdiag.safety import quoted, visible

EXPORT_PACK = "export"


def rule_table(rule: Rule, rulebook: Rulebook) -> dict[str, Any]:
    """A rule as it would be written in a rule file, its channel made explicit."""
    definition = rulebook.definition(rule)
    if definition is None:
        raise ValueError(f"rule {quoted(rule.id)} has no definition to export")
    data = definition.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    data["id"] = rule.id
    data["reason"] = rule.reason
    if rule.channel:
        data["channel"] = rule.channel
    else:
        data.pop("channel", None)
    return data


def export_rulebook(rulebook: Rulebook, *, channel: str | None = None) -> dict[str, Any]:
    """The rulebook as one rule file's data; loading it alone gives back the same rules.

    With ``channel``, only that channel's rules (and those of channels it inherits), the
    channel-independent rules are left out, and just the reasons and channels they need.
    """
    lineage = set(rulebook.channel_lineage(channel)) if channel else None
    rules = [r for r in rulebook.rules if lineage is None or r.channel in lineage]
    reasons = {r.reason for r in rules} | {NO_MATCH_REASON}
    channels = [c for c in rulebook.channels.values() if lineage is None or c.id in lineage]
    status_words: dict[str, list[str]] = {"success": [], "failure": [], "pending": []}
    for word, kind in rulebook.status_words().items():
        status_words[kind].append(word)
    # Every concept with the whole rulebook (a user's concept no rule names yet included);
    # with --channel, those its rules name.
    used = ({c for rule in rules for combination in rule.concepts for c in combination}
            if lineage is not None else set(rulebook.concepts))
    data: dict[str, Any] = {
        # Top-level keys before any table: TOML would otherwise file them under it.
        "success_codes": sorted(rulebook.global_success_codes()),
        "pack": {"id": EXPORT_PACK, "title": "Exported rulebook",
                 "source": "txdiag rules export" + (f" --channel {channel}" if channel else "")},
        "status": status_words,
        "channels": [channel_table(c) for c in channels],
        "reasons": [reason_table(r) for r in rulebook.reasons.values() if r.id in reasons],
        "concepts": [concept_table(c) for c in rulebook.concepts.values() if c.id in used],
        "char_folds": dict(rulebook.char_folds),
        "rules": [rule_table(r, rulebook) for r in rules],
    }
    return {k: v for k, v in data.items() if v not in ([], {})}


def channel_table(channel: ChannelDef) -> dict[str, Any]:
    """A channel as it would be written in a rule file (fields left at their default out)."""
    return _entry_table(channel)


def concept_table(concept: ConceptDef) -> dict[str, Any]:
    """A concept as it would be written in a rule file (fields left at their default out)."""
    return _entry_table(concept)


def _entry_table(entry: ChannelDef | ConceptDef) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for f in fields(entry):
        value = getattr(entry, f.name)
        default = f.default_factory() if f.default_factory is not MISSING else f.default
        if value != default:
            data[f.name] = list(value) if isinstance(value, list) else value
    return data


def reason_table(reason: ReasonDef) -> dict[str, Any]:
    """A reason as it would be written in a rule file."""
    def text(name: str) -> dict[str, str]:
        value = getattr(reason, name)
        return {"en": value.en, "zh": value.zh}

    return {"id": reason.id, "title": text("title"), "description": text("description"),
            "retryable": reason.retryable.value, "hint": text("hint"), "action": text("action")}


def dumps_rulebook(data: dict[str, Any]) -> str:
    return tomli_w.dumps(data)


_PLACEHOLDER = re.compile(r"<(num|hex|id|str|masked)>")
_RE2_SPECIAL = re.compile(r"([\\.^$|?*+()\[\]{}])")
_WILDCARD = {"num": r"[0-9][0-9.,]*", "hex": r"[0-9a-f]+", "id": r"[A-Za-z0-9_-]+",
             "str": r"[^\n]*?", "masked": r"[^\s]+"}


def template_pattern(template: str) -> str:
    """An RE2 pattern matching the messages a mined template stands for."""
    parts: list[str] = []
    position = 0
    for match in _PLACEHOLDER.finditer(template):
        parts.append(_RE2_SPECIAL.sub(r"\\\1", template[position:match.start()]))
        parts.append(_WILDCARD[match.group(1)])
        position = match.end()
    parts.append(_RE2_SPECIAL.sub(r"\\\1", template[position:]))
    return "".join(parts).strip()


def suggest_rules(suggestions: Iterable[Suggestion], rulebook: Rulebook | None = None) -> str:
    """A TOML draft: one rule per unknown-failure group, its reason left to fill in.

    With the ``rulebook``, a message group whose text holds terms of known concepts is drafted
    as a concept rule (``concepts = ["card + irregular"]``, the literal pattern in a comment),
    and the terms most frequent in the groups that no concept knows are drafted as a new
    concept for review. The draft does not validate until every ``reason`` is filled in
    (``FILL_IN`` is not a category), so an unreviewed draft can never slip into a rulebook.
    """
    items = list(suggestions)
    matcher = ConceptMatcher(rulebook.concepts) if rulebook is not None else None
    lines = [
        "# Draft rules for failures txdiag could not classify (txdiag rules suggest).",
        "# For each rule: set `reason` to a reason from `txdiag rules list` (or define a new one",
        "# in a [[reasons]] table), check the pattern, then `txdiag rules validate THIS_FILE`.",
        "",
        tomli_w.dumps({"pack": {"id": "suggested", "title": "Suggested rules (draft)"}}).strip(),
    ]
    drafted: list[str] = []
    if matcher is not None and rulebook is not None:
        drafted = draft_terms(items, rulebook)
        lines += _draft_concept(drafted)
    for number, item in enumerate(items, start=1):
        rule: dict[str, Any] = {"id": f"suggested.{number}", "reason": "FILL_IN.reason"}
        if item.channel:
            rule["channel"] = item.channel
        comment = [f"# {item.count} failures; template: {item.template}",
                   f"# example: {item.example}"]
        text = _words_of(item.template)
        known = matcher.present(text) if matcher is not None else []
        if any(term in text.lower() for term in drafted):
            known = [*known[:MAX_CONCEPTS - 1], DRAFT_CONCEPT]
        if item.code:
            rule["codes"] = [item.code]
        elif len(known) > 1:
            # (one concept alone would say too little: "card" matches every card failure)
            rule["concepts"] = [f" {JOIN} ".join(known[:MAX_CONCEPTS])]
            literal = tomli_w.dumps({"messages": [template_pattern(item.template)]}).strip()
            comment.append("# or, literally: " + " ".join(literal.split()))
        else:
            rule["messages"] = [template_pattern(item.template)]
        rule["source"] = "txdiag rules suggest: unclassified failures seen in logs"
        # TOML lets DEL, C1 and bidi controls stand raw in strings; a terminal may act on
        # them, so they are written as \uXXXX escapes (the same escape in JSON and TOML).
        body = json_escape_unsafe(tomli_w.dumps({"rules": [rule]}).strip())
        # Log text in a comment line: control characters made visible (a raw CR, BEL or bidi
        # control would drive the terminal, and TOML refuses them in comments).
        lines += ["", *(visible(c.replace("\n", " ")) for c in comment), body]
    return "\n".join(lines) + "\n"


DRAFT_TERMS = 12
"""New terms a draft proposes at the most."""
DRAFT_CONCEPT = "draft_terms"
_LATIN_WORD = re.compile(r"[A-Za-z]{3,}")
_HAN_RUN = re.compile(r"[\u4e00-\u9fff]{2,8}")
_NOT_TERMS = frozenset({"num", "hex", "str", "masked", "the", "and", "for", "with", "from",
                        "this", "that", "your", "you", "was", "are", "has", "have", "not",
                        "please"})


def _words_of(template: str) -> str:
    """A template's text without its placeholders (``<num>``), for finding terms in it."""
    return _PLACEHOLDER.sub(" ", template)


def draft_terms(items: Sequence[Suggestion], rulebook: Rulebook, top: int = DRAFT_TERMS
                ) -> list[str]:
    """The words (Latin, lower-cased) and runs of Chinese characters most frequent across the
    message groups, weighted by their failures, that hold no term of a known concept."""
    known = {t.strip().lower() for c in rulebook.concepts.values() for t in c.terms}
    counts: Counter[str] = Counter()
    for item in items:
        if item.code:
            continue
        text = _words_of(item.template)
        seen = {w.lower() for w in _LATIN_WORD.findall(text)} | set(_HAN_RUN.findall(text))
        for term in seen - _NOT_TERMS:
            if not any(k in term for k in known):
                counts[term] += item.count
    return [term for term, _ in sorted(counts.items(), key=lambda t: (-t[1], t[0]))[:top]]


def _draft_concept(terms: Sequence[str]) -> list[str]:
    if not terms:
        return []
    body = json_escape_unsafe(tomli_w.dumps({"concepts": [
        {"id": DRAFT_CONCEPT, "title": "FILL IN: what these terms say", "terms": list(terms)}
    ]}).strip())
    return ["", "# Terms frequent in these failures that no concept knows, most frequent first.",
            "# Keep the ones that mean one thing, give the concept a real id, and name it in",
            "# rules (or add the terms to a shipped concept: `txdiag rules concepts`).", body]


class Suggestion:
    """One group of unknown failures: a (channel, code) or a message template."""

    __slots__ = ("channel", "code", "count", "example", "template")

    def __init__(self, channel: str | None, code: str | None, template: str, count: int,
                 example: str) -> None:
        self.channel = channel
        self.code = code
        self.template = template
        self.count = count
        self.example = example


def suggestions_from(groups: Sequence[tuple[str | None, str | None, str, int, str]],
                     min_count: int) -> list[Suggestion]:
    """The groups of a template miner seen at least ``min_count`` times (a summary's groups
    say "(none)" for no channel or code: no channel or code to draft a rule for)."""
    return [Suggestion(None if channel == NO_CHANNEL else channel,
                       None if code == NO_CODE else code, template, count, example)
            for channel, code, template, count, example in groups if count >= min_count]
