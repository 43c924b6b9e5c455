"""Unknown-failure mining: group messages no rule explains into templates, in bounded memory.

A template is the message with its variable parts replaced by placeholders: digits (amounts,
ids, phone-like numbers) become ``<num>``, hex strings ``<hex>``, mixed ids ``<id>``, quoted
values ``<str>``, and personal data is masked first, so templates and their examples are safe
to print. ``ERR_4711 order 88213 failed`` and ``ERR_4711 order 99120 failed`` share one template.

:class:`TemplateMiner` is a fold like :class:`~txdiag.aggregate.Summary` (which keeps one for
``summary``): :meth:`TemplateMiner.add_template` takes many failures alike at once, and
:meth:`TemplateMiner.merge` adds the miner of the input that followed, keeping what one miner
over both would have kept: counts, the first example of each template and the order of ties.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

from txdiag.safety import mask_text, strip_ansi

MAX_TEMPLATES = 10_000
"""Distinct templates kept; beyond it new ones are counted in ``overflow`` only."""
MAX_TEMPLATE_CHARS = 200
"""Templates and examples are cut to this length (after masking, so no number is cut in two)."""
CACHED_MESSAGE_CHARS = 1000
"""Messages up to this length have their template remembered (see :func:`cached_template`)."""

_QUOTED = re.compile(r"""(["'“‘])(?:(?!\1).){1,200}?\1""")
# ASCII only around the stars: Chinese text has no spaces to stop a \S* run.
_MASKED = re.compile(r"[0-9A-Za-z+@._-]*\*{3,}[0-9A-Za-z@._-]*|\[REDACTED\]")
_HEX = re.compile(r"\b(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b")
# The first look-ahead only fails short words early (the match needs 6 characters anyway).
_MIXED_ID = re.compile(
    r"\b(?=[A-Za-z0-9_-]{6})(?=[A-Za-z_-]*\d)(?=\w*[A-Za-z])[A-Za-z0-9_-]{6,}\b")
# Numbers standing alone; digits inside a code (ERR_4711, E0051) are part of the code.
_NUMBER = re.compile(r"(?<![A-Za-z0-9_-])\d+(?:[.,:]\d+)*(?![A-Za-z_])")


def _id_or_code(match: re.Match[str]) -> str:
    """Long or digit-heavy tokens are ids (T20261111000123); short ones are codes (ERR_4711)."""
    token = match.group(0)
    digits = sum(map(str.isdigit, token))
    return "<id>" if len(token) >= 10 or digits >= 6 else token


def _masked_plain(message: str) -> str:
    """Masked, without escape sequences, and masked again. Masking first, because removing a
    sequence may glue a card number to a letter (``card 4111...1111\x1b[0mx``), and masking
    leaves digits glued to a letter alone (they are ids); again after, because removing one
    may also leave a number standing alone that masking did not take for one beside it
    (``\x1b 113812345678\u200ba``: zero-width characters stay). Masking is idempotent."""
    return mask_text(strip_ansi(mask_text(message)))


def template_of(message: str) -> str:
    """The message with personal data masked and variable parts replaced by placeholders."""
    text = _masked_plain(message)
    if "***" in text or "[REDACTED]" in text:  # (the scan is slow: only when it can match)
        text = _MASKED.sub("<masked>", text)
    text = _QUOTED.sub("<str>", text)
    text = _HEX.sub("<hex>", text)
    text = _MIXED_ID.sub(_id_or_code, text)
    text = _NUMBER.sub("<num>", text)
    text = " ".join(text.split())  # runs of white space as one space, none at the ends
    return text[:MAX_TEMPLATE_CHARS]


@lru_cache(maxsize=4096)
def _remembered(message: str) -> str:
    return template_of(message)


def cached_template(message: str | None) -> str:
    """:func:`template_of`, remembered for recent messages; ``""`` for no message."""
    if not message:
        return ""
    if len(message) <= CACHED_MESSAGE_CHARS:
        return _remembered(message)
    return template_of(message)


Key = tuple[str | None, str | None, str]
"""(channel, code, template)."""


@dataclass
class TemplateMiner:
    """A fold over unknown failures: counts per (channel, code, template) and one example.

    At most ``max_templates`` groups are kept; a failure whose group is new once the cap is
    reached is counted in :attr:`overflow` only, so memory stays bounded. The example of a group
    is the message of its first failure, masked (``mask_examples=False`` keeps it raw, for
    ``--no-mask``; templates are always masked: personal data is one of their placeholders).
    """

    max_templates: int = MAX_TEMPLATES
    mask_examples: bool = True
    counts: Counter[Key] = field(default_factory=Counter)
    examples: dict[Key, str] = field(default_factory=dict)
    overflow: int = 0
    """Failures whose template was new after the cap was reached."""

    def add(self, channel: str | None, code: str | None, message: str | None,
            count: int = 1) -> None:
        """``count`` failures with this message."""
        self.add_template(channel, code, cached_template(message), message, count)

    def add_template(self, channel: str | None, code: str | None, template: str,
                     message: str | None, count: int = 1) -> None:
        """``count`` failures whose message (of template ``template``) is ``message``."""
        key = (channel, code, template)
        counts = self.counts
        if key in counts:
            counts[key] += count
        elif len(counts) >= self.max_templates:
            self.overflow += count
        else:
            counts[key] = count
            self.examples[key] = self.example_of(message or "")

    def example_of(self, message: str) -> str:
        if self.mask_examples:
            return _masked_plain(message)[:MAX_TEMPLATE_CHARS]
        return message[:MAX_TEMPLATE_CHARS]

    def merge(self, other: TemplateMiner) -> None:
        """Add the miner of the input that followed this one's (``--jobs``).

        Exactly what one miner over both inputs gives (counts, first examples, order of ties)
        unless ``other`` reached its cap: it then counted in its overflow failures of groups it
        had no room for, which may be groups kept here; the sum of counts and overflow is exact.
        """
        counts, examples = self.counts, self.examples
        room = self.max_templates - len(counts)
        for key, count in other.counts.items():
            if key in counts:
                counts[key] += count
            elif room > 0:
                counts[key] = count
                examples[key] = other.examples[key]
                room -= 1
            else:
                self.overflow += count
        self.overflow += other.overflow

    @property
    def capped(self) -> bool:
        return self.overflow > 0

    def cap_note(self) -> str:
        """What reaching the cap means, for the text outputs (empty when it was not reached)."""
        if not self.capped:
            return ""
        return (f"Template cap reached ({self.max_templates:,} kept): {self.overflow:,} "
                "failures with a new template are not grouped")

    @property
    def failures(self) -> int:
        """Every failure added, grouped or not."""
        return sum(self.counts.values()) + self.overflow

    def top(self, limit: int) -> list[tuple[str | None, str | None, str, int, str]]:
        """``(channel, code, template, count, example)``, most frequent first (ties: first
        seen first)."""
        return [(ch, code, tpl, n, self.examples[(ch, code, tpl)])
                for (ch, code, tpl), n in self.counts.most_common(limit)]
