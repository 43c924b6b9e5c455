"""The rulebook: codes, message patterns and hints as validated TOML data.

Importing it loads no pydantic: :class:`RuleDef` and :class:`RuleFile` (the models a rule file
is validated with) load on first use.
"""

from typing import TYPE_CHECKING, Any

from txdiag.rulebook.loader import (
    NO_MATCH_REASON,
    LoadedFile,
    Rulebook,
    load_rulebook,
    read_rule_file,
    shipped_files,
)
from txdiag.rulebook.resolved import ChannelDef, ReasonDef, Rule

if TYPE_CHECKING:
    from txdiag.rulebook.model import RuleDef, RuleFile

__all__ = [
    "NO_MATCH_REASON",
    "ChannelDef",
    "LoadedFile",
    "ReasonDef",
    "Rule",
    "RuleDef",
    "RuleFile",
    "Rulebook",
    "load_rulebook",
    "read_rule_file",
    "shipped_files",
]


def __getattr__(name: str) -> Any:
    if name in ("RuleDef", "RuleFile"):
        from txdiag.rulebook import model

        return getattr(model, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
