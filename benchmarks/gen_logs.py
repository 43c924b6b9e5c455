#!/usr/bin/env python3
"""Seeded generator of realistic installment-payment logs (JSONL, CSV, logfmt; optional gzip).

The mix imitates real traffic: several channels, each logging its own field names and codes,
Chinese and English messages, stack-trace style network errors, HTTP 5xx from gateways, some
personal data inside messages (test card and phone numbers), and optionally an incident burst of
system faults like a promotion-day outage.

    python benchmarks/gen_logs.py --records 1000000 --failure-rate 0.6 > big.jsonl
    python benchmarks/gen_logs.py --records 300000 --distinct-messages > distinct.jsonl
    python benchmarks/gen_logs.py --records 3000 --failure-rate 0.35 --incident \
        --format csv --out examples/transactions.csv
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import random
import sys
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

START = datetime(2026, 11, 11, 0, 0, 0, tzinfo=UTC)

# (weight, channel, code fields, message, extra) per failure kind. Codes are the channels' real
# ones; messages are what their SDKs and our own services log.
FAILURES: list[tuple[int, str, dict[str, Any]]] = [
    (9, "iso8583", {"resp_code": "51", "message": "Not sufficient funds"}),
    (4, "iso8583", {"resp_code": "05", "message": "Do not honour"}),
    (3, "iso8583", {"resp_code": "54", "message": "Expired card"}),
    (2, "iso8583", {"resp_code": "14", "message": "Invalid card number"}),
    (2, "iso8583", {"resp_code": "55", "message": "Incorrect PIN"}),
    (2, "iso8583", {"resp_code": "61", "message": "Exceeds withdrawal amount limit"}),
    (3, "iso8583", {"resp_code": "91", "message": "Issuer or switch inoperative"}),
    (2, "iso8583", {"resp_code": "96", "message": "System malfunction"}),
    (2, "iso8583", {"resp_code": "59", "message": "Suspected fraud"}),
    (5, "wechatpay", {"return_code": "SUCCESS", "result_code": "FAIL", "err_code": "NOTENOUGH",
                      "err_code_des": "用户帐号余额不足"}),
    (3, "wechatpay", {"return_code": "SUCCESS", "result_code": "FAIL",
                      "err_code": "SYSTEMERROR", "err_code_des": "系统错误"}),
    (2, "wechatpay", {"return_code": "SUCCESS", "result_code": "FAIL", "err_code": "BANKERROR",
                      "err_code_des": "银行系统异常"}),
    (2, "wechatpay", {"return_code": "SUCCESS", "result_code": "FAIL",
                      "err_code": "USERPAYING", "err_code_des": "需要用户输入支付密码"}),
    (1, "wechatpay", {"return_code": "SUCCESS", "result_code": "FAIL",
                      "err_code": "ORDERPAID", "err_code_des": "商户订单已支付"}),
    (5, "alipay", {"code": "40004", "msg": "Business Failed",
                   "sub_code": "ACQ.BUYER_BALANCE_NOT_ENOUGH", "sub_msg": "买家余额不足"}),
    (3, "alipay", {"code": "20000", "msg": "Service Currently Unavailable",
                   "sub_code": "ACQ.SYSTEM_ERROR", "sub_msg": "系统错误"}),
    (2, "alipay", {"code": "40004", "msg": "Business Failed",
                   "sub_code": "ACQ.PAYMENT_REQUEST_HAS_RISK", "sub_msg": "支付存在风险"}),
    (1, "alipay", {"code": "40004", "msg": "Business Failed",
                   "sub_code": "ACQ.TRADE_HAS_SUCCESS", "sub_msg": "交易已被支付"}),
    (4, "stripe", {"error": {"type": "card_error", "code": "card_declined",
                             "decline_code": "insufficient_funds",
                             "message": "Your card has insufficient funds."}}),
    (2, "stripe", {"error": {"type": "card_error", "code": "expired_card",
                             "message": "Your card has expired."}}),
    (2, "stripe", {"error": {"type": "card_error", "code": "card_declined",
                             "decline_code": "fraudulent", "message": "Your card was declined."}}),
    (1, "stripe", {"error": {"type": "card_error", "code": "incorrect_cvc",
                             "message": "Your card's security code is incorrect."}}),
    (6, "baitiao", {"err_msg": "可用额度不足，请调整金额或分期期数"}),
    (4, "baitiao", {"err_msg": "不符合分期条件"}),
    (3, "baitiao", {"err_msg": "风控拦截：交易存在风险"}),
    (3, "baitiao", {"err_msg": "预留手机号{phone}与银行预留不一致"}),
    (2, "baitiao", {"err_msg": "银行卡{card}已冻结"}),
    (2, "baitiao", {"err_msg": "订单提交超时，请稍后重试"}),
    (2, "baitiao", {"err_msg": "系统繁忙，请稍后再试"}),
    (3, "unionpay", {"respCode": "03", "respMsg": "交易通讯超时，请发起查询交易"}),
    (2, "unionpay", {"respCode": "06", "respMsg": "系统繁忙，请稍后再试"}),
    (3, "bank-gw", {"error": "java.net.SocketTimeoutException: Read timed out",
                    "latency_ms": 30011}),
    (2, "bank-gw", {"error": "java.net.ConnectException: Connection refused (Connection refused)"}),
    (2, "bank-gw", {"error": "read tcp 10.0.3.7:52144->10.0.9.2:443: read: "
                             "connection reset by peer"}),
    (2, "bank-gw", {"http_status": 503, "msg": "Service Unavailable"}),
    (1, "bank-gw", {"http_status": 504, "msg": "upstream timed out (110: Connection timed out)"}),
    (1, "bank-gw", {"error": "context deadline exceeded"}),
    (1, "baitiao", {"err_msg": "ERR_4711 unexpected state in settlement worker"}),
]

INCIDENT: list[tuple[int, str, dict[str, Any]]] = [
    (5, "bank-gw", {"http_status": 503, "msg": "Service Unavailable"}),
    (3, "baitiao", {"err_msg": "系统繁忙，请稍后再试"}),
    (2, "wechatpay", {"return_code": "SUCCESS", "result_code": "FAIL",
                      "err_code": "SYSTEMERROR", "err_code_des": "系统错误"}),
]

SUCCESS: dict[str, dict[str, Any]] = {
    "iso8583": {"resp_code": "00", "message": "Approved"},
    "wechatpay": {"return_code": "SUCCESS", "result_code": "SUCCESS"},
    "alipay": {"code": "10000", "msg": "Success", "trade_status": "TRADE_SUCCESS"},
    "stripe": {},
    "baitiao": {},
    "unionpay": {"respCode": "00", "respMsg": "成功[0000000]"},
    "bank-gw": {"http_status": 200},
}


def luhn_complete(prefix: str, rng: random.Random, length: int) -> str:
    digits = prefix + "".join(str(rng.randrange(10)) for _ in range(length - len(prefix) - 1))
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 0:
            value *= 2
            value -= 9 if value > 9 else 0
        total += value
    return digits + str((10 - total % 10) % 10)


MESSAGE_FIELDS = ("message", "msg", "sub_msg", "err_code_des", "err_msg", "respMsg", "error")
"""Where a record's message text stands (``error`` as text, or the ``message`` inside it)."""


def make_distinct(record: dict[str, Any], index: int) -> None:
    """Put an order number and a trace id inside every message of the record, as real
    gateways log them: no two messages of the data set are then the same text. (The trace
    id is made from the index, so the other fields are those of the same seed without.)"""
    trace = (index * 0x9E3779B97F4A7C15 + 0x7F4A7C15) % (1 << 64)
    tail = f" (order O{index:012d}, trace {trace:016x})"
    for name in MESSAGE_FIELDS:
        value = record.get(name)
        if isinstance(value, str):
            record[name] = value + tail
        elif isinstance(value, dict) and isinstance(value.get("message"), str):
            record[name] = {**value, "message": value["message"] + tail}


def make_record(rng: random.Random, index: int, when: datetime, failed: bool,
                incident: bool) -> dict[str, Any]:
    table = INCIDENT if incident else FAILURES
    if failed:
        _, channel, fields = rng.choices(table, weights=[w for w, _, _ in table])[0]
    else:
        channel = rng.choice(list(SUCCESS))
        fields = SUCCESS[channel]
    record: dict[str, Any] = {
        "ts": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "txn_id": f"T{when:%Y%m%d}{index:09d}",
        "channel": channel,
        "status": ("failed" if failed else "success"),
        "amount": f"{rng.choice([99, 199, 1299, 3999, 8888, 45])}.{rng.randrange(100):02d}",
        "currency": "CNY" if channel != "stripe" else "USD",
        "installments": rng.choice([1, 3, 6, 12, 24]),
        "user_id": f"u{rng.randrange(10**6):06d}",
        "latency_ms": rng.randint(40, 900),
    }
    if channel == "wechatpay":
        record["out_trade_no"] = record.pop("txn_id")
        record.pop("status")
    for key, value in fields.items():
        if isinstance(value, str):
            value = value.replace("{phone}", f"13{rng.randrange(10**9):09d}").replace(
                "{card}", luhn_complete("622202", rng, 19))
        record[key] = value
    return record


def flat(record: dict[str, Any]) -> dict[str, Any]:
    """One level, for CSV and logfmt: a nested error object becomes error_code/error_message."""
    out = dict(record)
    error = out.pop("error", None)
    if isinstance(error, dict):
        out["code"] = error.get("code")
        if "decline_code" in error:
            out["decline_code"] = error["decline_code"]
        out["message"] = error.get("message")
    elif error is not None:
        out["message"] = error
    return {k: v for k, v in out.items() if v is not None}


CSV_FIELDS = [
    "ts", "txn_id", "out_trade_no", "channel", "status", "trade_status", "resp_code", "respCode",
    "return_code", "result_code", "err_code", "code", "sub_code", "decline_code", "message",
    "msg", "sub_msg", "err_code_des", "err_msg", "respMsg", "http_status", "latency_ms",
    "amount", "currency", "installments", "user_id",
]


def logfmt_value(value: Any) -> str:
    text = str(value)
    if text and all(c not in text for c in ' "=\\') and text.isprintable():
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def generate(args: argparse.Namespace, out: TextIO) -> None:
    rng = random.Random(args.seed)
    span = timedelta(hours=args.hours)
    step = span / max(args.records, 1)
    burst_start = START + span * 0.6
    burst_end = burst_start + timedelta(minutes=10)
    writer = None
    if args.format == "csv":
        writer = csv.DictWriter(out, CSV_FIELDS, lineterminator="\n", extrasaction="ignore")
        writer.writeheader()
    for index in range(args.records):
        when = START + step * index + timedelta(milliseconds=rng.randrange(1000))
        incident = args.incident and burst_start <= when < burst_end
        failed = rng.random() < (0.85 if incident else args.failure_rate)
        record = make_record(rng, index, when, failed, incident and failed and rng.random() < 0.8)
        if getattr(args, "distinct_messages", False):
            make_distinct(record, index)
        if args.format == "jsonl":
            out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        elif writer is not None:
            writer.writerow(flat(record))
        else:
            out.write(" ".join(f"{k}={logfmt_value(v)}" for k, v in flat(record).items()) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20261111)
    parser.add_argument("--failure-rate", type=float, default=0.6)
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--format", choices=("jsonl", "csv", "logfmt"), default="jsonl")
    parser.add_argument("--incident", action="store_true",
                        help="add a 10-minute burst of system faults at 60%% of the span")
    parser.add_argument("--distinct-messages", action="store_true",
                        help="an order number and a trace id inside every message: no two "
                        "messages alike")
    parser.add_argument("--gzip", action="store_true")
    parser.add_argument("--out", help="file to write (default stdout)")
    args = parser.parse_args()
    if args.out:
        raw = gzip.open(args.out, "wb") if args.gzip else open(args.out, "wb")  # noqa: SIM115
        with raw, io.TextIOWrapper(raw, encoding="utf-8", newline="") as out:
            generate(args, out)
    elif args.gzip:
        with gzip.open(sys.stdout.buffer, "wt", encoding="utf-8", newline="") as out:
            generate(args, out)
    else:
        generate(args, sys.stdout)


if __name__ == "__main__":
    main()
