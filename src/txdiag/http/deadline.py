"""One deadline over every socket operation of a request, headers included.

httpx's timeouts apply to each read and write: a server that sends its response headers a
byte every few seconds never trips a 10 s read timeout, and the body deadline of
:mod:`txdiag.http.client` only starts once the headers are in. The network backend here
shortens each operation's timeout to what is left of the deadline set with :func:`bound_by`,
so the request times out (``httpx.ReadTimeout``) when the deadline passes, wherever it is.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from typing import Any

import httpcore
import httpx

_DEADLINE: ContextVar[float | None] = ContextVar("txdiag_http_deadline", default=None)


@contextlib.contextmanager
def bound_by(deadline: float) -> Iterator[None]:
    """Every socket operation of requests made inside ends by ``deadline`` (monotonic time)."""
    token = _DEADLINE.set(deadline)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def _bounded(timeout: float | None) -> float | None:
    deadline = _DEADLINE.get()
    if deadline is None:
        return timeout
    left = max(deadline - time.monotonic(), 0.001)
    return left if timeout is None else min(timeout, left)


class _Stream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _bounded(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bounded(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return _Stream(self._inner.start_tls(ssl_context, server_hostname, _bounded(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _Backend(httpcore.SyncBackend):
    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        return _Stream(super().connect_tcp(host, port, _bounded(timeout), local_address,
                                           socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None
                            ) -> httpcore.NetworkStream:
        return _Stream(super().connect_unix_socket(path, _bounded(timeout), socket_options))


def install_deadline(client: httpx.Client) -> bool:
    """Put the deadline backend under every transport of ``client`` (direct and proxied).

    httpx builds its connection pools itself and has no option for a network backend, so this
    reaches into them; False (nothing changed, per-read timeouts only) when their layout is not
    the one expected. A test checks that it is.
    """
    transports = [client._transport, *(t for t in client._mounts.values() if t is not None)]
    pools = [getattr(transport, "_pool", None) for transport in transports]
    if not all(hasattr(pool, "_network_backend") for pool in pools):
        return False
    backend = _Backend()
    for pool in pools:
        pool._network_backend = backend  # type: ignore[union-attr]
    return True
