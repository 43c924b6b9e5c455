"""What txdiag keeps in the user cache directory so that a command starts fast.

Two kinds of file, both plain data rebuilt from the shipped rule files whenever those (or the
code that reads them) change, and both ignored when they cannot be read or written:

- a JSON copy of each shipped TOML rule file (:func:`parse_shipped`): ``tomllib`` is pure
  Python and was most of a start-up, ``json`` reads the same data in C;
- the merged shipped rulebook (:func:`read_snapshot`, :func:`write_snapshot`): a process that
  needs only the shipped rules reads it back without pydantic.

``$TXDIAG_CACHE_DIR`` chooses the directory (:func:`cache_dir`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from txdiag import __version__

__all__ = ["SNAPSHOT_FORMAT", "cache_dir", "parse_shipped", "read_snapshot", "shipped_texts",
           "write_snapshot", "write_whole"]


def cache_dir() -> Path:
    """Where txdiag keeps what it can rebuild: ``$TXDIAG_CACHE_DIR``, else the platform's."""
    chosen = os.environ.get("TXDIAG_CACHE_DIR")
    if chosen:
        return Path(chosen)
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local") / (
            "txdiag") / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "txdiag"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "txdiag"


def parse_shipped(text: str) -> dict[str, Any]:
    """A shipped rule file parsed, from a JSON copy kept in :func:`cache_dir` when there is one.

    tomllib is pure Python and was most of a start-up; ``json`` reads the same data in C. The
    copy is named after a hash of the text, so an edited file is parsed afresh, and it is plain
    data: validation still runs on it. A cache that cannot be read or written is ignored.
    """
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
    cached = cache_dir() / f"rules-{digest}.json"
    try:
        with cached.open(encoding="utf-8") as handle:
            data = json.load(handle)
        if isinstance(data, dict):
            return data
    except (OSError, ValueError):
        pass
    import tomllib

    raw = tomllib.loads(text)
    try:
        encoded = json.dumps(raw, ensure_ascii=False)  # TOML dates would not survive: skip
    except (TypeError, ValueError):
        return raw
    write_whole(cached, encoded)
    return raw


def write_whole(path: Path, text: str) -> None:
    """Write a cache file whole or not at all (a reader never sees half of one, and writers
    racing each other each replace it whole); a cache that cannot be written is ignored."""
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    except OSError:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)


@cache
def shipped_texts() -> tuple[tuple[str, str], ...]:
    """The shipped rule files: (name, text), in name order."""
    data = resources.files("txdiag.rulebook") / "data"
    return tuple(
        (entry.name, entry.read_text("utf-8"))
        for entry in sorted(data.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".toml")
    )


SNAPSHOT_FORMAT = 3
"""Bumped whenever :meth:`Rulebook.snapshot` writes something else."""


@cache
def snapshot_name() -> str:
    """Named after everything the snapshot is made from: the shipped files, and the code that
    checks and merges them (so a changed check or a new field is never read from an old
    snapshot)."""
    digest = hashlib.sha256(f"{SNAPSHOT_FORMAT} {__version__}".encode())
    package = Path(__file__).parent.parent
    for module in ("rulebook/loader.py", "rulebook/cache.py", "rulebook/model.py",
                   "rulebook/resolved.py", "patterns.py", "vocabulary.py", "concepts.py"):
        with contextlib.suppress(OSError):
            digest.update((package / module).read_bytes())
    for name, text in shipped_texts():
        digest.update(f"\0{name}\0{text}".encode())
    return f"rulebook-{digest.hexdigest()[:32]}.json"


@cache
def read_snapshot() -> dict[str, Any]:
    """The shipped rulebook's snapshot as read from the cache directory (empty: none)."""
    try:
        with (cache_dir() / snapshot_name()).open(encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) and data.get("format") == SNAPSHOT_FORMAT else {}


def write_snapshot(data: dict[str, Any]) -> None:
    """Keep the shipped rulebook's snapshot for the next process."""
    write_whole(cache_dir() / snapshot_name(), json.dumps(data, ensure_ascii=False))
    read_snapshot.cache_clear()
