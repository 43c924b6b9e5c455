"""Typed result objects shared by the library, the renderers and the CLI.

These are the public shapes: a normalized :class:`Record`, the :class:`Diagnosis` of a failed
record, and :class:`Finding`, the pair of them. They are pydantic models so that they validate,
serialize to JSON and document themselves; the hot path avoids building them per record and
creates them only for rows that are shown (see :mod:`txdiag.normalize`).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict


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


class LocalizedText(BaseModel):
    """A text in English and Chinese."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    en: str
    zh: str

    def get(self, lang: Lang) -> str:
        return self.zh if lang == "zh" else self.en


class SourceRef(BaseModel):
    """Where a record came from: a file name (``<stdin>`` for a pipe, or a URL) and a line."""

    model_config = ConfigDict(frozen=True)

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


class CodeValue(BaseModel):
    """One error code found in a record, with the field it came from."""

    model_config = ConfigDict(frozen=True)

    field: str
    value: str


MatchLevel = Literal[
    "channel_code",
    "code",
    "inferred_code",
    "status",
    "message",
    "http_status",
    "latency",
    "fallback_code",
    "none",
]


class Evidence(BaseModel):
    """What decided a diagnosis: the rule, the precedence level, and the field and value matched."""

    model_config = ConfigDict(frozen=True)

    rule_id: str | None
    level: MatchLevel
    field: str | None
    value: str | None
    pattern: str | None = None
    rule_source: str | None = None
    codes: tuple[CodeValue, ...] = ()
    """Every code the record carried, most specific first (all are kept, one decides)."""


class Diagnosis(BaseModel):
    """The classification of one failure."""

    model_config = ConfigDict(frozen=True)

    category: Category
    reason: str
    title: LocalizedText
    retryable: Retryable
    hint: LocalizedText
    """What a support agent tells the customer."""
    action: LocalizedText
    """What an engineer should do."""
    evidence: Evidence


class Record(BaseModel):
    """A normalized transaction record. Unparseable optional values become ``None``, not errors."""

    model_config = ConfigDict(frozen=True)

    txn_id: str | None = None
    timestamp: AwareDatetime | None = None
    timestamp_raw: str | None = None
    status: str | None = None
    channel: str | None = None
    error_code: str | None = None
    error_codes: tuple[CodeValue, ...] = ()
    error_message: str | None = None
    http_status: int | None = None
    latency_ms: float | None = None
    amount: Decimal | None = None
    currency: str | None = None
    installments: int | None = None
    user_id: str | None = None
    source: SourceRef


class Finding(BaseModel):
    """A failed record and its diagnosis: one row of ``txdiag diagnose``."""

    model_config = ConfigDict(frozen=True)

    record: Record
    diagnosis: Diagnosis


def format_time(value: datetime | None) -> str:
    """ISO 8601 with the zone always shown (``Z`` for UTC), milliseconds only when present."""
    if value is None:
        return ""
    text = value.isoformat(timespec="milliseconds" if value.microsecond else "seconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text
