"""pydantic models of a rule file (reasons and channels: :mod:`txdiag.rulebook.resolved`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from txdiag.concepts import parse_combination
from txdiag.patterns import compile_pattern
from txdiag.rulebook.resolved import (
    ChannelDef,
    ConceptDef,
    ReasonDef,
    Rule,
    SelectorKind,
    parse_status_range,
)
from txdiag.vocabulary import LocalizedText, Retryable

__all__ = [
    "ID_PATTERN",
    "SELECTORS",
    "ChannelDef",
    "ConceptDef",
    "PackInfo",
    "ReasonDef",
    "Rule",
    "RuleDef",
    "RuleFile",
    "SelectorKind",
    "StatusVocabulary",
    "check_pattern",
    "parse_status_range",
]

ID_PATTERN = r"^[A-Za-z0-9_.:\-]+$"
SELECTORS = ("codes", "messages", "concepts", "http_status", "min_latency_ms", "statuses")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PackInfo(_Strict):
    id: str = Field(pattern=r"^[a-z0-9_\-]+$")
    title: str = ""
    source: str = ""
    channel: str | None = None
    order: int = 100
    """Packs with a lower order come first among message rules of the same scope."""


class RuleDef(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    reason: str
    source: str = ""
    codes: list[str] | None = None
    messages: list[str] | None = None
    concepts: list[str] | None = None
    """Combinations of concept ids written ``"reserved_phone + mismatch"``."""
    http_status: list[str | int] | None = None
    min_latency_ms: float | None = Field(default=None, gt=0)
    statuses: list[str] | None = None
    channel: str | None = None
    fallback: bool = False
    retryable: Retryable | None = None
    hint: LocalizedText | None = None
    action: LocalizedText | None = None

    @model_validator(mode="after")
    def _one_selector(self) -> RuleDef:
        present = [name for name in SELECTORS if getattr(self, name) is not None]
        if len(present) != 1:
            raise ValueError(
                f"a rule needs exactly one of {', '.join(SELECTORS)}; it has "
                + (", ".join(present) if present else "none")
            )
        values = getattr(self, present[0])
        if isinstance(values, list) and not values:
            raise ValueError(f"{present[0]} is empty")
        if self.fallback and present[0] not in ("codes", "messages", "concepts"):
            raise ValueError("fallback applies only to codes, messages and concepts rules")
        return self

    @field_validator("messages")
    @classmethod
    def _compile(cls, patterns: list[str] | None) -> list[str] | None:
        for pattern in patterns or ():
            check_pattern(pattern)
        return patterns

    @field_validator("concepts")
    @classmethod
    def _combinations(cls, combinations: list[str] | None) -> list[str] | None:
        for combination in combinations or ():
            parse_combination(combination)
        return combinations

    @field_validator("http_status")
    @classmethod
    def _ranges(cls, values: list[str | int] | None) -> list[str | int] | None:
        for value in values or ():
            parse_status_range(str(value))
        return values

    @property
    def selector(self) -> SelectorKind:
        for name in SELECTORS:
            if getattr(self, name) is not None:
                return name  # type: ignore[return-value]
        raise AssertionError("validated rules have a selector")


def check_pattern(pattern: str) -> None:
    """A message pattern must be valid for RE2, the linear-time engine that runs it."""
    compile_pattern(pattern)


class StatusVocabulary(_Strict):
    success: list[str] = []
    failure: list[str] = []
    pending: list[str] = []


class RuleFile(_Strict):
    """One TOML file of the rulebook."""

    pack: PackInfo
    channels: list[ChannelDef] = []
    reasons: list[ReasonDef] = []
    concepts: list[ConceptDef] = []
    rules: list[RuleDef] = []
    char_folds: dict[str, str] = {}
    """Characters read as another before matching (a traditional character as its simplified
    form: 餘 -> 余), one character each way."""
    status: StatusVocabulary | None = None
    success_codes: list[str] = []
