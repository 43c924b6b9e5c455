"""What the config file gives every command: the language and the rule files.

Light on purpose (no pydantic until a config file is read): ``explain`` starts with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from txdiag.locations import has_config
from txdiag.rulebook import Rulebook, load_rulebook
from txdiag.vocabulary import Lang

if TYPE_CHECKING:
    from txdiag.cli.terminal import Terminal
    from txdiag.config import Config


def read_config(explicit: Path | None) -> tuple[Config | None, Path | None]:
    """The config file's settings and path; (None, None) when there is no config file."""
    if not has_config(explicit):
        return None, None
    from txdiag.config import load_config

    return load_config(explicit)


def resolve_lang(lang: str | None, config: Config | None) -> Lang:
    """--lang (or TXDIAG_LANG), else the config file's default, else English."""
    chosen = lang or (config.defaults.lang if config is not None else None) or "en"
    return "zh" if chosen == "zh" else "en"


def known_channel(rulebook: Rulebook, name: str, terminal: Terminal) -> str:
    """The channel id for ``--channel NAME``; a name no rule file defines is kept (logs may
    name channels the rulebook does not know), with a warning on stderr naming close ones."""
    canonical = rulebook.canonical_channel(name)
    if canonical not in rulebook.channels:
        import difflib

        close = difflib.get_close_matches(canonical, sorted(rulebook.channels), n=3, cutoff=0.5)
        terminal.say(terminal.safe(
            f"unknown channel {name!r}: only the rules for every channel apply; "
            + (f"did you mean {' or '.join(close)}?" if close else
               f"known channels: {', '.join(sorted(rulebook.channels))}")))
    return canonical


def load_rules(config: Config | None, config_file: Path | None,
               extra: Sequence[Path]) -> Rulebook:
    """The shipped rulebook, the config file's rules_files, then --rules files."""
    base = config_file.parent if config_file is not None else Path.cwd()
    configured = [(base / Path(p).expanduser()) for p in (config.rules_files if config else ())]
    return load_rulebook([*configured, *extra])
