"""Unknown-failure mining: group messages no rule explains into templates, in bounded memory.

A template is the message with its variable parts replaced by placeholders: digits (amounts,
ids, phone-like numbers) become ``<num>``, hex strings ``<hex>``, mixed ids ``<id>``, quoted
values ``<str>``, and personal data is masked first, so templates and their examples are safe
to print. ``ERR_4711 order 88213 failed`` and ``ERR_4711 order 99120 failed`` share one template.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from txdiag.safety import mask_text, strip_ansi

MAX_TEMPLATES = 10_000
"""Distinct templates kept; beyond it new ones are counted in ``overflow`` only."""
MAX_TEMPLATE_CHARS = 200

_QUOTED = re.compile(r"""(["'“‘])(?:(?!\1).){1,200}?\1""")
# ASCII only around the stars: Chinese text has no spaces to stop a \S* run.
_MASKED = re.compile(r"[0-9A-Za-z+@._-]*\*{3,}[0-9A-Za-z@._-]*|\[REDACTED\]")
_HEX = re.compile(r"\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b")
_MIXED_ID = re.compile(r"\b(?=[A-Za-z_-]*\d)(?=\w*[A-Za-z])[A-Za-z0-9_-]{6,}\b")
# Numbers standing alone; digits inside a code (ERR_4711, E0051) are part of the code.
_NUMBER = re.compile(r"(?<![A-Za-z0-9_-])\d+(?:[.,:]\d+)*(?![A-Za-z_])")
_SPACES = re.compile(r"\s+")


def _id_or_code(match: re.Match[str]) -> str:
    """Long or digit-heavy tokens are ids (T20261111000123); short ones are codes (ERR_4711)."""
    token = match.group(0)
    digits = sum(ch.isdigit() for ch in token)
    return "<id>" if len(token) >= 10 or digits >= 6 else token


def template_of(message: str) -> str:
    """The message with personal data masked and variable parts replaced by placeholders."""
    text = mask_text(strip_ansi(message))
    text = _MASKED.sub("<masked>", text)
    text = _QUOTED.sub("<str>", text)
    text = _HEX.sub("<hex>", text)
    text = _MIXED_ID.sub(_id_or_code, text)
    text = _NUMBER.sub("<num>", text)
    text = _SPACES.sub(" ", text).strip()
    return text[:MAX_TEMPLATE_CHARS]


@dataclass
class TemplateMiner:
    """A fold over unknown failures: counts per (channel, code, template) and one example."""

    max_templates: int = MAX_TEMPLATES
    counts: Counter[tuple[str | None, str | None, str]] = field(default_factory=Counter)
    examples: dict[tuple[str | None, str | None, str], str] = field(default_factory=dict)
    overflow: int = 0
    """Failures whose template was new after the cap was reached."""
    _cache: dict[str, str] = field(default_factory=dict)

    def add(self, channel: str | None, code: str | None, message: str | None) -> None:
        raw = message or ""
        template = self._cache.get(raw)
        if template is None:
            template = template_of(raw) if raw else ""
            if len(self._cache) < self.max_templates:
                self._cache[raw] = template
        key = (channel, code, template)
        if key not in self.counts and len(self.counts) >= self.max_templates:
            self.overflow += 1
            return
        self.counts[key] += 1
        if key not in self.examples:
            self.examples[key] = mask_text(strip_ansi(raw))[:MAX_TEMPLATE_CHARS]

    @property
    def capped(self) -> bool:
        return self.overflow > 0

    def top(self, limit: int) -> list[tuple[str | None, str | None, str, int, str]]:
        """``(channel, code, template, count, example)``, most frequent first."""
        return [(ch, code, tpl, n, self.examples[(ch, code, tpl)])
                for (ch, code, tpl), n in self.counts.most_common(limit)]
