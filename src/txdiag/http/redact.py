"""Keep credentials out of everything txdiag prints about an HTTP request (no httpx needed)."""

from __future__ import annotations

from txdiag.http.options import HttpOptions
from txdiag.safety import REDACTED, is_secret_name, redact_url

MIN_SECRET_CHARS = 4
"""Shorter configured values are not scrubbed: they would blank out innocent text."""


class Secrets:
    """Removes the configured secret values themselves from any text.

    Belt and braces over :func:`~txdiag.safety.redact_url`: the token is replaced wherever it
    turns up, even in a place no pattern predicts (a server echoing it in a redirect URL, say),
    and even under ``--no-mask``, which shows personal data but never credentials.
    """

    def __init__(self, options: HttpOptions) -> None:
        values: set[str] = set()
        if options.token:
            values.add(options.token)
        for name, value in options.headers:
            if is_secret_name(name):
                values.add(value)
                values.add(value.partition(" ")[2])  # "Bearer abc": the credential alone
        self.values = sorted((v for v in values if len(v) >= MIN_SECRET_CHARS), key=len,
                             reverse=True)

    def __call__(self, text: str) -> str:
        for value in self.values:
            text = text.replace(value, REDACTED)
        return text

    def url(self, url: str) -> str:
        """A URL as it may appear in any output: no userinfo, no secret values, PII masked."""
        return self(redact_url(url))
