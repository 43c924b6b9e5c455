"""How to read an HTTP API: one frozen object built from the command line and the config file."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_TIMEOUT = 10.0
DEFAULT_RETRIES = 3
DEFAULT_MAX_PAGES = 1000
DEFAULT_MAX_BODY_BYTES = 64 << 20


@dataclass(frozen=True)
class HttpOptions:
    headers: tuple[tuple[str, str], ...] = ()
    """Extra request headers (``--header 'K: V'``, and the API profile's ``headers``)."""
    token: str | None = field(default=None, repr=False)
    """Bearer token, read from the environment variable named by --token-env; never logged."""
    records_path: str | None = None
    next_path: str | None = None
    cursor_param: str = "cursor"
    max_pages: int = DEFAULT_MAX_PAGES
    timeout: float = DEFAULT_TIMEOUT
    retries: int = DEFAULT_RETRIES
    ca_bundle: Path | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
