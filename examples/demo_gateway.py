"""A demo payment gateway API serving examples/transactions.jsonl, for trying URL inputs.

Standard library only. It binds to 127.0.0.1 and serves:

- ``GET /v1/transactions?limit=N&cursor=C``: one page of records as
  ``{"data": {"items": [...]}, "next_cursor": "..."}`` plus a ``Link: <...>; rel="next"`` header;
- ``GET /v1/transactions/{txn_id}``: one transaction as ``{"code": 0, "data": {...}}``, or 404;
- a 503 now and then (``--fail-rate``), as real gateways do under load, so retries show.

Run it, then in another terminal::

    python3 examples/demo_gateway.py --port 8765
    txdiag summary http://127.0.0.1:8765/v1/transactions
    txdiag lookup T20261111000000001 --url 'http://127.0.0.1:8765/v1/transactions/{txn_id}'

With ``DEMO_GATEWAY_TOKEN`` set, every request must carry ``Authorization: Bearer <token>``
(try ``txdiag summary URL --token-env DEMO_GATEWAY_TOKEN``).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import random
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

DATA = Path(__file__).resolve().parent / "transactions.jsonl"
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
TOKEN_ENV = "DEMO_GATEWAY_TOKEN"


def load_records(path: Path = DATA) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def record_id(record: dict[str, Any]) -> str | None:
    value = record.get("txn_id") or record.get("out_trade_no")
    return str(value) if value is not None else None


def encode_cursor(offset: int) -> str:
    """Opaque to clients, as real cursors are: base64 of the next offset."""
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    kind, _, number = text.partition(":")
    return int(number) if kind == "o" and number.isdigit() else None


class Gateway(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], records: list[dict[str, Any]], *,
                 page_size: int = DEFAULT_PAGE_SIZE, fail_rate: float = 0.1, seed: int = 0,
                 token: str | None = None, quiet: bool = False) -> None:
        super().__init__(address, Handler)
        self.records = records
        self.by_id = {rid: r for r in records if (rid := record_id(r)) is not None}
        self.page_size = page_size
        self.fail_rate = fail_rate
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.token = token
        self.quiet = quiet

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up (it timed out, or did not read an error body) is routine.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def should_fail(self) -> bool:
        with self.lock:
            return self.random.random() < self.fail_rate


class Handler(BaseHTTPRequestHandler):
    server: Gateway
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        if not self.server.quiet:
            sys.stderr.write(f"demo-gateway: {format % args}\n")

    def do_GET(self) -> None:
        gateway = self.server
        if gateway.token is not None and (
            self.headers.get("Authorization") != f"Bearer {gateway.token}"
        ):
            self.send_json(401, {"code": 401, "message": "missing or wrong bearer token"})
            return
        if gateway.should_fail():
            self.send_json(503, {"code": 503, "message": "gateway busy, try again"})
            return
        parts = urlsplit(self.path)
        if parts.path.rstrip("/") == "/v1/transactions":
            self.list_page(parse_qs(parts.query))
        elif parts.path.startswith("/v1/transactions/"):
            txn_id = unquote(parts.path.removeprefix("/v1/transactions/"))
            record = gateway.by_id.get(txn_id)
            if record is None:
                self.send_json(404, {"code": 404, "message": "no such transaction"})
            else:
                self.send_json(200, {"code": 0, "message": "ok", "data": record})
        else:
            self.send_json(404, {"code": 404, "message": "try /v1/transactions"})

    def list_page(self, query: dict[str, list[str]]) -> None:
        gateway = self.server
        try:
            limit = min(MAX_PAGE_SIZE, max(1, int(query.get("limit", [gateway.page_size])[0])))
        except ValueError:
            self.send_json(400, {"code": 400, "message": "limit must be a number"})
            return
        offset = 0
        if "cursor" in query:
            decoded = decode_cursor(query["cursor"][0])
            if decoded is None:
                self.send_json(400, {"code": 400, "message": "bad cursor"})
                return
            offset = decoded
        items = gateway.records[offset:offset + limit]
        following = offset + limit
        cursor = encode_cursor(following) if following < len(gateway.records) else None
        headers = {}
        if cursor is not None:
            host = self.headers.get("Host") or f"127.0.0.1:{gateway.server_address[1]}"
            headers["Link"] = (f'<http://{host}/v1/transactions?limit={limit}'
                               f'&cursor={quote(cursor)}>; rel="next"')
        self.send_json(200, {"data": {"items": items}, "next_cursor": cursor,
                             "total": len(gateway.records)}, headers)

    def send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


def make_server(port: int = 0, **options: Any) -> Gateway:
    """A gateway on 127.0.0.1 (port 0: any free port); call ``serve_forever`` to run it."""
    return Gateway(("127.0.0.1", port), load_records(), **options)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (default 8765)")
    parser.add_argument("--page-size", type=int, default=DEFAULT_PAGE_SIZE,
                        help="records per page (default 100)")
    parser.add_argument("--fail-rate", type=float, default=0.1,
                        help="share of requests answered 503 (default 0.1)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the 503 dice")
    parser.add_argument("--quiet", action="store_true", help="do not log requests")
    args = parser.parse_args(argv)
    server = make_server(args.port, page_size=args.page_size, fail_rate=args.fail_rate,
                         seed=args.seed, token=os.environ.get(TOKEN_ENV) or None,
                         quiet=args.quiet)
    url = f"http://127.0.0.1:{server.server_address[1]}/v1/transactions"
    print(f"demo gateway serving {len(server.records):,} transactions at {url}", flush=True)
    print(f"try: txdiag summary {url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
