"""The rulebook: codes, message patterns and hints as validated TOML data."""

from txdiag.rulebook.loader import (
    NO_MATCH_REASON,
    LoadedFile,
    Rulebook,
    load_rulebook,
    read_rule_file,
    shipped_files,
)
from txdiag.rulebook.model import ReasonDef, Rule, RuleDef, RuleFile

__all__ = [
    "NO_MATCH_REASON",
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
