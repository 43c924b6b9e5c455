"""Where the config file is looked for. No pydantic: a command can tell that there is no config
file to validate without loading the models that would validate one (:mod:`txdiag.config`)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

CONFIG_ENV = "TXDIAG_CONFIG"


def user_config_dir() -> Path:
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "txdiag"


def config_path(explicit: Path | None = None) -> tuple[Path, bool]:
    """The config file to use, and whether the user named it (then it must exist)."""
    if explicit is not None:
        return explicit, True
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env), True
    return user_config_dir() / "config.toml", False


def has_config(explicit: Path | None = None) -> bool:
    """Whether there is a config file to read: one is named, or the default one exists."""
    path, named = config_path(explicit)
    return named or path.exists()
