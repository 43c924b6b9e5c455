"""What the classifier works with: reasons, channels and resolved rules, as plain dataclasses.

No pydantic here, so that a rulebook read back from its snapshot (:mod:`txdiag.rulebook.loader`)
loads no validation machinery. Reasons and channels are also entries of a rule file: there
pydantic validates them (:class:`~txdiag.rulebook.model.RuleFile`) with the checks declared on
their fields, whose pydantic schema is built only then.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from txdiag.safety import quoted
from txdiag.vocabulary import Category, LocalizedText, Retryable

if TYPE_CHECKING:
    from txdiag.rulebook.model import RuleDef

SelectorKind = Literal[
    "codes", "messages", "concepts", "http_status", "min_latency_ms", "statuses"
]
REASON_ID_PATTERN = r"^[a-z_]+\.[a-z0-9_]+$"
CHANNEL_ID_PATTERN = r"^[a-z0-9_\-]+$"
CONCEPT_ID_PATTERN = r"^[a-z][a-z0-9_]*$"


class Checked:
    """Field metadata: a string checked against ``pattern``, then by ``after`` (which raises
    ``ValueError``), when pydantic validates a rule file; errors read as for a pydantic model's
    ``Field(pattern=...)`` and ``field_validator``."""

    def __init__(self, pattern: str, after: Callable[[str], str] | None = None) -> None:
        self.pattern = pattern
        self.after = after

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        schema = core_schema.str_schema(pattern=self.pattern)
        if self.after is None:
            return schema
        return core_schema.no_info_after_validator_function(self.after, schema)


def _known_category(value: str) -> str:
    prefix = value.split(".", 1)[0]
    if prefix not in {c.value for c in Category}:
        raise ValueError(
            f"category {prefix!r} is not one of {', '.join(c.value for c in Category)}"
        )
    return value


@dataclass(frozen=True)
class ChannelDef:
    """A payment channel: its id, the names logs use for it, and its success codes."""

    __pydantic_config__: ClassVar[dict[str, Any]] = {"extra": "forbid"}

    id: Annotated[str, Checked(CHANNEL_ID_PATTERN)]
    title: str = ""
    aliases: list[str] = field(default_factory=list)
    success_codes: list[str] = field(default_factory=list)
    inherits: list[str] = field(default_factory=list)
    shared_numbering: bool | None = None
    """Other channels' logs carry this channel's numbers without naming it (ISO 8583's response
    codes: ``51`` logged bare is insufficient funds): a number only this channel knows is read
    as its own for a record without a channel. None: not said (a user file redeclaring a
    channel keeps the value it replaces; else no)."""
    message_first: bool | None = None
    """The channel's name is logged with more than one code table (UnionPay's online respCode
    and its POS field 39 both say "银联"): a message that matches is read before its codes
    (and those of the channels it inherits). None: not said, as for ``shared_numbering``."""


@dataclass(frozen=True)
class ConceptDef:
    """A group of terms that say one thing (``reserved_phone``: 预留手机号, reserved phone
    number, ...). A message rule names concepts that must all occur in one clause of a message,
    in any order (:mod:`txdiag.concepts`)."""

    __pydantic_config__: ClassVar[dict[str, Any]] = {"extra": "forbid"}

    id: Annotated[str, Checked(CONCEPT_ID_PATTERN)]
    terms: list[str]
    """Literal words and phrases, compared case-insensitively after the text is normalized;
    in an English term a space stands for any run of spaces, ``_`` or ``-``."""
    title: str = ""
    negatable: bool = False
    """A predicate that a negation word before it turns around (``not expired``, 未过期): such
    an occurrence does not count."""
    exclude: list[str] = field(default_factory=list)
    """Longer words a term is part of without meaning the concept (银行 in 银行卡, 不通 in
    不通过): an occurrence inside one of them does not count."""


@dataclass(frozen=True)
class ReasonDef:
    """A reason for a failure (``category.name``), with what to tell and what to do."""

    __pydantic_config__: ClassVar[dict[str, Any]] = {"extra": "forbid"}

    id: Annotated[str, Checked(REASON_ID_PATTERN, _known_category)]
    title: LocalizedText
    description: LocalizedText
    retryable: Retryable
    hint: LocalizedText
    action: LocalizedText

    @property
    def category(self) -> Category:
        return Category(self.id.split(".", 1)[0])


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
    concepts: tuple[tuple[str, ...], ...] = ()
    """Combinations of concept ids (any one combination matches: all its concepts in one
    clause)."""
    http_status: tuple[tuple[int, int], ...] = ()
    min_latency_ms: float | None = None
    statuses: tuple[str, ...] = ()
    definition: RuleDef | None = field(default=None, compare=False, repr=False)
    """The rule as its file wrote it (``None`` in a rulebook read back from its snapshot:
    :meth:`~txdiag.rulebook.loader.Rulebook.definition` finds it)."""
