"""``lookup``: fetch one transaction from the payment API and explain it to a support agent."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer

from txdiag.cli import options as opt
from txdiag.cli.base import app, examples, json_errors
from txdiag.cli.common import InputSettings
from txdiag.cli.configured import load_rules, resolve_lang
from txdiag.cli.terminal import Terminal
from txdiag.errors import ApiError, UsageError
from txdiag.render import OutputFormat

if TYPE_CHECKING:
    from txdiag.http.options import HttpOptions
    from txdiag.models import Diagnosis, Record
    from txdiag.pipeline import Pipeline
    from txdiag.render.common import Presenter

LookupUrl = Annotated[
    str | None,
    typer.Option("--url", metavar="TEMPLATE", show_default=False,
                 help="URL of one transaction with {txn_id} where the id goes \\[default: the "
                 "API profile's lookup_url]."),
]
RAW_FIELDS_SHOWN = 40
RAW_VALUE_WIDTH = 200
NOT_FOUND_STATUSES = frozenset({404, 410})
CSV_RECORD_KEYS = ("txn_id", "status", "channel", "error_code", "error_message")
CSV_DIAGNOSIS_KEYS = ("category", "reason", "retryable", "hint", "action")
MARKDOWN_DIAGNOSIS_KEYS = ("category", "reason", "title", "retryable", "hint", "action")


@dataclasses.dataclass(frozen=True)
class LookupResult:
    """What the API said about one transaction, and what txdiag makes of it."""

    query: str
    url: str
    """The URL requested, secrets removed."""
    record: Record
    diagnosis: Diagnosis | None
    """None when the transaction did not fail."""
    raw: dict[str, Any]


@app.command(epilog=examples(
    "txdiag lookup T20261111000000001 --url 'https://pay.example.com/v1/transactions/{txn_id}'",
    "txdiag lookup T20261111000000001 --api gateway --lang zh",
    "txdiag lookup T20261111000000001 --api gateway --format json | jq .diagnosis.hint",
))
def lookup(
    txn_id: str = typer.Argument(..., metavar="TXN_ID", help="The transaction (order) id."),
    url: LookupUrl = None,
    api: opt.Api = None,
    fmt: opt.Format = OutputFormat.TABLE,
    lang: opt.Lang = None,
    headers: opt.Headers = None,
    token_env: opt.TokenEnv = None,
    records_path: opt.RecordsPath = None,
    timeout: opt.Timeout = None,
    retries: opt.Retries = None,
    ca_bundle: opt.CaBundle = None,
    no_proxy: opt.NoProxy = False,
    profile: opt.Profile = None,
    field_maps: opt.FieldMaps = None,
    assume_tz: opt.AssumeTz = None,
    rules: opt.Rules = None,
    config: opt.ConfigPath = None,
    no_mask: opt.NoMask = False,
) -> None:
    """Fetch one transaction from the API: status, diagnosis, what to tell the customer."""
    json_errors(fmt is OutputFormat.JSON)
    from txdiag.cli.session import http_options, resolve_api
    from txdiag.config import build_field_map, load_config, resolve_profile
    from txdiag.http.lookup import expand_template
    from txdiag.pipeline import Pipeline
    from txdiag.render.common import Presenter
    from txdiag.timeparse import parse_zone

    terminal = Terminal.from_env(mask=not no_mask)
    settings, config_file = load_config(config)
    api_profile = resolve_api(api, settings)
    template = url or (api_profile.lookup_url if api_profile else None)
    if not template:
        raise UsageError(
            "no lookup URL",
            hint="pass --url 'https://host/v1/transactions/{txn_id}', or --api NAME with "
            "lookup_url in its [api.NAME] section",
        )
    target = expand_template(template, txn_id)
    # The API profile's records_path describes its list endpoint, not the lookup response:
    # only --records-path applies here.
    http = dataclasses.replace(
        http_options(InputSettings(headers=tuple(headers or ()), token_env=token_env,
                                   timeout=timeout, retries=retries, ca_bundle=ca_bundle,
                                   no_proxy=no_proxy),
                     api_profile),
        records_path=records_path,
        notify=lambda message: terminal.say(terminal.safe(message)),
    )
    defaults = settings.defaults
    chosen = resolve_profile(
        profile or (api_profile.profile if api_profile else None) or defaults.profile, settings
    )
    pipeline = Pipeline(
        load_rules(settings, config_file, rules or ()),
        field_map=build_field_map(chosen, field_maps or ()),
        assume_tz=parse_zone(assume_tz or defaults.assume_tz or "UTC"),
        constants=chosen.constants if chosen else None,
        status_values=chosen.status_values() if chosen else None,
    )
    presenter = Presenter(mask=not no_mask, lang=resolve_lang(lang, settings))
    terminal.say_if_unmasked()

    result = fetch(pipeline, txn_id.strip(), target, http, terminal)
    write_lookup(fmt, terminal.stdout, result, presenter, color=terminal.color)


def fetch(pipeline: Pipeline, txn_id: str, target: str, http: HttpOptions,
          terminal: Terminal) -> LookupResult:
    """GET the transaction, find it in the response, diagnose it; ApiError when impossible."""
    from txdiag.http.client import HttpStatusError, get_json
    from txdiag.http.lookup import find_transaction
    from txdiag.http.redact import Secrets
    from txdiag.models import SourceRef
    from txdiag.pipeline import Observation

    try:
        page = get_json(target, http)
    except HttpStatusError as exc:
        if exc.status in NOT_FOUND_STATUSES:
            raise ApiError(f"transaction {txn_id} not found ({exc.message})",
                           hint="check the id; if it is right, check the --url template or the "
                           "API profile's lookup_url") from None
        raise
    shown = Secrets(http).url(target)
    status = f"{page.status} {page.reason}".strip()

    def id_of(record: dict[str, Any]) -> str | None:
        fields = pipeline.normalizer.extract(record)
        return fields.txn_id if fields is not None else None

    record = find_transaction(page.document, txn_id, records_path=http.records_path, id_of=id_of)
    if record is None:
        raise ApiError(f"GET {shown} -> {status}: no transaction {txn_id} in the response",
                       hint="name where it is with --records-path, e.g. data.transaction")
    event = pipeline.observe(record, shown, 1)
    if not isinstance(event, Observation):
        raise ApiError(f"GET {shown} -> {status}: the response has none of the known "
                       "transaction fields",
                       hint="map them with --map FIELD=PATH or a --profile (docs/formats.md)")
    found_id = event.fields.txn_id
    if found_id is not None and found_id != txn_id:
        terminal.say(terminal.safe(f"note: the API answered with transaction {found_id}, "
                                   f"not {txn_id}"))
    return LookupResult(
        query=txn_id,
        url=shown,
        record=pipeline.normalizer.to_record(event.fields, SourceRef(file=shown, line=1)),
        diagnosis=event.diagnosis,
        raw=record,
    )


# -- rendering ----------------------------------------------------------------------------------

LABELS = {
    "en": {"status": "Status", "failed": "failed", "ok": "no failure",
           "time": "Time", "channel": "Channel", "amount": "Amount", "installments": "installments",
           "code": "Code", "message": "Message", "http": "HTTP status", "latency": "Latency",
           "user": "User", "diagnosis": "Diagnosis", "no_failure": "the transaction did not fail: "
           "nothing to diagnose", "raw": "Raw fields", "more": "more fields (--format json "
           "has them all)", "title": "Transaction"},
    "zh": {"status": "状态", "failed": "失败", "ok": "未失败",
           "time": "时间", "channel": "渠道", "amount": "金额", "installments": "期",
           "code": "错误码", "message": "错误信息", "http": "HTTP 状态", "latency": "耗时",
           "user": "用户", "diagnosis": "诊断", "no_failure": "交易未失败：无需诊断",
           "raw": "原始字段", "more": "个字段未显示（--format json 可查看全部）", "title": "交易"},
}


def write_lookup(fmt: OutputFormat, out: TextIO, result: LookupResult, p: Presenter, *,
                 width: int | None = None, color: bool = False) -> None:
    if fmt is OutputFormat.TABLE:
        render_lookup(out, result, p, width=width, color=color)
        return
    from txdiag.render.data import DataResult, Table, markdown_cell, write_data

    data = lookup_dict(result, p)
    diagnosis = data["diagnosis"] or {}
    fields = [(key, value) for key, value in data["record"].items()
              if value not in (None, []) and key != "error_codes"]
    fields += [(key, diagnosis[key]) for key in MARKDOWN_DIAGNOSIS_KEYS if diagnosis]
    write_data(fmt, out, DataResult(
        document=data,
        csv=Table((*CSV_RECORD_KEYS, *CSV_DIAGNOSIS_KEYS),
                  [[*(data["record"][k] for k in CSV_RECORD_KEYS),
                    *(diagnosis.get(k) for k in CSV_DIAGNOSIS_KEYS)]]),
        markdown=[f"### {markdown_cell(p.data(result.query))}",
                  Table(("field", "value"), fields)],
    ))


def _latency(value: float | str | None) -> str:
    if value is None:
        return ""
    return f"{value:g} ms" if isinstance(value, float | int) else f"{value} ms"


def lookup_dict(result: LookupResult, p: Presenter) -> dict[str, Any]:
    """The ``lookup --format json`` object (docs/api.md)."""
    from txdiag.render.common import SCHEMA_VERSION, diagnosis_dict, record_dict

    return {
        "schema_version": SCHEMA_VERSION,
        "command": "lookup",
        "lang": p.lang,
        "query": p.data(result.query),
        "url": p.data(result.url),
        "failed": result.diagnosis is not None,
        "record": record_dict(result.record, p, all_codes=True),
        "diagnosis": diagnosis_dict(result.diagnosis, p) if result.diagnosis else None,
        "raw": _masked_raw(result.raw, p),
    }


def _masked_raw(raw: dict[str, Any], p: Presenter) -> Any:
    from txdiag.safety import mask_value

    # mask_value knows keys (card_no, mobile, sign...) that free text cannot reveal.
    return mask_value(raw) if p.mask else raw


def flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """``("error.code", "card_declined")`` pairs; lists stay whole, as compact JSON."""
    if isinstance(value, Mapping):
        for key, inner in value.items():
            yield from flatten(inner, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list):
        yield prefix, json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    else:
        yield prefix, "null" if value is None else str(value)


def render_lookup(out: TextIO, result: LookupResult, p: Presenter, *, width: int | None = None,
                  color: bool = False) -> None:
    """The support agent's panel: the transaction, the diagnosis, then the raw fields."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.table import Table
    from rich.text import Text

    from txdiag.models import format_time
    from txdiag.render.console import LABELS as EXPLAIN_LABELS
    from txdiag.render.console import RETRY_TEXT, category_text, make_console
    from txdiag.render.writers import shorten

    console = make_console(out, width=width, color=color)
    lang = p.lang
    labels, explain = LABELS[lang], EXPLAIN_LABELS[lang]
    r, d = result.record, result.diagnosis

    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold", no_wrap=True)
    facts.add_column(overflow="fold")
    verdict_word = labels["failed"] if d else labels["ok"]
    logged = p.text(r.status)
    state = Text(logged)
    if logged.lower() != verdict_word.lower():
        # "USERPAYING" alone does not say that txdiag counts it as a failure.
        state.append("  " if logged else "")
        state.append(verdict_word, style="bold red" if d else "bold green")
    facts.add_row(labels["status"], state)
    amount = " ".join(x for x in (p.text(str(r.amount)) if r.amount is not None else "",
                                  p.text(r.currency)) if x)
    if r.installments:
        amount += f", {p.number(r.installments)} {labels['installments']}"
    codes = ", ".join(f"{p.text(c.value)} ({p.text(c.field)})" for c in r.error_codes)
    for label, value in (
        (labels["time"], format_time(r.timestamp) or p.text(r.timestamp_raw)),
        (labels["channel"], p.text(r.channel)),
        (labels["amount"], amount),
        (labels["code"], codes),
        (labels["message"], p.text(r.error_message)),
        (labels["http"], str(p.number(r.http_status)) if r.http_status is not None else ""),
        (labels["latency"], _latency(p.number(r.latency_ms))),
        (labels["user"], p.text(r.user_id)),
    ):
        if value:
            facts.add_row(label, Text(value))

    verdict = Table.grid(padding=(0, 2))
    verdict.add_column(style="bold", no_wrap=True)
    verdict.add_column(overflow="fold")
    if d is None:
        verdict.add_row(labels["diagnosis"], Text(labels["no_failure"], style="green"))
    else:
        ev = d.evidence
        verdict.add_row(explain["category"], category_text(d.category.value))
        verdict.add_row(explain["reason"], Text(f"{d.reason} — {p.text(d.title.get(lang))}"))
        verdict.add_row(explain["retryable"],
                        Text(f"{d.retryable.value} — {RETRY_TEXT[lang][d.retryable.value]}"))
        verdict.add_row(explain["hint"], Text(p.text(d.hint.get(lang)), style="green"))
        verdict.add_row(explain["action"], Text(p.text(d.action.get(lang))))
        evidence = (f"{ev.rule_id} ({ev.level}): {ev.field} = {p.text(ev.value)}" if ev.rule_id
                    else explain["no_match"])
        verdict.add_row(explain["evidence"], Text(evidence, style="dim"))

    raw = Table.grid(padding=(0, 2))
    raw.add_column(style="dim", no_wrap=True)
    raw.add_column(overflow="fold")
    pairs = list(flatten(_masked_raw(result.raw, p)))
    for key, value in pairs[:RAW_FIELDS_SHOWN]:
        raw.add_row(Text(p.text(key)), Text(shorten(p.text(value), RAW_VALUE_WIDTH)))
    if len(pairs) > RAW_FIELDS_SHOWN:
        raw.add_row(Text(""), Text(f"… {len(pairs) - RAW_FIELDS_SHOWN} {labels['more']}",
                                   style="dim"))

    title = Text(f"{labels['title']} ")
    title.append(p.text(r.txn_id or result.query), style="bold")
    body = Group(facts, Text(""), verdict, Text(""), Text(labels["raw"], style="bold"), raw)
    console.print(Panel(body, title=title, title_align="left", expand=False))
    console.print(Text(p.text(result.url), style="dim"))
