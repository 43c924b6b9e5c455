"""The words results are made of: categories, retry advice, languages, texts in two languages.

Plain Python, no pydantic: looking up a code (``txdiag explain 51``) needs these and nothing
that validates. :mod:`txdiag.models` builds its pydantic models on them and re-exports them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar, Literal


class Category(StrEnum):
    """The six failure categories. ``unknown`` is honest: recognised-but-not-a-fault or no match."""

    BALANCE = "balance"
    NETWORK = "network"
    CARD_BINDING = "card_binding"
    RISK_CONTROL = "risk_control"
    SYSTEM = "system"
    UNKNOWN = "unknown"


class Retryable(StrEnum):
    """Whether a retry can help."""

    YES = "yes"
    NO = "no"
    AFTER_FIX = "after_fix"
    QUERY_FIRST = "query_first"


Lang = Literal["en", "zh"]
LANGS: tuple[Lang, ...] = ("en", "zh")

MatchLevel = Literal[
    "channel_code",
    "code",
    "status",
    "message",
    "inferred_code",
    "code_text",
    "http_status",
    "latency",
    "fallback_code",
    "fallback_message",
    "none",
]


@dataclass(frozen=True, slots=True)
class LocalizedText:
    """A text in English and Chinese.

    A plain dataclass; where a rule file or a model holds one, pydantic validates it like a
    model (unknown fields refused).
    """

    __pydantic_config__: ClassVar[dict[str, Any]] = {"extra": "forbid"}

    en: str
    zh: str

    def get(self, lang: Lang) -> str:
        return self.zh if lang == "zh" else self.en


def counted(n: int, noun: str) -> str:
    """A count and its noun in the right number: ``1 record``, ``1,175 failures``."""
    if n == 1:
        return f"1 {noun}"
    return f"{n:,} {noun}{'es' if noun.endswith(('s', 'sh', 'ch', 'x')) else 's'}"


def format_time(value: datetime | None) -> str:
    """ISO 8601 with the zone always shown (``Z`` for UTC), milliseconds only when present."""
    if value is None:
        return ""
    text = value.isoformat(timespec="milliseconds" if value.microsecond else "seconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text
