"""A real HTTP server on 127.0.0.1, started and stopped by each test that uses it.

Tests script it with a function from the request to a :class:`Reply`; it records every request
(path and headers) so a test can check what was sent, credentials included.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from txdiag.http.options import HttpOptions


@dataclass
class Reply:
    status: int = 200
    body: Any = b""
    """bytes or str as they are; anything else is sent as JSON."""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    """Seconds to wait before answering (a slow API)."""
    drip: float = 0.0
    """Seconds to wait between the body's bytes chunks of 16 (a trickling API)."""


@dataclass
class Seen:
    path: str
    headers: dict[str, str]

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.path).query)


Respond = Callable[[Seen], Reply]


class Handler(BaseHTTPRequestHandler):
    server: ApiServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        seen = Seen(self.path, {k.lower(): v for k, v in self.headers.items()})
        server = self.server
        with server.lock:
            server.requests.append(seen)
        reply = server.respond(seen)
        if reply.delay and server.release.wait(reply.delay):
            return
        body = reply.body
        if not isinstance(body, bytes | str):
            body = json.dumps(body)
            reply.headers.setdefault("Content-Type", "application/json")
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if not reply.drip:
            self.wfile.write(data)
            return
        for start in range(0, len(data), 16):
            self.wfile.write(data[start:start + 16])
            self.wfile.flush()
            if server.release.wait(reply.drip):
                return


class ApiServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.respond: Respond = lambda seen: Reply(404, {"error": "not scripted"})
        self.requests: list[Seen] = []
        self.lock = threading.Lock()
        self.release = threading.Event()
        """Set at teardown: a handler still waiting (slow reply) returns at once."""

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def url(self, path: str = "/") -> str:
        return self.base + path

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (a timeout test) is expected, not a failure

    def script(self, *replies: Reply) -> None:
        """Answer with these replies in order, then repeat the last one."""
        queue = list(replies)

        def respond(seen: Seen) -> Reply:
            with self.lock:
                reply = queue.pop(0) if len(queue) > 1 else queue[0]
            return Reply(reply.status, reply.body, dict(reply.headers), reply.delay, reply.drip)

        self.respond = respond


def start_server() -> tuple[ApiServer, threading.Thread]:
    server = ApiServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    return server, thread


def stop_server(server: ApiServer, thread: threading.Thread) -> None:
    server.release.set()
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def api() -> Iterator[ApiServer]:
    server, thread = start_server()
    try:
        yield server
    finally:
        stop_server(server, thread)


@pytest.fixture
def other_api() -> Iterator[ApiServer]:
    """A second server: another origin (another port), for redirect and next-link tests."""
    server, thread = start_server()
    try:
        yield server
    finally:
        stop_server(server, thread)


@dataclass
class Sleeps:
    """Records the waits between attempts instead of waiting."""

    calls: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def fast(sleeps: Sleeps) -> Callable[..., HttpOptions]:
    """HttpOptions that never really wait, with short timeouts; keyword arguments override."""

    def build(**overrides: Any) -> HttpOptions:
        values: dict[str, Any] = {"timeout": 2.0, "retries": 2, "backoff_base": 0.01,
                                  "max_retry_after": 5.0, "sleep": sleeps}
        values.update(overrides)
        return HttpOptions(**values)

    return build


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """Requests go straight to 127.0.0.1, whatever proxy the machine running the tests has."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                 "all_proxy", "NO_PROXY", "no_proxy", "SSL_CERT_FILE", "SSL_CERT_DIR"):
        monkeypatch.delenv(name, raising=False)
