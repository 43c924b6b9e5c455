"""Read records from a payment API over HTTP: pages, retries, limits, and no leaked secrets.

Only this module imports httpx, and :mod:`txdiag.pipeline` imports it only when an input is a
URL, so ``txdiag --version`` and reading files never pay for httpx.

The policy lives here, in one place:

- every request has connect and read timeouts (``timeout``) and an overall deadline
  (``HttpOptions.deadline``) from connecting to the last byte of the body;
- connection errors, timeouts, 429 and 502/503/504 are retried ``retries`` times with exponential
  backoff and jitter, or after the server's ``Retry-After`` (capped); nothing else is retried,
  because a 401 or a 404 does not get better by asking again;
- TLS is always verified: ``ca_bundle`` adds trust, nothing removes it;
- credentials (the bearer token and every configured header) go only to the origin of the URL
  the user named, never to another host reached by a redirect or a next-page link;
- a body is read up to ``max_body_bytes`` after decompression, then refused;
- every error is one line naming the URL with its secrets removed and the status.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import logging
import math
import random
import re
import ssl
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, NoReturn

import httpx

from txdiag import __version__
from txdiag.errors import ApiError, UsageError
from txdiag.formats import find_records
from txdiag.http.deadline import bound_by, install_deadline
from txdiag.http.options import HttpOptions
from txdiag.http.redact import Secrets
from txdiag.readers import RawItem, ReadStats, Unreadable, UnreadableCause
from txdiag.safety import mask_text, redact_url

__all__ = [
    "RETRY_STATUSES",
    "ApiClient",
    "HttpStatusError",
    "Page",
    "backoff_delay",
    "dig",
    "get_json",
    "parse_retry_after",
    "read_url",
]

RETRY_STATUSES: Final = frozenset({429, 502, 503, 504})
"""Statuses that say "not now" rather than "no": worth another attempt."""
ERROR_BODY_BYTES: Final = 64 << 10
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
_LOOPBACK: Final = frozenset({"127.0.0.1", "::1", "localhost"})
_URL_IN_TEXT = re.compile(r"https?://[^\s\"'<>]+")

log = logging.getLogger("txdiag.http")


class HttpStatusError(ApiError):
    """The API answered with a status that retrying cannot change (401, 404, 500, ...)."""

    def __init__(self, message: str, *, status: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class _Transient(Exception):
    """A failure another attempt may not meet: a lost connection or a timeout (internal)."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


# -- secrets never reach a log ----------------------------------------------------------------

class _RedactLogs(logging.Filter):
    """Masks what httpx and httpcore log: their messages carry full URLs, query secrets too.

    A library user who turns on debug logging must not find a token in the log file; nothing
    else stops httpx from writing ``?access_token=...`` at INFO level.
    """

    live: weakref.WeakSet[Secrets] = weakref.WeakSet()
    """The secrets of every client alive: their values are removed wherever they appear."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        message = mask_text(_URL_IN_TEXT.sub(lambda m: redact_url(m.group()), message))
        for secrets in list(self.live):
            message = secrets(message)
        record.msg = message
        record.args = None
        return True


def _install_log_filters() -> None:
    # A filter on a logger sees only records logged to that very logger, so each is named.
    for name in ("httpx", "httpcore.connection", "httpcore.http11", "httpcore.http2",
                 "httpcore.proxy", "httpcore.socks"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _RedactLogs) for f in logger.filters):
            logger.addFilter(_RedactLogs())


_install_log_filters()


# -- small pure helpers ----------------------------------------------------------------------

def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date), or None."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def backoff_delay(attempt: int, base: float, cap: float) -> float:
    """The wait before retry ``attempt`` (1-based): doubling, capped, with "equal jitter".

    Half of the wait is fixed and half random, so many clients failing together do not come
    back together, yet no retry comes back immediately.
    """
    ceiling = min(cap, base * 2.0 ** (attempt - 1))
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def dig(document: Any, path: str) -> Any:
    """The value at a dotted path in nested objects (``links.next``), or None."""
    value = document
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port or _DEFAULT_PORTS.get(url.scheme)


def _status_text(status: int, reason: str) -> str:
    return f"{status} {reason}".strip()


def _ssl_verification_failed(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(
            seen
        ):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _tls(ca_bundle: Path | None) -> ssl.SSLContext | bool:
    """Verification on, always: the system/certifi roots, or those plus ``--ca-bundle``."""
    if ca_bundle is None:
        return True
    try:
        return ssl.create_default_context(cafile=str(ca_bundle))
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise UsageError(f"--ca-bundle {ca_bundle}: cannot load CA certificates: {reason}",
                         hint="give a PEM file of CA certificates") from None


def _make_client(options: HttpOptions) -> httpx.Client:
    """The httpx client (a function of its own so that tests can hand in a mock transport)."""
    try:
        client = httpx.Client(
            verify=_tls(options.ca_bundle),
            timeout=httpx.Timeout(options.timeout),
            trust_env=options.trust_env,
            # Redirects are followed by hand: httpx keeps custom headers (API keys) across hosts.
            follow_redirects=False,
            headers={"Accept": "application/json", "User-Agent": f"txdiag/{__version__}"},
        )
    except ImportError:
        # httpx reads ALL_PROXY/HTTPS_PROXY; a socks5:// one needs a package not installed.
        raise UsageError("a SOCKS proxy is set in the environment (ALL_PROXY or HTTPS_PROXY), "
                         "and SOCKS support is not installed",
                         hint="pip install 'httpx[socks]', unset the proxy variable, or pass "
                         "--no-proxy") from None
    except ValueError as exc:
        raise UsageError(f"the proxy set in the environment cannot be used: {exc}",
                         hint="check ALL_PROXY, HTTPS_PROXY and HTTP_PROXY, or pass --no-proxy"
                         ) from None
    install_deadline(client)  # the page deadline covers the headers too, not only the body
    return client


# -- one request, with the whole policy ------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    reason: str
    headers: httpx.Headers
    url: httpx.URL
    body: bytes
    next_link: str | None


@dataclass(frozen=True, slots=True)
class Page:
    """One decoded JSON response."""

    url: httpx.URL
    """Where it finally came from (after redirects)."""
    status: int
    reason: str
    next_link: str | None
    """The ``Link: <...>; rel="next"`` target as sent (maybe relative)."""
    document: Any


class ApiClient:
    """GETs JSON documents under txdiag's HTTP policy; one per walk, closed afterwards."""

    def __init__(self, options: HttpOptions, origin: httpx.URL) -> None:
        self.options = options
        self.origin = _origin(origin)
        self.scrub = Secrets(options)
        _RedactLogs.live.add(self.scrub)
        self._client = _make_client(options)

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()
        _RedactLogs.live.discard(self.scrub)

    def show(self, url: httpx.URL | str) -> str:
        """A URL as it may appear in any output: no userinfo, no secret values, PII masked."""
        return self.scrub.url(str(url))

    def notice(self, message: str) -> None:
        message = self.scrub(message)
        log.info("%s", message)
        if self.options.notify is not None:
            self.options.notify(message)

    def credentials_allowed(self, url: httpx.URL) -> bool:
        """Credentials go to the named origin, or to the same host upgraded to https."""
        target = _origin(url)
        if target == self.origin:
            return True
        scheme, host, _ = self.origin
        return scheme == "http" and target == ("https", host, 443)

    def _headers_for(self, url: httpx.URL) -> dict[str, str]:
        if not self.credentials_allowed(url):
            return {}
        headers = dict(self.options.headers)
        if self.options.token:
            headers["Authorization"] = f"Bearer {self.options.token}"
        return headers

    def get_json(self, url: httpx.URL) -> Page:
        """The JSON document at ``url``, retrying what may pass; :class:`ApiError` otherwise."""
        opts = self.options
        attempts = opts.retries + 1
        attempt = 0
        while True:
            attempt += 1
            try:
                answer = self._attempt(url)
            except _Transient as exc:
                problem = exc.problem
                wait = backoff_delay(attempt, opts.backoff_base, opts.backoff_max)
            else:
                if answer.status not in RETRY_STATUSES:
                    return self._page(url, answer)
                problem = _status_text(answer.status, answer.reason)
                after = parse_retry_after(answer.headers.get("retry-after"))
                wait = (min(after, opts.max_retry_after) if after is not None
                        else backoff_delay(attempt, opts.backoff_base, opts.backoff_max))
            if attempt >= attempts:
                counted = f"{attempts} attempts" if attempts > 1 else "1 attempt"
                raise ApiError(self.scrub(f"GET {self.show(url)} -> {problem} after {counted}"),
                               hint=self._hint_for(problem))
            self.notice(f"GET {self.show(url)} -> {problem}; retry {attempt} of {opts.retries} "
                        f"in {wait:.1f} s")
            opts.sleep(wait)

    def _hint_for(self, problem: str) -> str:
        if problem.startswith("429"):
            return "the API is rate limiting: try again later, or read fewer pages (--max-pages)"
        if "timed out" in problem or "deadline" in problem:
            return "the API is slow: try again later, or raise --timeout"
        if problem[:1].isdigit():
            return "the API is failing: try again later, or raise --retries"
        if "proxy" in problem:
            return "the proxy is the problem, not the API: check it, or pass --no-proxy"
        return "check the URL and the network (proxy, firewall, DNS), then try again"

    def _attempt(self, url: httpx.URL) -> _Answer:
        """One attempt: follow redirects, read the body, translate httpx's exceptions."""
        shown = self.show(url)
        end = time.monotonic() + self.options.deadline
        try:
            with bound_by(end):
                return self._follow(url, end)
        except httpx.TimeoutException as exc:
            if time.monotonic() >= end - 0.01:
                raise _Transient(f"no complete answer within the deadline "
                                 f"({self.options.deadline:g} s)") from None
            kind = {httpx.ConnectTimeout: "connect", httpx.ReadTimeout: "read",
                    httpx.WriteTimeout: "write", httpx.PoolTimeout: "pool"}.get(type(exc), "")
            raise _Transient(f"timed out ({kind}, --timeout {self.options.timeout:g} s)"
                             if kind else "timed out") from None
        except httpx.ConnectError as exc:
            if _ssl_verification_failed(exc):
                raise ApiError(
                    f"GET {shown} -> TLS certificate verification failed",
                    hint="if the API uses a private CA, pass its certificates with --ca-bundle "
                    "PATH (verification cannot be turned off)",
                ) from None
            proxy = self._proxy_for(url)
            if proxy is not None:
                raise _Transient(f"cannot connect to the proxy {proxy}: {self._reason(exc)}"
                                 ) from None
            raise _Transient(f"cannot connect: {self._reason(exc)}") from None
        except httpx.ProxyError as exc:
            raise _Transient(f"the proxy {self._proxy_for(url) or ''} refused the request: "
                             f"{self._reason(exc)}") from None
        except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise _Transient(f"connection lost: {self._reason(exc)}") from None
        except httpx.DecodingError:
            raise ApiError(f"GET {shown}: the response body cannot be decoded "
                           "(broken content encoding)") from None
        except (httpx.UnsupportedProtocol, httpx.InvalidURL, httpx.LocalProtocolError) as exc:
            raise ApiError(f"GET {shown}: {self._reason(exc)}",
                           hint="only http:// and https:// URLs are read") from None

    def _proxy_for(self, url: httpx.URL) -> str | None:
        """The proxy (from the environment) a request to ``url`` goes through, shown safely;
        None when it goes direct (or under --no-proxy)."""
        if not self.options.trust_env:
            return None
        import urllib.request

        proxies = urllib.request.getproxies()
        proxy = proxies.get(url.scheme) or proxies.get("all")
        if not proxy or urllib.request.proxy_bypass(url.host or ""):
            return None
        variable = f"{url.scheme.upper()}_PROXY" if proxies.get(url.scheme) else "ALL_PROXY"
        return f"{redact_url(proxy)} ({variable})"

    def _reason(self, exc: BaseException) -> str:
        text = str(exc) or type(exc).__name__
        return self.scrub(mask_text(_URL_IN_TEXT.sub(lambda m: redact_url(m.group()), text)))

    def _follow(self, url: httpx.URL, deadline: float) -> _Answer:
        opts = self.options
        current = url
        for _ in range(opts.max_redirects + 1):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _Transient(f"no complete answer within the deadline ({opts.deadline:g} s)")
            request = self._client.build_request(
                "GET", current, headers=self._headers_for(current),
                timeout=httpx.Timeout(min(opts.timeout, remaining)),
            )
            response = self._client.send(request, stream=True)
            try:
                location = response.headers.get("location")
                if response.is_redirect and location:
                    previous, current = current, current.join(location)
                    if current.scheme not in _DEFAULT_PORTS:
                        raise ApiError(f"GET {self.show(url)}: redirected to a "
                                       f"{current.scheme or 'relative'} URL, not http(s)")
                    if previous.scheme == "https" and current.scheme == "http":
                        raise ApiError(
                            f"GET {self.show(url)}: redirected from https to "
                            f"{self.show(current)}: refused (plain http could be read or "
                            "changed on the way)",
                            hint="ask for the https URL the API really serves")
                    if _origin(current) != _origin(previous):
                        # A cookie the server set is its own: never sent to another origin
                        # (the cookie jar would send it to the same host on any port).
                        self._client.cookies.clear()
                    continue
                body = (self._body(response, url, deadline) if response.is_success
                        else b"")
                return _Answer(response.status_code, response.reason_phrase,
                               response.headers, current, body,
                               response.links.get("next", {}).get("url"))
            finally:
                response.close()
        raise ApiError(f"GET {self.show(url)}: more than {opts.max_redirects} redirects")

    def _body(self, response: httpx.Response, url: httpx.URL, deadline: float) -> bytes:
        """The decoded body, refused past ``max_body_bytes`` and past the deadline."""
        limit = self.options.max_body_bytes
        encoding = response.headers.get("content-encoding", "").lower()
        codings = [c.strip() for c in encoding.split(",") if c.strip() not in ("", "identity")]
        if len(codings) > 1:
            # Each layer multiplies: gzip over gzip of zeros grows a million-fold, and httpx
            # decodes a whole chunk before the cap below can count it.
            status = _status_text(response.status_code, response.reason_phrase)
            raise ApiError(f"GET {self.show(url)} -> {status}: the body is encoded "
                           f"{len(codings)} times ({', '.join(codings)}): refused",
                           hint="an API sends its body encoded once (gzip) or not at all")
        length = response.headers.get("content-length", "")
        if not response.headers.get("content-encoding") and length.isdigit() and int(
            length
        ) > limit:
            self._too_large(url, response)
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limit:
                self._too_large(url, response)
            chunks.append(chunk)
            if time.monotonic() > deadline:
                raise _Transient(f"no complete answer within the deadline "
                                 f"({self.options.deadline:g} s)")
        return b"".join(chunks)

    def _too_large(self, url: httpx.URL, response: httpx.Response) -> NoReturn:
        status = _status_text(response.status_code, response.reason_phrase)
        raise ApiError(
            f"GET {self.show(url)} -> {status}: the body is larger than "
            f"{self.options.max_body_bytes:,} bytes",
            hint="ask the API for smaller pages (a page-size or limit query parameter)",
        )

    def _page(self, url: httpx.URL, answer: _Answer) -> Page:
        shown = self.show(url)
        status = _status_text(answer.status, answer.reason)
        if not 200 <= answer.status < 300:
            raise HttpStatusError(f"GET {shown} -> {status}", status=answer.status,
                                  hint=self._status_hint(answer.status, answer.url))
        body = answer.body.removeprefix(b"\xef\xbb\xbf").lstrip()
        content_type = answer.headers.get("content-type", "").lower()
        if "html" in content_type or body[:1] == b"<":
            raise ApiError(f"GET {shown} -> {status}: an HTML page, not JSON",
                           hint="is this the API's URL? a login, proxy or error page answered")
        if not body:
            raise ApiError(f"GET {shown} -> {status}: an empty body, not JSON")
        try:
            document = json.loads(body)
        except json.JSONDecodeError as exc:
            raise ApiError(f"GET {shown} -> {status}: not valid JSON ({exc.msg} at line "
                           f"{exc.lineno} column {exc.colno})") from None
        except (ValueError, RecursionError):
            raise ApiError(f"GET {shown} -> {status}: not valid JSON") from None
        return Page(answer.url, answer.status, answer.reason, answer.next_link, document)

    def _status_hint(self, status: int, final: httpx.URL) -> str | None:
        if status in (401, 403):
            if not self.credentials_allowed(final):
                return ("the request was redirected to another host, and credentials are only "
                        "sent to the host you named")
            if self.options.token is None:
                return ("no token was sent: pass --token-env VAR naming an environment variable "
                        "that holds it (or token_env in the API profile)")
            return "the API refused the credentials: check the token and --header values"
        if status == 404:
            return "check the URL (or base_url / lookup_url of the API profile)"
        if status >= 500:
            return "the API is failing: try again later"
        return None


# -- the two entry points ---------------------------------------------------------------------

def _parse_url(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        raise UsageError(f"not a valid URL: {redact_url(url)}") from None
    if parsed.scheme not in _DEFAULT_PORTS or not parsed.host:
        raise UsageError(f"not an http(s) URL with a host: {redact_url(url)}")
    return parsed


def get_json(url: str, options: HttpOptions) -> Page:
    """One JSON document (``txdiag lookup``), under the same policy as a paged walk."""
    parsed = _parse_url(url)
    with ApiClient(options, parsed) as client:
        return client.get_json(parsed)


def read_url(url: str, options: HttpOptions) -> tuple[ReadStats, Iterator[RawItem]]:
    """The records of a paged JSON API, as a reader's ``(stats, items)``.

    Items are ``(ordinal, record)`` with the 1-based record number across the whole walk, or
    :class:`~txdiag.readers.Unreadable` for an element that is not an object. Nothing is
    requested until the items are iterated, and one page at a time is held in memory. An
    :class:`~txdiag.errors.ApiError` may be raised mid-iteration: the records yielded before it
    stand.
    """
    parsed = _parse_url(url)
    scrub = Secrets(options)
    stats = ReadStats(name=scrub.url(url), format="json", compression=None,
                      encoding="utf-8")
    if parsed.scheme == "http" and (options.token or options.headers) and (
        parsed.host not in _LOOPBACK
    ):
        stats.warnings.append(f"{stats.name}: credentials are sent over plain http, unencrypted;"
                              " use https")
    return stats, _walk(parsed, options, stats)


def _walk(start: httpx.URL, options: HttpOptions, stats: ReadStats) -> Iterator[RawItem]:
    with ApiClient(options, start) as client:
        # Digests of every page URL requested: a cursor or next link seen before means a loop.
        seen: set[bytes] = set()
        ordinal = 0
        page_url: httpx.URL | None = start
        pages = 0
        while page_url is not None:
            seen.add(_digest(page_url))
            pages += 1
            page = client.get_json(page_url)
            records = find_records(page.document, options.records_path)
            if records is None:
                where = (f"no array at {options.records_path!r}" if options.records_path
                         else "no array of records found (name it with --records-path)")
                raise ApiError(f"GET {client.show(page_url)} -> "
                               f"{_status_text(page.status, page.reason)}: {where}")
            next_url = _next_url(client, page, start, page_url)
            # Only this page's records stay alive while they stream through the pipeline.
            del page
            for element in records:
                ordinal += 1
                stats.lines.lines = ordinal
                if isinstance(element, dict):
                    yield ordinal, element
                else:
                    yield Unreadable(stats.name, ordinal, UnreadableCause.NOT_AN_OBJECT,
                                     f"a JSON {type(element).__name__}, not an object")
            del records
            if next_url is not None and _digest(next_url) in seen:
                raise ApiError(
                    f"GET {client.show(page_url)}: the next page (cursor or link) repeats one "
                    f"already read, after page {pages}: stopped instead of looping",
                    hint="the API's pagination is broken; --max-pages bounds a walk",
                )
            if next_url is not None and pages >= options.max_pages:
                message = (f"{stats.name}: stopped after {pages} pages (--max-pages); "
                           "more pages remain")
                stats.warnings.append(message)
                stats.partial = f"stopped after {pages} pages (--max-pages), more remain"
                client.notice(message)
                return
            page_url = next_url


def _digest(url: httpx.URL) -> bytes:
    return hashlib.blake2b(str(url).encode(), digest_size=16).digest()


def _next_url(client: ApiClient, page: Page, start: httpx.URL,
              page_url: httpx.URL) -> httpx.URL | None:
    """The next page: the --next-path field (a cursor or a URL), else a Link rel="next"."""
    opts = client.options
    if opts.next_path:
        value = dig(page.document, opts.next_path)
        if value is None or value is False or value == "":
            return None
        if isinstance(value, bool | dict | list):
            raise ApiError(f"GET {client.show(page_url)}: {opts.next_path!r} holds a JSON "
                           f"{type(value).__name__}, not a cursor or a URL",
                           hint="point --next-path at the cursor or URL itself, e.g. links.next")
        text = str(value)
        if text.lower().startswith(("http://", "https://")):
            return _parse_next(client, page_url, text)
        return start.copy_set_param(opts.cursor_param, text)
    if page.next_link:
        return _parse_next(client, page.url, page.next_link)
    return None


def _parse_next(client: ApiClient, base: httpx.URL, target: str) -> httpx.URL:
    try:
        url = base.join(target)
    except httpx.InvalidURL:
        raise ApiError(f"GET {client.show(base)}: the next-page URL is not valid") from None
    if url.scheme not in _DEFAULT_PORTS:
        raise ApiError(f"GET {client.show(base)}: the next-page URL is not http(s)")
    return url
