"""pydantic models of a rule file, and of the merged, resolved rulebook."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from txdiag.models import Category, LocalizedText, Retryable
from txdiag.patterns import compile_pattern
from txdiag.safety import quoted

ID_PATTERN = r"^[A-Za-z0-9_.:\-]+$"
SELECTORS = ("codes", "messages", "http_status", "min_latency_ms", "statuses")
SelectorKind = Literal["codes", "messages", "http_status", "min_latency_ms", "statuses"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PackInfo(_Strict):
    id: str = Field(pattern=r"^[a-z0-9_\-]+$")
    title: str = ""
    source: str = ""
    channel: str | None = None
    order: int = 100
    """Packs with a lower order come first among message rules of the same scope."""


class ChannelDef(_Strict):
    id: str = Field(pattern=r"^[a-z0-9_\-]+$")
    title: str = ""
    aliases: list[str] = []
    success_codes: list[str] = []
    inherits: list[str] = []


class ReasonDef(_Strict):
    id: str = Field(pattern=r"^[a-z_]+\.[a-z0-9_]+$")
    title: LocalizedText
    description: LocalizedText
    retryable: Retryable
    hint: LocalizedText
    action: LocalizedText

    @property
    def category(self) -> Category:
        return Category(self.id.split(".", 1)[0])

    @field_validator("id")
    @classmethod
    def _known_category(cls, value: str) -> str:
        prefix = value.split(".", 1)[0]
        if prefix not in {c.value for c in Category}:
            raise ValueError(
                f"category {prefix!r} is not one of {', '.join(c.value for c in Category)}"
            )
        return value


def parse_status_range(text: str) -> tuple[int, int]:
    """``"503"`` -> (503, 503); ``"500-599"`` -> (500, 599)."""
    low, _, high = text.partition("-")
    try:
        start, end = int(low), int(high or low)
    except ValueError:
        raise ValueError(
            f"HTTP status {quoted(text)} is not a number or a range like 500-599"
        ) from None
    if not 100 <= start <= end <= 599:
        raise ValueError(f"HTTP status range {quoted(text)} is outside 100-599")
    return start, end


class RuleDef(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    reason: str
    source: str = ""
    codes: list[str] | None = None
    messages: list[str] | None = None
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
        if self.fallback and present[0] != "codes":
            raise ValueError("fallback applies only to codes rules")
        return self

    @field_validator("messages")
    @classmethod
    def _compile(cls, patterns: list[str] | None) -> list[str] | None:
        for pattern in patterns or ():
            check_pattern(pattern)
        return patterns

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
    rules: list[RuleDef] = []
    status: StatusVocabulary | None = None
    success_codes: list[str] = []


@dataclass(frozen=True, slots=True)
class Rule:
    """A rule resolved against its reason and pack: everything a diagnosis needs, in one place."""

    id: str
    reason: str
    category: Category
    title: LocalizedText
    retryable: Retryable
    hint: LocalizedText
    action: LocalizedText
    selector: SelectorKind
    channel: str | None
    fallback: bool
    source: str
    pack: str
    origin: str
    """The file the rule came from."""
    user: bool
    """True for rules from user files (they take precedence over shipped ones)."""
    codes: tuple[str, ...] = ()
    messages: tuple[str, ...] = ()
    http_status: tuple[tuple[int, int], ...] = ()
    min_latency_ms: float | None = None
    statuses: tuple[str, ...] = ()
    definition: RuleDef | None = field(default=None, compare=False, repr=False)
