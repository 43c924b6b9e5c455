"""URL inputs and ``txdiag lookup`` through the command line, against servers on 127.0.0.1."""

from __future__ import annotations

import importlib.util
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pytest_mock import MockerFixture
from tests.http.conftest import ApiServer, Reply, Seen
from typer.testing import CliRunner

from txdiag.cli.app import app
from txdiag.exitcodes import ExitCode
from txdiag.http import client

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "transactions.jsonl"
TOKEN = "tok_live_5ecr3t_7a6b5c4d3e2f"
QUERY_SECRET = "QSECRET_42_abcdef"


def run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


@pytest.fixture(autouse=True)
def _no_waiting(mocker: MockerFixture) -> None:
    """The CLI uses the real backoff; in tests every retry comes back at once."""
    mocker.patch.object(client, "backoff_delay", return_value=0.0)


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("PAY_API_TOKEN", TOKEN)
    return TOKEN


def load_demo() -> ModuleType:
    spec = importlib.util.spec_from_file_location("demo_gateway", ROOT / "examples" /
                                                  "demo_gateway.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def demo() -> Iterator[Any]:
    """The example gateway, answering 503 to a quarter of the requests."""
    server = load_demo().make_server(0, page_size=250, fail_rate=0.25, seed=7, quiet=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def failed_records(first: int, count: int) -> list[dict[str, Any]]:
    return [{"txn_id": f"T{n}", "status": "failed", "resp_code": "51", "channel": "iso8583"}
            for n in range(first, first + count)]


# -- URL inputs ----------------------------------------------------------------------------------

def test_summary_of_the_demo_gateway_matches_the_example_file(demo: Any) -> None:
    url = f"http://127.0.0.1:{demo.server_address[1]}/v1/transactions"
    from_api = run("summary", url, "--format", "json")
    assert from_api.exit_code == 0, from_api.stderr
    from_file = json.loads(run("summary", str(EXAMPLE), "--format", "json").stdout)
    data = json.loads(from_api.stdout)
    assert data["totals"] == from_file["totals"]
    assert data["by_category"] == from_file["by_category"]
    assert data["inputs"][0]["name"] == url
    assert data["inputs"][0]["format"] == "json"
    assert data["inputs"][0]["lines"] == from_file["totals"]["records"]


def test_demo_gateway_pages_by_cursor_too(demo: Any) -> None:
    url = f"http://127.0.0.1:{demo.server_address[1]}/v1/transactions?limit=500"
    result = run("diagnose", url, "--next-path", "next_cursor", "--records-path", "data.items",
                 "--format", "jsonl", "-c", "balance", "-q")
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows and {row["category"] for row in rows} == {"balance"}
    assert rows[0]["source"]["file"] == url


def test_records_read_before_the_api_failed_are_reported(api: ApiServer) -> None:
    api.script(Reply(200, {"items": failed_records(1, 3), "next": "p2"}),
               Reply(502, "<html>Bad Gateway</html>", {"Content-Type": "text/html"}))
    result = run("diagnose", api.url("/tx"), "--next-path", "next", "--format", "jsonl",
                 "--retries", "1")
    assert result.exit_code == ExitCode.API
    assert [json.loads(line)["txn_id"] for line in result.stdout.splitlines()] == [
        "T1", "T2", "T3"]
    errors = [line for line in result.stderr.splitlines() if "error:" in line]
    assert errors == [f"txdiag: error: GET {api.url('/tx?cursor=p2')} -> 502 Bad Gateway after "
                      "2 attempts"]


def test_summary_json_error_object_and_partial_totals(api: ApiServer) -> None:
    api.script(Reply(200, {"items": failed_records(1, 2), "next": "p2"}),
               Reply(200, "not json at all"))
    result = run("summary", api.url("/tx"), "--next-path", "next", "--format", "json")
    assert result.exit_code == ExitCode.API
    assert json.loads(result.stdout)["totals"]["records"] == 2
    error = json.loads(result.stderr.strip().splitlines()[-1])
    assert error["exit_code"] == 4
    assert "not valid JSON" in error["error"]


def test_headers_and_the_token_are_sent(api: ApiServer, token: str) -> None:
    api.script(Reply(200, {"items": failed_records(1, 1)}))
    result = run("summary", api.url("/tx"), "--header", "X-Tenant: acme", "-H",
                 "X-Trace: 1", "--token-env", "PAY_API_TOKEN")
    assert result.exit_code == 0, result.stderr
    sent = api.requests[0].headers
    assert sent["authorization"] == f"Bearer {token}"
    assert (sent["x-tenant"], sent["x-trace"]) == ("acme", "1")


def test_a_token_variable_that_is_not_set_is_a_usage_error(api: ApiServer) -> None:
    result = run("summary", api.url("/tx"), "--token-env", "NOT_SET_ANYWHERE")
    assert result.exit_code == ExitCode.USAGE
    assert api.requests == []


def test_an_api_profile_from_the_config_file(api: ApiServer, token: str, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[api.gw]\nbase_url = "{api.url("/v1/tx")}"\ntoken_env = "PAY_API_TOKEN"\n'
        f'records_path = "result.rows"\nnext_path = "result.after"\ncursor_param = "after"\n'
        '[api.gw.headers]\nX-Tenant = "acme"\n', encoding="utf-8")

    def respond(seen: Seen) -> Reply:
        after = seen.query.get("after", ["0"])[0]
        return Reply(200, {"result": {"rows": failed_records(int(after) + 1, 1),
                                      "after": None if after == "1" else "1"}})

    api.respond = respond
    result = run("summary", "--api", "gw", "--config", str(config), "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["totals"]["records"] == 2
    assert [s.query.get("after") for s in api.requests] == [None, ["1"]]
    assert all(s.headers["x-tenant"] == "acme" for s in api.requests)
    assert all(s.headers["authorization"] == f"Bearer {token}" for s in api.requests)


@pytest.mark.parametrize("scenario", ["ok", "401", "503", "html", "timeout", "loop"])
def test_the_token_never_appears_in_stdout_or_stderr(api: ApiServer, token: str,
                                                     scenario: str) -> None:
    record = {"txn_id": "T1", "status": "failed", "code": "51", "channel": "iso8583",
              "request_url": api.url(f"/tx?access_token={QUERY_SECRET}")}
    replies = {
        "ok": [Reply(200, {"items": [record]})],
        "401": [Reply(401, {"error": f"bad token {TOKEN}"})],
        "503": [Reply(503, f"busy, token was {TOKEN}")],
        "html": [Reply(200, f"<html>{TOKEN}</html>", {"Content-Type": "text/html"})],
        "timeout": [Reply(200, {"items": []}, delay=5)],
        "loop": [Reply(200, {"items": [record], "next": "same"})],
    }[scenario]
    api.script(*replies)
    runs = [("diagnose", "table", []), ("summary", "json", ["--no-mask"]),
            ("diagnose", "jsonl", ["--no-mask"])]
    for command, fmt, extra in runs:
        result = run(command, api.url(f"/tx?token={QUERY_SECRET}&day=1"), "--token-env",
                     "PAY_API_TOKEN", "-H", f"X-Api-Key: {QUERY_SECRET}", "--next-path", "next",
                     "--timeout", "0.1", "--retries", "1", "--format", fmt, *extra)
        everything = result.stdout + result.stderr
        assert TOKEN not in everything
        assert QUERY_SECRET not in everything
        assert result.exit_code == (ExitCode.OK if scenario == "ok" else ExitCode.API), everything
        assert everything.count("[REDACTED]") >= 1  # the URL was shown, redacted
    assert all(s.headers["authorization"] == f"Bearer {token}" for s in api.requests)


# -- lookup --------------------------------------------------------------------------------------

CARD = "6222021234567890128"
LOOKUP_RECORD = {
    "txn_id": "T42", "status": "failed", "channel": "iso8583", "resp_code": "51",
    "message": "Not sufficient funds", "amount": "1299.00", "currency": "CNY",
    "installments": 12, "card_no": CARD, "mobile": "13812345678",
}


def lookup_url(api: ApiServer) -> str:
    return api.url("/v1/transactions/{txn_id}")


def test_lookup_shows_the_support_panel_masked(api: ApiServer) -> None:
    api.script(Reply(200, {"code": 0, "msg": "ok", "data": LOOKUP_RECORD}))
    result = run("lookup", "T42", "--url", lookup_url(api))
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    for expected in ("Transaction T42", "balance", "balance.insufficient_funds",
                     "Tell the customer", "Engineering", "Raw fields", "card_no", "1299.00 CNY"):
        assert expected in out
    assert CARD not in out and "13812345678" not in out
    assert "622202*********0128" in out
    assert api.requests[0].path == "/v1/transactions/T42"


def test_lookup_no_mask_shows_personal_data(api: ApiServer) -> None:
    api.script(Reply(200, LOOKUP_RECORD))
    result = run("lookup", "T42", "--url", lookup_url(api), "--no-mask", "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["raw"]["card_no"] == CARD
    assert "masking is OFF" in result.stderr


def test_lookup_json_for_scripts(api: ApiServer) -> None:
    api.script(Reply(200, {"data": LOOKUP_RECORD}))
    result = run("lookup", "T42", "--url", lookup_url(api), "--format", "json", "--lang", "zh")
    data = json.loads(result.stdout)
    assert (data["command"], data["schema_version"], data["lang"]) == ("lookup", 1, "zh")
    assert data["query"] == "T42" and data["failed"] is True
    assert data["url"] == api.url("/v1/transactions/T42")
    assert data["record"]["txn_id"] == "T42" and data["record"]["amount"] == "1299.00"
    assert data["diagnosis"]["category"] == "balance"
    assert any("\u4e00" <= ch <= "\u9fff" for ch in data["diagnosis"]["hint"])
    assert data["raw"]["card_no"] == "622202*********0128"
    assert data["raw"]["mobile"] == "138****5678"


def test_lookup_of_a_successful_transaction(api: ApiServer) -> None:
    api.script(Reply(200, {"txn_id": "T7", "status": "success", "amount": "10.00"}))
    table = run("lookup", "T7", "--url", lookup_url(api))
    assert table.exit_code == 0
    assert "did not fail" in table.stdout
    data = json.loads(run("lookup", "T7", "--url", lookup_url(api), "-f", "json").stdout)
    assert data["failed"] is False and data["diagnosis"] is None


@pytest.mark.parametrize("fmt", ["csv", "markdown", "jsonl"])
def test_lookup_other_formats(api: ApiServer, fmt: str) -> None:
    api.script(Reply(200, LOOKUP_RECORD))
    result = run("lookup", "T42", "--url", lookup_url(api), "--format", fmt)
    assert result.exit_code == 0
    assert "balance.insufficient_funds" in result.stdout
    assert CARD not in result.stdout


def test_lookup_not_found_exits_4(api: ApiServer) -> None:
    api.script(Reply(404, {"error": "no such transaction"}))
    result = run("lookup", "NOPE", "--url", lookup_url(api))
    assert result.exit_code == ExitCode.API
    assert result.stderr.splitlines()[0] == (
        f"txdiag: error: transaction NOPE not found (GET {api.url('/v1/transactions/NOPE')} "
        "-> 404 Not Found)")
    assert len(api.requests) == 1
    as_json = run("lookup", "NOPE", "--url", lookup_url(api), "--format", "json")
    assert json.loads(as_json.stderr)["exit_code"] == 4


def test_lookup_of_an_envelope_without_a_transaction_exits_4(api: ApiServer) -> None:
    api.script(Reply(200, {"code": 40004, "msg": "order not exist", "data": None}))
    result = run("lookup", "T9", "--url", lookup_url(api))
    assert result.exit_code == ExitCode.API
    assert "no transaction T9 in the response" in result.stderr


def test_lookup_of_an_unknown_shape_exits_4(api: ApiServer) -> None:
    api.script(Reply(200, {"foo": "bar", "baz": 1}))
    result = run("lookup", "T9", "--url", lookup_url(api))
    assert result.exit_code == ExitCode.API
    assert "none of the known transaction fields" in result.stderr


def test_lookup_needs_a_url_with_a_placeholder(api: ApiServer) -> None:
    missing = run("lookup", "T1")
    assert missing.exit_code == ExitCode.USAGE
    assert "no lookup URL" in missing.stderr
    no_placeholder = run("lookup", "T1", "--url", api.url("/v1/transactions/"))
    assert no_placeholder.exit_code == ExitCode.USAGE
    assert api.requests == []


def test_lookup_encodes_the_id_into_its_path_segment(api: ApiServer) -> None:
    api.script(Reply(200, {**LOOKUP_RECORD, "txn_id": "A/../B?c"}))
    result = run("lookup", "A/../B?c", "--url", lookup_url(api))
    assert result.exit_code == 0, result.stderr
    assert api.requests[0].path == "/v1/transactions/A%2F..%2FB%3Fc"


def test_lookup_through_an_api_profile(api: ApiServer, token: str, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[api.gw]\nlookup_url = "{lookup_url(api)}"\ntoken_env = "PAY_API_TOKEN"\n'
                      f'records_path = "list.rows"\n', encoding="utf-8")
    api.script(Reply(200, {"data": LOOKUP_RECORD}))
    result = run("lookup", "T42", "--api", "gw", "--config", str(config), "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["diagnosis"]["category"] == "balance"
    assert api.requests[0].headers["authorization"] == f"Bearer {token}"
    assert token not in result.stdout + result.stderr


def test_lookup_never_shows_the_token_on_errors(api: ApiServer, token: str) -> None:
    api.script(Reply(401, {"error": "unauthorized"}))
    for fmt in ("table", "json"):
        result = run("lookup", "T1", "--url", lookup_url(api) + f"?sig={QUERY_SECRET}",
                     "--token-env", "PAY_API_TOKEN", "--format", fmt, "--no-mask")
        assert result.exit_code == ExitCode.API
        assert "401 Unauthorized" in result.stderr
        assert token not in result.stdout + result.stderr
        assert QUERY_SECRET not in result.stdout + result.stderr


def test_lookup_says_when_the_api_answers_with_another_transaction(api: ApiServer) -> None:
    api.script(Reply(200, {**LOOKUP_RECORD, "txn_id": "T43"}))
    result = run("lookup", "T42", "--url", lookup_url(api))
    assert result.exit_code == 0
    assert "answered with transaction T43, not T42" in result.stderr


def test_lookup_never_interprets_api_text(api: ApiServer) -> None:
    api.script(Reply(200, {**LOOKUP_RECORD, "message": "[bold red]HACK[/] \x1b[2J\x1b]8;;x\x07"}))
    result = run("lookup", "T42", "--url", lookup_url(api))
    assert result.exit_code == 0
    assert "[bold red]HACK[/]" in result.stdout
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout


def test_lookup_retries_a_503_and_says_so(api: ApiServer) -> None:
    api.script(Reply(503, "busy"), Reply(200, LOOKUP_RECORD))
    result = run("lookup", "T42", "--url", lookup_url(api))
    assert result.exit_code == 0
    assert "503 Service Unavailable; retry 1 of 3" in result.stderr
    assert len(api.requests) == 2


def test_lookup_help_has_examples() -> None:
    result = run("lookup", "--help")
    assert result.exit_code == 0
    assert "Examples:" in result.stdout and "{txn_id}" in result.stdout


@pytest.mark.parametrize("fmt", ["json", "table", "markdown"])
def test_lookup_masks_numbers_and_keys_in_the_record(api: ApiServer, fmt: str) -> None:
    # Mis-mapped fields: a card in amount, a phone in installments and http_status, a card as a
    # key (issue 13).
    api.script(Reply(200, {"txn_id": "T42", "status": "failed", "code": "51",
                           "amount": CARD, "installments": 13812345678,
                           "http_status": 13812345678, CARD: "seen"}))
    result = run("lookup", "T42", "--url", lookup_url(api), "--format", fmt)
    assert result.exit_code == 0, result.stderr
    assert CARD not in result.stdout and "13812345678" not in result.stdout
    if fmt == "json":
        record = json.loads(result.stdout)["record"]
        assert record["amount"] == "622202*********0128"


@pytest.mark.parametrize("fmt", ["json", "table", "markdown"])
def test_check_stopped_by_max_pages_is_not_complete(api: ApiServer, fmt: str) -> None:
    api.script(Reply(200, {"items": failed_records(1, 2), "next": "p2"}),
               Reply(200, {"items": failed_records(3, 2), "next": "p3"}))
    result = run("check", api.url("/tx"), "--next-path", "next", "--max-pages", "1",
                 "--max-rate", "failure=100", "--format", fmt)
    assert result.exit_code == ExitCode.OK, result.stderr
    if fmt == "json":
        data = json.loads(result.stdout)
        assert data["complete"] is False and data["totals"]["records"] == 2
    else:
        assert "PARTIAL INPUT (stopped after 1 pages (--max-pages), more remain)" in result.stdout
