"""Unit tests of the HTTP layer: pure helpers, and the client over a mocked transport."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import certifi
import httpx
import pytest
from pytest_mock import MockerFixture

from txdiag.errors import ApiError, UsageError
from txdiag.http import client
from txdiag.http.client import backoff_delay, dig, parse_retry_after, read_url
from txdiag.http.lookup import expand_template, find_transaction
from txdiag.http.options import HttpOptions
from txdiag.http.redact import Secrets


def mocked(mocker: MockerFixture, handler: Any, *, keep: bool = True) -> list[httpx.Request]:
    """Route the client through ``handler`` (no sockets); return the requests it received."""
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        if keep:
            seen.append(request)
        result: httpx.Response = handler(request)
        return result

    mocker.patch.object(client, "_make_client",
                        side_effect=lambda options: httpx.Client(
                            transport=httpx.MockTransport(record), follow_redirects=False))
    return seen


def options(**overrides: Any) -> HttpOptions:
    values: dict[str, Any] = {"backoff_base": 0.001, "sleep": lambda seconds: None}
    values.update(overrides)
    return HttpOptions(**values)


# -- pure helpers --------------------------------------------------------------------------------

@pytest.mark.parametrize(("header", "expected"), [
    ("3", 3.0), (" 1.5 ", 1.5), ("0", 0.0), ("-4", 0.0), ("", None), (None, None),
    ("soon", None), ("nan", None), ("inf", None),
    ("Wed, 11 Nov 2026 00:00:30 GMT", 30.0),
    ("Wed, 11 Nov 2026 00:00:00 GMT", 0.0),
    ("Tue, 10 Nov 2026 23:00:00 GMT", 0.0),  # a date in the past: go now
])
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    now = datetime(2026, 11, 11, tzinfo=UTC)
    assert parse_retry_after(header, now) == expected


def test_backoff_doubles_is_capped_and_jittered(mocker: MockerFixture) -> None:
    uniform = mocker.patch.object(client.random, "uniform", side_effect=lambda low, high: high)
    assert [backoff_delay(n, 0.5, 3.0) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    uniform.side_effect = lambda low, high: low
    assert [backoff_delay(n, 0.5, 3.0) for n in (1, 2, 3)] == [0.25, 0.5, 1.0]
    assert uniform.call_args.args == (0, 1.0)  # half of the wait is random


def test_dig_walks_dotted_paths() -> None:
    doc = {"links": {"next": "u"}, "n": 1}
    assert dig(doc, "links.next") == "u"
    assert dig(doc, "links.prev") is None
    assert dig(doc, "n.x") is None
    assert dig([1], "a") is None


def test_secrets_scrub_token_and_secret_headers_only() -> None:
    secrets = Secrets(HttpOptions(token="tok-abcdef", headers=(
        ("Authorization", "Basic dXNlcjpwdw=="), ("X-Api-Key", "key-7777"), ("X-Tenant", "acme"),
        ("X-Auth-Token", "abc"),
    )))
    text = "tok-abcdef Basic dXNlcjpwdw== key-7777 acme abc"
    assert secrets(text) == "[REDACTED] [REDACTED] [REDACTED] acme abc"
    assert secrets("echoed dXNlcjpwdw==") == "echoed [REDACTED]"  # the credential alone too
    assert secrets.url("https://u:p@h.test/x?token=tok-abcdef") == "https://h.test/x?token=[REDACTED]"


def test_expand_template_keeps_the_id_in_its_path_segment() -> None:
    template = "https://pay.test/v1/transactions/{txn_id}?expand=all"
    assert expand_template(template, " T1 ") == "https://pay.test/v1/transactions/T1?expand=all"
    assert expand_template(template, "../admin?x=1#f") == (
        "https://pay.test/v1/transactions/..%2Fadmin%3Fx%3D1%23f?expand=all")
    assert expand_template("https://h/{txn_id}", "订单1") == "https://h/%E8%AE%A2%E5%8D%951"
    for bad_template in ("https://pay.test/v1/transactions/", "ftp://h/{txn_id}"):
        with pytest.raises(UsageError):
            expand_template(bad_template, "T1")
    with pytest.raises(UsageError, match="empty"):
        expand_template(template, "  ")


def _id(record: dict[str, Any]) -> str | None:
    value = record.get("txn_id")
    return str(value) if value is not None else None


@pytest.mark.parametrize(("document", "expected"), [
    ({"txn_id": "T1", "status": "failed"}, {"txn_id": "T1", "status": "failed"}),
    ({"code": 0, "msg": "ok", "data": {"txn_id": "T1"}}, {"txn_id": "T1"}),
    ({"Result": {"payment": {"txn_id": "T1", "x": 1}}}, {"txn_id": "T1", "x": 1}),
    ({"data": [{"txn_id": "T0"}, {"txn_id": "T1", "y": 2}]}, {"txn_id": "T1", "y": 2}),
    ([{"txn_id": "other-format-1"}], {"txn_id": "other-format-1"}),
    ({"code": 404, "msg": "not found", "data": None}, None),
    ({"data": []}, None),
    ({"data": [{"txn_id": "T7"}, {"txn_id": "T8"}]}, None),
    # the record's own nested fields are not mistaken for a wrapper
    ({"txn_id": "T1", "data": {"note": "x"}}, {"txn_id": "T1", "data": {"note": "x"}}),
    ("a string", None),
])
def test_find_transaction_shapes(document: Any, expected: Any) -> None:
    assert find_transaction(document, "T1", id_of=_id) == expected


def test_find_transaction_by_path() -> None:
    doc = {"resp": {"body": {"txn": {"txn_id": "T1"}}}, "data": {"txn_id": "wrong"}}
    assert find_transaction(doc, "T1", records_path="resp.body.txn", id_of=_id) == {"txn_id": "T1"}
    assert find_transaction(doc, "T1", records_path="resp.nothing", id_of=_id) is None


# -- the client over a mocked transport ----------------------------------------------------------

def test_connection_errors_are_retried(mocker: MockerFixture) -> None:
    answers: list[Any] = [httpx.ConnectError("[Errno 111] Connection refused"),
                          httpx.ReadError("connection reset by peer"),
                          httpx.Response(200, json={"items": [{"txn_id": "T1"}]})]

    def handler(request: httpx.Request) -> httpx.Response:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    seen = mocked(mocker, handler)
    sleep = mocker.Mock()
    assert list(read_url("https://pay.test/tx", options(sleep=sleep))[1]) == [
        (1, {"txn_id": "T1"})]
    assert len(seen) == 3
    assert sleep.call_count == 2


def test_a_failed_certificate_check_is_not_retried(mocker: MockerFixture) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
                                 "self-signed certificate (_ssl.c:1000)")

    seen = mocked(mocker, handler)
    with pytest.raises(ApiError) as caught:
        list(read_url("https://pay.test/tx", options())[1])
    assert caught.value.message == "GET https://pay.test/tx -> TLS certificate verification failed"
    assert caught.value.hint is not None and "--ca-bundle" in caught.value.hint
    assert len(seen) == 1


def test_tls_verification_is_always_on(mocker: MockerFixture) -> None:
    made = mocker.patch.object(client.httpx, "Client")
    client._make_client(HttpOptions())
    assert made.call_args.kwargs["verify"] is True
    assert made.call_args.kwargs["follow_redirects"] is False

    client._make_client(HttpOptions(ca_bundle=Path(certifi.where())))  # any PEM bundle
    context = made.call_args.kwargs["verify"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname


def test_an_unreadable_ca_bundle_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--ca-bundle"):
        client._make_client(HttpOptions(ca_bundle=tmp_path / "missing.pem"))
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate", encoding="ascii")
    with pytest.raises(UsageError, match="cannot load CA certificates"):
        client._make_client(HttpOptions(ca_bundle=garbage))


def test_redirects_are_bounded(mocker: MockerFixture) -> None:
    seen = mocked(mocker, lambda request: httpx.Response(302, headers={"Location": "/again"}))
    with pytest.raises(ApiError, match="more than 5 redirects"):
        list(read_url("https://pay.test/tx", options())[1])
    assert len(seen) == 6


def test_a_redirect_to_another_scheme_is_refused(mocker: MockerFixture) -> None:
    mocked(mocker, lambda request: httpx.Response(302, headers={"Location": "file:///etc/x"}))
    with pytest.raises(ApiError, match="not http"):
        list(read_url("https://pay.test/tx", options())[1])


def test_http_to_https_upgrade_on_the_same_host_keeps_the_token(mocker: MockerFixture) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.scheme == "http":
            return httpx.Response(301, headers={"Location": "https://pay.test/tx"})
        return httpx.Response(200, json=[])

    seen = mocked(mocker, handler)
    list(read_url("http://pay.test/tx", options(token="tok-123456"))[1])
    assert [r.headers.get("authorization") for r in seen] == ["Bearer tok-123456"] * 2


def test_credentials_over_plain_http_to_a_remote_host_are_warned_about() -> None:
    stats, _ = read_url("http://pay.test/tx", HttpOptions(token="tok-123456"))
    assert any("plain http" in w for w in stats.warnings)
    stats, _ = read_url("http://127.0.0.1:9/tx", HttpOptions(token="tok-123456"))
    assert stats.warnings == []


@pytest.mark.parametrize("url", ["ftp://h/x", "https://", "http:///path"])
def test_a_url_that_cannot_be_requested_is_a_usage_error(url: str) -> None:
    with pytest.raises(UsageError):
        read_url(url, HttpOptions())


def test_next_path_pointing_at_an_object_is_an_error(mocker: MockerFixture) -> None:
    mocked(mocker, lambda request: httpx.Response(200, json={"items": [], "next": {"a": 1}}))
    with pytest.raises(ApiError, match="'next' holds a JSON dict, not a cursor or a URL"):
        list(read_url("https://pay.test/tx", options(next_path="next"))[1])


def test_memory_stays_flat_however_many_pages(mocker: MockerFixture) -> None:
    """One page in memory at a time: the peak does not grow with the number of pages."""
    row = {"txn_id": "T", "status": "failed", "msg": "x" * 400}
    items = json.dumps([row] * 100)

    def handler(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params.get("cursor", "0"))
        body = f'{{"items": {items}, "next": {page + 1}}}'.encode()
        # Streamed, as from a socket: a mock response given bytes would keep them itself.
        return httpx.Response(200, content=iter([body]),
                              headers={"Content-Type": "application/json"})

    mocked(mocker, handler, keep=False)

    def peak(pages: int) -> int:
        tracemalloc.start()
        try:
            count = sum(1 for _ in read_url("https://pay.test/tx",
                                            options(next_path="next", max_pages=pages))[1])
            assert count == pages * 100
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    few, many = peak(20), peak(200)
    page_bytes = len(items)  # ~45 KB: 200 pages held at once would be 9 MB, and more as dicts
    assert many < 200 * page_bytes / 10
    # What 180 more pages add is the garbage collector's slack, not pages kept
    assert many - few < 8 * page_bytes


def test_reading_a_file_or_asking_the_version_does_not_import_httpx() -> None:
    code = ("import sys; import txdiag.cli.app, txdiag.pipeline, txdiag.http;"
            "print('httpx' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


def test_https_to_http_redirect_is_refused(mocker: MockerFixture) -> None:
    seen = mocked(mocker, lambda request: httpx.Response(
        302, headers={"Location": "http://api.example.test/plain"})
        if request.url.scheme == "https" else httpx.Response(200, json={"items": []}))
    with pytest.raises(ApiError) as caught:
        client.get_json("https://api.example.test/tx", options(retries=0))
    assert "redirected from https to http://api.example.test/plain: refused" in (
        caught.value.message)
    assert [r.url.scheme for r in seen] == ["https"]


def test_the_deadline_backend_reaches_every_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    # install_deadline reaches into httpx's pools; an httpx whose layout changed must show here.
    from txdiag.http.deadline import install_deadline

    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    with httpx.Client() as plain:
        assert plain._mounts and install_deadline(plain)
