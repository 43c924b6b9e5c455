"""What a diagnosis is: the category, reason, advice and the evidence that decided.

Plain frozen dataclasses, no pydantic: the classifier builds them, and looking up a code
(``txdiag explain 51``) needs nothing that validates. Where a pydantic model holds one
(:class:`~txdiag.models.Finding`), pydantic validates it like a model (unknown fields refused).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from txdiag.vocabulary import Category, LocalizedText, MatchLevel, Retryable

_FORBID_EXTRA: dict[str, Any] = {"extra": "forbid"}


@dataclass(frozen=True, slots=True)
class CodeValue:
    """One error code found in a record, with the field it came from."""

    __pydantic_config__: ClassVar[dict[str, Any]] = _FORBID_EXTRA

    field: str
    value: str


@dataclass(frozen=True, slots=True)
class Evidence:
    """What decided a diagnosis: the rule, the precedence level, and the field and value matched."""

    __pydantic_config__: ClassVar[dict[str, Any]] = _FORBID_EXTRA

    rule_id: str | None
    level: MatchLevel
    field: str | None
    value: str | None
    pattern: str | None = None
    rule_source: str | None = None
    codes: tuple[CodeValue, ...] = ()
    """Every code the record carried, most specific first (all are kept, one decides)."""


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """The classification of one failure."""

    __pydantic_config__: ClassVar[dict[str, Any]] = _FORBID_EXTRA

    category: Category
    reason: str
    title: LocalizedText
    retryable: Retryable
    hint: LocalizedText
    """What a support agent tells the customer."""
    action: LocalizedText
    """What an engineer should do."""
    evidence: Evidence
