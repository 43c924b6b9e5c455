"""The field table: one entry per normalized record field, the one place a field is defined.

Each :class:`FieldSpec` says what the field is called, the log names it is read from out of the
box (a profile or ``--map`` replaces them), how its value is converted, how it is masked in
output, whether it decides a record's diagnosis, and how it appears in rows and in the JSON
schema. Derived from it: the default names (:data:`txdiag.normalize.DEFAULT_ALIASES`), the
fields a profile or ``--map`` may name (:class:`txdiag.config.Profile`), the record part of
every JSON row (:func:`txdiag.render.common.record_dict`, ``diagnose`` and ``lookup``), the
rows written straight from observations (:class:`txdiag.render.writers.FindingRows`), the
Parquet columns of ``--engine spark``, the record properties of ``diagnose.schema.json``
(:func:`record_schema`) and the field tables of docs/formats.md and docs/output.md
(:data:`DOCS`).

The typed shapes of the hot path (:class:`~txdiag.normalize.Extracted`, the
:class:`~txdiag.models.Record` model) keep their attributes literal, for the type checker;
tests hold them to this table.

This module imports nothing from txdiag: everything else reads it.

    python -m txdiag.fields formats   # the "Field names" table of docs/formats.md
    python -m txdiag.fields output    # the record fields' table of docs/output.md
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = [
    "FIELDS",
    "DECIDING_FIELDS",
    "FieldSpec",
    "Kind",
    "Masking",
    "columns_markdown",
    "field_names",
    "fields_markdown",
    "output_columns",
    "record_columns",
    "record_schema",
]

Kind = Literal["text", "number", "integer", "decimal", "timestamp", "codes"]
"""How a value is converted (:mod:`txdiag.normalize`): ``text`` stripped, None when empty or
not a scalar; ``number`` a finite float; ``integer`` a whole number; ``decimal`` an exact
``Decimal`` (written as text); ``timestamp`` an aware time (written in ISO 8601, its original
text beside it in ``<name>_raw`` when it cannot be read); ``codes`` every code present, the
most specific first (written as the first; ``lookup`` also writes all as ``<name>s``)."""

Masking = Literal["text", "number"]
"""How a value is masked in output (unless ``--no-mask``): ``text`` through the personal-data
masker (the row writer skips it only where a pre-check proves it would change nothing);
``number`` stays a number unless its text is personal data (a card number in a mis-mapped
field), which is then written masked, as text. A parsed timestamp is never masked (it is
txdiag's own ISO text); its raw text is masked as ``text``."""


@dataclass(frozen=True)
class FieldSpec:
    """One normalized field."""

    name: str
    kind: Kind
    aliases: tuple[str, ...]
    """The log names (dotted paths into nested objects) it is read from out of the box, the
    most specific first: for ``codes`` every name present is kept, for the others the first
    wins."""
    meaning: str
    """What it holds, for the docs."""
    decides: bool = False
    """Whether it decides a record's outcome (success or failure, and the diagnosis): the
    values that make a fold's key. The other fields are the record's own (its id, its time)."""
    verdict: bool = False
    """Whether it decides whether the record failed: a JSON key feeding it given twice is not
    believed either way (:class:`~txdiag.readers.KeyGuard`)."""
    per_record: bool = False
    """Whether, deciding, it may still differ between the records sharing an outcome (a
    message, when a code or status decides): a row then writes the record's own value."""

    @property
    def masking(self) -> Masking:
        """How its value is masked in output (:data:`Masking`): numbers as numbers."""
        return "number" if self.kind in ("number", "integer") else "text"

    @property
    def companion(self) -> str | None:
        """The record's second attribute for the field, written beside it: a timestamp's
        original text (``<name>_raw``, when it could not be read), every code (``<name>s``:
        ``lookup`` writes them)."""
        return {"timestamp": f"{self.name}_raw", "codes": f"{self.name}s"}.get(self.kind)

    @property
    def json_type(self) -> str:
        """The JSON type of its value in rows (always nullable)."""
        return {"number": "number", "integer": "integer"}.get(self.kind, "string")


FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(
        "txn_id", "text",
        ("txn_id", "transaction_id", "id", "order_id", "out_trade_no", "trade_no",
         "txnId", "transactionId", "orderId", "orderNo", "order_no", "payment_id", "paymentId",
         "txn", "trade_id"),
        "transaction / order id"),
    FieldSpec(
        "timestamp", "timestamp",
        ("ts", "time", "timestamp", "created_at", "@timestamp", "createdAt", "txn_time",
         "txnTime", "datetime", "gmt_create", "gmt_payment", "date"),
        "ISO 8601 with zone"),
    FieldSpec(
        "status", "text",
        ("status", "state", "trade_status", "tradeStatus", "txn_status", "pay_status",
         "trade_state", "result"),
        "the record's status as logged", decides=True, verdict=True),
    FieldSpec(
        "channel", "text",
        ("channel", "pay_channel", "payChannel", "gateway", "provider", "channel_id"),
        "canonical channel id", decides=True),
    FieldSpec(
        "error_code", "codes",
        ("sub_code", "decline_code", "err_code", "errcode", "error_code", "errorCode",
         "resp_code", "respCode", "response_code", "responseCode", "origRespCode",
         "reason_code", "result_code", "return_code", "code",
         "error.decline_code", "error.sub_code", "error.code"),
        "the most specific error code", decides=True, verdict=True),
    FieldSpec(
        "error_message", "text",
        ("sub_msg", "err_code_des", "err_msg", "errmsg", "error_message", "errorMessage",
         "error_description", "respMsg", "resp_msg", "origRespMsg", "return_msg", "reason",
         "message", "msg", "error", "error.message", "error.msg"),
        "the most specific error message", decides=True, per_record=True),
    FieldSpec(
        "http_status", "integer",
        ("http_status", "status_code", "httpStatus", "statusCode", "http_code"),
        "the HTTP status of the call", decides=True, verdict=True),
    FieldSpec(
        "latency_ms", "number",
        ("latency_ms", "latency", "duration_ms", "elapsed_ms", "cost_ms", "response_time_ms",
         "took_ms", "rt"),
        "the call's duration in milliseconds"),
    FieldSpec(
        "amount", "decimal",
        ("amount", "total_amount", "amt", "txnAmt", "total_fee", "amount.total", "price"),
        "decimal as text (never a float)"),
    FieldSpec(
        "currency", "text",
        ("currency", "currency_code", "currencyCode", "fee_type", "currencyType",
         "amount.currency"),
        "as logged"),
    FieldSpec(
        "installments", "integer",
        ("installments", "installment", "instalments", "periods", "term", "installment_count",
         "fq_num", "hb_fq_num"),
        "number of installments"),
    FieldSpec(
        "user_id", "text",
        ("user_id", "uid", "userId", "customer_id", "buyer_id", "member_id", "openid"),
        "as logged"),
)
"""Every field, in the order rows write them."""


def field_names(fields: Iterable[FieldSpec] | None = None) -> tuple[str, ...]:
    """The names of the fields (of the table when none are given), in order."""
    return tuple(spec.name for spec in (FIELDS if fields is None else fields))


DECIDING_FIELDS = frozenset(spec.name for spec in FIELDS if spec.decides)
"""The fields that decide a record's outcome."""


def output_columns(spec: FieldSpec, *, all_codes: bool = False) -> tuple[str, ...]:
    """The keys a field writes in a JSON row: a timestamp also its :attr:`~FieldSpec.companion`,
    codes too when ``all_codes``."""
    if spec.companion is not None and (spec.kind == "timestamp" or all_codes):
        return (spec.name, spec.companion)
    return (spec.name,)


def record_columns(fields: Iterable[FieldSpec] | None = None, *,
                   all_codes: bool = False) -> tuple[str, ...]:
    """The keys of a row's record part, in order (:func:`output_columns` of every field)."""
    return tuple(column for spec in (FIELDS if fields is None else fields)
                 for column in output_columns(spec, all_codes=all_codes))


def record_schema(fields: Iterable[FieldSpec] | None = None) -> dict[str, Any]:
    """The JSON schema properties of a row's record fields (``diagnose.schema.json``'s
    ``finding``; a test holds the shipped file to it)."""
    properties: dict[str, Any] = {}
    for spec in FIELDS if fields is None else fields:
        node: dict[str, Any] = {"type": [spec.json_type, "null"]}
        if spec.kind == "timestamp":
            node.update({"description": "ISO 8601 with zone, or null", "format": "date-time"})
        elif spec.kind == "decimal":
            node["description"] = "decimal as text"
        properties[spec.name] = node
        for companion in output_columns(spec)[1:]:  # the timestamp's original text
            properties[companion] = {"type": ["string", "null"]}
    return properties


_TYPE_WORDS: Mapping[Kind, str] = {
    "text": "text", "number": "number", "integer": "whole number", "decimal": "decimal",
    "timestamp": "time", "codes": "codes (all kept)",
}


_MASKING_WORDS: Mapping[Masking, str] = {"text": "yes", "number": "when personal data"}


def fields_markdown(fields: Iterable[FieldSpec] | None = None) -> str:
    """The "Field names" table of docs/formats.md: how each field is read, and from where."""
    lines = ["| field | read as | decides | masked | source names (most specific first) |",
             "|---|---|---|---|---|"]
    for spec in FIELDS if fields is None else fields:
        names = ", ".join(f"`{alias}`" for alias in spec.aliases)
        decides = "yes" if spec.decides else ""
        masked = "its raw text" if spec.kind == "timestamp" else _MASKING_WORDS[spec.masking]
        lines.append(f"| `{spec.name}` | {_TYPE_WORDS[spec.kind]} | {decides} | {masked} | "
                     f"{names} |")
    return "\n".join(lines) + "\n"


def columns_markdown(fields: Iterable[FieldSpec] | None = None) -> str:
    """The record part of the ``diagnose --format jsonl`` table of docs/output.md."""
    lines = ["| field | type | meaning |", "|---|---|---|"]
    for spec in FIELDS if fields is None else fields:
        lines.append(f"| `{spec.name}` | {spec.json_type} or null | {spec.meaning} |")
        if spec.kind == "timestamp":
            lines.append(f"| `{spec.companion}` | string or null | the original text, when it "
                         "could not be parsed |")
    return "\n".join(lines) + "\n"


DOCS = {"formats": fields_markdown, "output": columns_markdown}
"""The generated tables, by the docs page holding them."""


if __name__ == "__main__":
    import sys

    print(DOCS[sys.argv[1] if len(sys.argv) > 1 else "formats"](), end="")
