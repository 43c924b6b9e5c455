"""read_url and get_json against a real HTTP server on 127.0.0.1 started by each test."""

from __future__ import annotations

import gzip
import json
import logging
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest
from tests.http.conftest import ApiServer, Reply, Seen, Sleeps

from txdiag.errors import ApiError
from txdiag.exitcodes import ExitCode
from txdiag.http.client import HttpStatusError, get_json, read_url
from txdiag.http.options import HttpOptions
from txdiag.readers import Unreadable, UnreadableCause

Fast = Callable[..., HttpOptions]
TOKEN = "tok_9f8e7d6c5b4a39281706"


def records(first: int, count: int) -> list[dict[str, Any]]:
    return [{"txn_id": f"T{n}", "status": "failed", "code": "51", "channel": "iso8583"}
            for n in range(first, first + count)]


def cursor_pages(pages: int, per_page: int) -> Callable[[Seen], Reply]:
    """Pages addressed by ?cursor=N, each saying where the next one is."""

    def respond(seen: Seen) -> Reply:
        page = int(seen.query.get("cursor", ["0"])[0])
        following = str(page + 1) if page + 1 < pages else None
        return Reply(200, {"data": {"items": records(page * per_page + 1, per_page)},
                           "paging": {"next": following}})

    return respond


def drain(items: Any) -> tuple[list[Any], ApiError | None]:
    """Everything yielded before an error, and the error."""
    got: list[Any] = []
    iterator = iter(items)
    while True:
        try:
            got.append(next(iterator))
        except StopIteration:
            return got, None
        except ApiError as exc:
            return got, exc


# -- pagination ----------------------------------------------------------------------------------

def test_cursor_pages_stream_records_with_ordinals_across_the_walk(api: ApiServer,
                                                                   fast: Fast) -> None:
    api.respond = cursor_pages(pages=3, per_page=4)
    stats, items = read_url(api.url("/v1/tx?limit=4"),
                            fast(next_path="paging.next", records_path="data.items"))
    got = list(items)
    assert [ordinal for ordinal, _ in got] == list(range(1, 13))
    assert [record["txn_id"] for _, record in got] == [f"T{n}" for n in range(1, 13)]
    assert stats.lines.lines == 12
    assert (stats.name, stats.format, stats.compression) == (api.url("/v1/tx?limit=4"), "json",
                                                             None)
    # the cursor goes back in the query, next to the parameters of the named URL
    assert [s.query.get("cursor") for s in api.requests] == [None, ["1"], ["2"]]
    assert all(s.query["limit"] == ["4"] for s in api.requests)


def test_cursor_param_is_configurable(api: ApiServer, fast: Fast) -> None:
    api.script(Reply(200, {"items": records(1, 1), "next": "abc"}),
               Reply(200, {"items": records(2, 1), "next": None}))
    _, items = read_url(api.url("/tx"), fast(next_path="next", cursor_param="page_after"))
    assert len(list(items)) == 2
    assert api.requests[1].query == {"page_after": ["abc"]}


def test_next_path_holding_a_url_is_followed(api: ApiServer, fast: Fast) -> None:
    api.script(Reply(200, {"items": records(1, 2), "next": api.url("/page2?x=1")}),
               Reply(200, {"items": records(3, 1), "next": ""}))
    _, items = read_url(api.url("/page1"), fast(next_path="next"))
    assert [r["txn_id"] for _, r in items] == ["T1", "T2", "T3"]
    assert [s.path for s in api.requests] == ["/page1", "/page2?x=1"]


def test_link_header_is_followed_even_relative(api: ApiServer, fast: Fast) -> None:
    api.script(Reply(200, [*records(1, 2)], {"Link": '</v1/tx?page=2>; rel="next"'}),
               Reply(200, [*records(3, 2)], {"Link": '<https://elsewhere.test/x>; rel="prev"'}))
    _, items = read_url(api.url("/v1/tx"), fast())
    assert [r["txn_id"] for _, r in items] == ["T1", "T2", "T3", "T4"]
    assert [s.path for s in api.requests] == ["/v1/tx", "/v1/tx?page=2"]


def test_max_pages_bounds_the_walk_and_says_so(api: ApiServer, fast: Fast) -> None:
    api.respond = cursor_pages(pages=10_000, per_page=2)
    notices: list[str] = []
    stats, items = read_url(api.url("/tx"), fast(next_path="paging.next", max_pages=3,
                                                 notify=notices.append))
    assert len(list(items)) == 6
    assert len(api.requests) == 3
    assert any("stopped after 3 pages" in w for w in stats.warnings)
    assert notices and "--max-pages" in notices[0]


def test_pages_are_requested_only_as_records_are_consumed(api: ApiServer, fast: Fast) -> None:
    api.respond = cursor_pages(pages=5, per_page=3)
    _, items = read_url(api.url("/tx"), fast(next_path="paging.next"))
    assert api.requests == []  # nothing before the first record is asked for
    for _ in range(3):
        next(items)
    assert len(api.requests) == 1
    next(items)
    assert len(api.requests) == 2


def test_a_repeating_cursor_stops_the_walk_with_an_error(api: ApiServer, fast: Fast) -> None:
    cycle = {"0": "A", "A": "B", "B": "A"}

    def respond(seen: Seen) -> Reply:
        cursor = seen.query.get("cursor", ["0"])[0]
        return Reply(200, {"items": records(len(api.requests), 1), "next": cycle[cursor]})

    api.respond = respond
    got, error = drain(read_url(api.url("/tx"), fast(next_path="next"))[1])
    assert error is not None and "repeats" in error.message
    assert error.exit_code is ExitCode.API
    assert len(got) == 3  # the pages read before the loop still count
    assert len(api.requests) == 3


def test_elements_that_are_not_objects_are_unreadable(api: ApiServer, fast: Fast) -> None:
    api.script(Reply(200, {"items": [{"txn_id": "T1"}, 42, ["x"], {"txn_id": "T2"}]}))
    _, items = read_url(api.url("/tx"), fast())
    got = list(items)
    assert [type(item).__name__ for item in got] == ["tuple", "Unreadable", "Unreadable",
                                                     "tuple"]
    bad = got[1]
    assert isinstance(bad, Unreadable)
    assert (bad.line, bad.cause) == (2, UnreadableCause.NOT_AN_OBJECT)
    assert got[3] == (4, {"txn_id": "T2"})


# -- retries -------------------------------------------------------------------------------------

def test_503_then_success_is_retried_after_a_backoff(api: ApiServer, fast: Fast,
                                                     sleeps: Sleeps) -> None:
    api.script(Reply(503, "busy"), Reply(200, {"items": records(1, 2)}))
    notices: list[str] = []
    _, items = read_url(api.url("/tx"), fast(notify=notices.append))
    assert len(list(items)) == 2
    assert len(api.requests) == 2
    assert len(sleeps.calls) == 1 and 0.005 <= sleeps.calls[0] <= 0.01
    assert "503 Service Unavailable; retry 1 of 2" in notices[0]


def test_429_honours_retry_after_seconds(api: ApiServer, fast: Fast, sleeps: Sleeps) -> None:
    api.script(Reply(429, "", {"Retry-After": "2"}), Reply(200, {"items": records(1, 1)}))
    _, items = read_url(api.url("/tx"), fast())
    assert len(list(items)) == 1
    assert sleeps.calls == [2.0]


def test_retry_after_is_capped(api: ApiServer, fast: Fast, sleeps: Sleeps) -> None:
    api.script(Reply(503, "", {"Retry-After": "86400"}), Reply(200, {"items": []}))
    list(read_url(api.url("/tx"), fast(max_retry_after=0.5))[1])
    assert sleeps.calls == [0.5]


def test_retries_exhausted_give_one_line_with_status_and_attempts(api: ApiServer, fast: Fast,
                                                                  sleeps: Sleeps) -> None:
    api.script(Reply(503, "<html><body>busy</body></html>", {"Content-Type": "text/html"}))
    url = api.url("/tx?access_token=S3CR3TQUERY&day=1")
    with pytest.raises(ApiError) as caught:
        list(read_url(url, fast(retries=3))[1])
    message = caught.value.message
    assert message == (f"GET {api.url('/tx?access_token=[REDACTED]&day=1')} -> "
                       "503 Service Unavailable after 4 attempts")
    assert caught.value.exit_code is ExitCode.API
    assert len(api.requests) == 4 and len(sleeps.calls) == 3
    # exponential with jitter: each wait is drawn from [c/2, c], c doubling from backoff_base
    for wait, ceiling in zip(sleeps.calls, (0.01, 0.02, 0.04), strict=True):
        assert ceiling / 2 <= wait <= ceiling


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422, 500, 501])
def test_other_statuses_are_not_retried(api: ApiServer, fast: Fast, sleeps: Sleeps,
                                        status: int) -> None:
    api.script(Reply(status, {"error": "no"}))
    with pytest.raises(HttpStatusError) as caught:
        list(read_url(api.url("/tx"), fast())[1])
    assert len(api.requests) == 1 and sleeps.calls == []
    assert caught.value.status == status
    assert caught.value.message.startswith(f"GET {api.url('/tx')} -> {status} ")
    assert "\n" not in caught.value.message


def test_401_is_not_retried_and_points_at_the_token(api: ApiServer, fast: Fast) -> None:
    api.script(Reply(401, {"error": "unauthorized"}))
    with pytest.raises(HttpStatusError) as caught:
        list(read_url(api.url("/tx"), fast())[1])
    assert caught.value.message == f"GET {api.url('/tx')} -> 401 Unauthorized"
    assert caught.value.hint is not None and "--token-env" in caught.value.hint
    assert len(api.requests) == 1


def test_a_slow_response_hits_the_timeout_and_is_retried(api: ApiServer, fast: Fast,
                                                         sleeps: Sleeps) -> None:
    api.script(Reply(200, {"items": []}, delay=5.0))
    started = time.monotonic()
    with pytest.raises(ApiError) as caught:
        list(read_url(api.url("/slow"), fast(timeout=0.2, retries=1))[1])
    assert time.monotonic() - started < 2.0
    assert "timed out (read" in caught.value.message
    assert caught.value.message.endswith("after 2 attempts")
    assert len(api.requests) == 2


def test_a_trickling_body_hits_the_page_deadline(api: ApiServer, fast: Fast) -> None:
    body = json.dumps({"items": records(1, 20)})
    api.script(Reply(200, body, {"Content-Type": "application/json"}, drip=0.05))
    started = time.monotonic()
    with pytest.raises(ApiError) as caught:
        list(read_url(api.url("/drip"), fast(timeout=1.0, page_deadline=0.3, retries=0))[1])
    assert time.monotonic() - started < 1.5
    assert "deadline (0.3 s)" in caught.value.message


def test_connection_refused_is_retried_then_reported(fast: Fast, sleeps: Sleeps) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ApiError) as caught:
        list(read_url(f"http://127.0.0.1:{port}/tx", fast(retries=2))[1])
    assert "cannot connect" in caught.value.message
    assert caught.value.message.endswith("after 3 attempts")
    assert len(sleeps.calls) == 2


# -- what is not JSON records ----------------------------------------------------------------------

def test_an_html_page_is_a_one_line_error_with_url_and_status(api: ApiServer, fast: Fast) -> None:
    api.script(Reply(200, "<!DOCTYPE html>\n<html><body>Please log in</body></html>",
                     {"Content-Type": "text/html; charset=utf-8"}))
    with pytest.raises(ApiError) as caught:
        list(read_url(api.url("/tx?sign=abcdef123456"), fast())[1])
    assert caught.value.message == (f"GET {api.url('/tx?sign=[REDACTED]')} -> 200 OK: "
                                    "an HTML page, not JSON")
    assert len(api.requests) == 1


def test_an_html_error_status_names_the_status(api: ApiServer, fast: Fast) -> None:
    api.script(Reply(500, "<html><h1>Internal Server Error</h1></html>",
                     {"Content-Type": "text/html"}))
    with pytest.raises(ApiError, match=r"-> 500 Internal Server Error$"):
        list(read_url(api.url("/tx"), fast())[1])


def test_invalid_json_is_a_one_line_error(api: ApiServer, fast: Fast) -> None:
    api.script(Reply(200, '{"items": [{"txn_id": "T1"},', {"Content-Type": "application/json"}))
    with pytest.raises(ApiError, match=r"-> 200 OK: not valid JSON \(.+ at line 1 column \d+\)"):
        list(read_url(api.url("/tx"), fast())[1])


def test_a_document_without_records_is_an_unexpected_shape(api: ApiServer, fast: Fast) -> None:
    api.script(Reply(200, {"count": 3, "status": "ok"}))
    with pytest.raises(ApiError, match="no array of records found"):
        list(read_url(api.url("/tx"), fast())[1])
    api.script(Reply(200, {"data": {"rows": []}}))
    with pytest.raises(ApiError, match="no array at 'data.items'"):
        list(read_url(api.url("/tx"), fast(records_path="data.items"))[1])


def test_records_before_a_failing_page_are_kept(api: ApiServer, fast: Fast) -> None:
    api.script(Reply(200, {"items": records(1, 3), "next": "2"}), Reply(500, "oops"))
    got, error = drain(read_url(api.url("/tx"), fast(next_path="next"))[1])
    assert len(got) == 3
    assert error is not None and "-> 500 Internal Server Error" in error.message


def test_the_body_size_is_capped(api: ApiServer, fast: Fast) -> None:
    api.script(Reply(200, {"items": records(1, 200)}))
    with pytest.raises(ApiError, match="larger than 2,000 bytes"):
        list(read_url(api.url("/tx"), fast(max_body_bytes=2000))[1])


def test_the_cap_applies_to_the_decoded_size(api: ApiServer, fast: Fast) -> None:
    # 1 MB of JSON that compresses to about 1 KB: the cap is on what it decodes to
    body = gzip.compress(json.dumps({"items": [{"txn_id": "T1", "pad": " " * 1_000_000}]})
                         .encode())
    assert len(body) < 10_000
    api.script(Reply(200, body, {"Content-Type": "application/json",
                                 "Content-Encoding": "gzip"}))
    with pytest.raises(ApiError, match="larger than 100,000 bytes"):
        list(read_url(api.url("/tx"), fast(max_body_bytes=100_000))[1])
    # and a gzip body under the cap is decoded and read
    api.script(Reply(200, gzip.compress(b'{"items": [{"txn_id": "T1"}]}'),
                     {"Content-Encoding": "gzip"}))
    assert list(read_url(api.url("/tx"), fast())[1]) == [(1, {"txn_id": "T1"})]


# -- credentials ---------------------------------------------------------------------------------

def test_token_and_headers_are_sent_to_the_named_origin(api: ApiServer, fast: Fast) -> None:
    api.script(Reply(302, "", {"Location": "/v2/tx"}), Reply(200, {"items": []}))
    list(read_url(api.url("/v1/tx"), fast(token=TOKEN, headers=(("X-Api-Key", "k-123456"),
                                                                  ("X-Tenant", "acme"))))[1])
    assert [s.path for s in api.requests] == ["/v1/tx", "/v2/tx"]
    for seen in api.requests:  # a redirect within the origin keeps them
        assert seen.headers["authorization"] == f"Bearer {TOKEN}"
        assert seen.headers["x-api-key"] == "k-123456"
        assert seen.headers["x-tenant"] == "acme"
        assert seen.headers["accept"] == "application/json"


def test_no_credentials_follow_a_redirect_to_another_host(api: ApiServer, other_api: ApiServer,
                                                          fast: Fast) -> None:
    api.script(Reply(307, "", {"Location": other_api.url("/collect")}))
    other_api.script(Reply(200, {"items": records(1, 1)}))
    _, items = read_url(api.url("/tx"), fast(token=TOKEN, headers=(("X-Api-Key", "k-123456"),)))
    assert len(list(items)) == 1
    assert "authorization" in api.requests[0].headers
    seen = other_api.requests[0]
    assert "authorization" not in seen.headers
    assert "x-api-key" not in seen.headers
    assert TOKEN not in json.dumps(seen.headers)


def test_no_credentials_follow_a_next_link_to_another_host(api: ApiServer, other_api: ApiServer,
                                                           fast: Fast) -> None:
    api.script(Reply(200, {"items": records(1, 1), "next": other_api.url("/p2")}))
    other_api.script(Reply(401, {"error": "who are you"}))
    got, error = drain(read_url(api.url("/tx"), fast(token=TOKEN, next_path="next"))[1])
    assert len(got) == 1
    assert "authorization" not in other_api.requests[0].headers
    assert isinstance(error, HttpStatusError) and error.hint is not None
    assert "only sent to the host you named" in error.hint


def test_secrets_never_reach_names_messages_or_logs(api: ApiServer, fast: Fast,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    api.script(Reply(200, {"items": records(1, 1), "next": "n2"}),
               Reply(503, "busy"))
    url = api.url(f"/tx?api_key=QUERYSECRET99&echo={TOKEN}")
    notices: list[str] = []
    with caplog.at_level(logging.DEBUG):
        stats, items = read_url(url, fast(token=TOKEN, next_path="next", notify=notices.append,
                                          headers=(("Authorization-Extra", "hdr-secret-42"),)))
        got, error = drain(items)
    assert len(got) == 1 and error is not None
    everything = "\n".join([stats.name, *stats.warnings, error.message, error.hint or "",
                            *notices, caplog.text])
    assert "httpx" in caplog.text or "HTTP Request" in caplog.text  # httpx did log, redacted
    for secret in (TOKEN, "QUERYSECRET99", "hdr-secret-42"):
        assert secret not in everything
    assert "[REDACTED]" in stats.name


def test_get_json_returns_one_document(api: ApiServer, fast: Fast) -> None:
    api.script(Reply(200, {"data": {"txn_id": "T1"}}, {"Content-Type": "application/json"}))
    page = get_json(api.url("/v1/transactions/T1"), fast())
    assert page.document == {"data": {"txn_id": "T1"}}
    assert page.status == 200


def test_a_cookie_never_follows_a_redirect_to_another_origin(api: ApiServer,
                                                              other_api: ApiServer,
                                                              fast: Fast) -> None:
    # Same host, another port: the cookie jar alone would send it (issue 13).
    api.script(Reply(307, "", {"Location": other_api.url("/collect"),
                               "Set-Cookie": "session=s3cr3t; Path=/"}))
    other_api.script(Reply(200, {"items": records(1, 1)}))
    assert len(list(read_url(api.url("/tx"), fast())[1])) == 1
    assert "s3cr3t" not in json.dumps(other_api.requests[0].headers)


def test_a_dead_proxy_is_named_not_the_api(api: ApiServer, fast: Fast,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    monkeypatch.setenv("HTTP_PROXY", dead)
    monkeypatch.setenv("NO_PROXY", "")
    monkeypatch.delenv("no_proxy", raising=False)
    url = "http://api.example.test/tx"
    with pytest.raises(ApiError) as caught:
        list(read_url(url, fast(retries=0))[1])
    assert f"cannot connect to the proxy {dead} (HTTP_PROXY)" in caught.value.message
    assert "--no-proxy" in (caught.value.hint or "")
    # --no-proxy: straight to the API (here: the test server), the proxy variable ignored
    api.script(Reply(200, {"items": records(1, 1)}))
    assert len(list(read_url(api.url("/tx"), fast(trust_env=False))[1])) == 1


def test_a_body_encoded_twice_is_refused_before_it_is_decoded(api: ApiServer, fast: Fast) -> None:
    # gzip over gzip of zeros grows a million-fold per chunk: refused, never decoded (issue 13).
    bomb = gzip.compress(gzip.compress(b"\0" * (8 << 20)))
    api.script(Reply(200, bomb, {"Content-Encoding": "gzip, gzip"}))
    with pytest.raises(ApiError) as caught:
        list(read_url(api.url("/tx"), fast(retries=0))[1])
    assert "encoded 2 times (gzip, gzip): refused" in caught.value.message
    api.script(Reply(200, gzip.compress(b'{"items": []}'), {"Content-Encoding": "identity, gzip"}))
    assert list(read_url(api.url("/tx"), fast())[1]) == []


def test_headers_trickled_a_byte_at_a_time_hit_the_deadline(fast: Fast) -> None:
    # Each byte comes well within the read timeout; only a deadline over the whole request,
    # headers included, ends it (issue 13: lookup waited past 400 s with a 40 s deadline).
    import threading

    stop = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))

    def trickle() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 1000:
                if stop.wait(0.1):
                    return
                try:
                    connection.sendall(bytes([byte]))
                except OSError:
                    return

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/tx"
    started = time.monotonic()
    try:
        with pytest.raises(ApiError) as caught:
            list(read_url(url, fast(timeout=0.5, page_deadline=1.0, retries=0))[1])
    finally:
        stop.set()
        listener.close()
    assert time.monotonic() - started < 5
    assert "no complete answer within the deadline (1 s)" in caught.value.message
