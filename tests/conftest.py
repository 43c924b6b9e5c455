"""Shared fixtures. Tests run offline and never touch the user's config."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from txdiag.rulebook import Rulebook, load_rulebook

# CI runs the same examples every time (a red CI must be reproducible, and a green one must not
# hinge on luck); developers get fresh random examples on every run.
settings.register_profile("ci", derandomize=True, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

_CACHE_DIR = tempfile.mkdtemp(prefix="txdiag-test-cache-")
DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="session")
def rulebook() -> Rulebook:
    return load_rulebook()


@pytest.fixture(scope="session")
def mini_rulebook() -> Rulebook:
    """A small self-contained rulebook for precedence tests, independent of shipped data."""
    return load_rulebook([DATA / "rules" / "precedence.toml"], shipped=False)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in ("TXDIAG_LANG", "TXDIAG_CONFIG", "TXDIAG_ENCODING", "TXDIAG_ASSUME_TZ",
                 "NO_COLOR", "COLUMNS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    # The parsed-rulebook cache goes to one temporary folder, never the user's cache.
    monkeypatch.setenv("TXDIAG_CACHE_DIR", _CACHE_DIR)
    yield
