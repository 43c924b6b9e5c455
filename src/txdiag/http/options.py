"""How to read an HTTP API: one frozen object built from the command line and the config file."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_TIMEOUT = 10.0
DEFAULT_RETRIES = 3
DEFAULT_MAX_PAGES = 1000
DEFAULT_MAX_BODY_BYTES = 64 << 20
DEFAULT_BACKOFF_BASE = 0.5
DEFAULT_BACKOFF_MAX = 30.0
DEFAULT_MAX_RETRY_AFTER = 60.0
DEFAULT_MAX_REDIRECTS = 5
DEADLINE_TIMEOUTS = 4
"""Without ``page_deadline``, one page may take this many ``timeout`` periods end to end."""


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
    backoff_base: float = DEFAULT_BACKOFF_BASE
    """First retry waits about this long (seconds); each further retry doubles it, with jitter."""
    backoff_max: float = DEFAULT_BACKOFF_MAX
    """No backoff wait is longer than this."""
    max_retry_after: float = DEFAULT_MAX_RETRY_AFTER
    """A server's ``Retry-After`` is honoured up to this many seconds (a larger one is capped)."""
    page_deadline: float | None = None
    """Overall limit for one request, from connecting to the last byte of the body, seconds.

    httpx's timeouts apply to each socket operation, so a server that trickles bytes could hold
    a page forever without it. ``None``: ``DEADLINE_TIMEOUTS`` times ``timeout``.
    """
    max_redirects: int = DEFAULT_MAX_REDIRECTS
    trust_env: bool = True
    """Use the proxy variables (HTTPS_PROXY, ALL_PROXY, NO_PROXY ...); ``--no-proxy``: not."""
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)
    """How to wait between attempts; tests pass a recorder so that retries cost no time."""
    notify: Callable[[str], None] | None = field(default=None, repr=False, compare=False)
    """Receives one-line notices (a retry, a page limit reached), secrets already removed."""

    @property
    def deadline(self) -> float:
        """The effective per-request deadline in seconds."""
        if self.page_deadline is not None:
            return self.page_deadline
        return DEADLINE_TIMEOUTS * self.timeout
