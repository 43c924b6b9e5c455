"""Field recognition, failure detection and lenient conversion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from txdiag.models import SourceRef
from txdiag.normalize import FieldMap, Normalizer
from txdiag.rulebook import Rulebook
from txdiag.timeparse import parse_timestamp, parse_zone

SRC = SourceRef(file="t.jsonl", line=1)


@pytest.fixture(scope="module")
def normalizer(mini_rulebook: Rulebook) -> Normalizer:
    return Normalizer(mini_rulebook)


@pytest.mark.parametrize("key", ["id", "txn_id", "transaction_id", "order_id", "out_trade_no",
                                 "trade_no"])
def test_txn_id_aliases(normalizer: Normalizer, key: str) -> None:
    ex = normalizer.extract({key: "T1", "status": "failed"})
    assert ex is not None and ex.txn_id == "T1"


@pytest.mark.parametrize("key", ["code", "err_code", "error_code", "errcode", "resp_code",
                                 "respCode", "sub_code", "decline_code", "return_code",
                                 "response_code"])
def test_code_aliases(normalizer: Normalizer, key: str) -> None:
    ex = normalizer.extract({key: "E1"})
    assert ex is not None and ex.codes == ((key, "E1"),) and ex.failed


@pytest.mark.parametrize("key", ["msg", "message", "err_msg", "errmsg", "respMsg", "sub_msg",
                                 "error_message", "reason", "error"])
def test_message_aliases(normalizer: Normalizer, key: str) -> None:
    ex = normalizer.extract({key: "余额不足"})
    assert ex is not None and ex.message == "余额不足" and ex.failed


@pytest.mark.parametrize("key", ["ts", "time", "timestamp", "created_at", "@timestamp"])
def test_timestamp_aliases(normalizer: Normalizer, key: str) -> None:
    ex = normalizer.extract({key: "2026-11-11T00:00:01Z", "status": "failed"})
    assert ex is not None
    record = normalizer.to_record(ex, SRC)
    assert record.timestamp == datetime(2026, 11, 11, 0, 0, 1, tzinfo=UTC)


def test_nested_error_object(normalizer: Normalizer) -> None:
    error = {"code": "card_declined", "decline_code": "insufficient_funds",
             "message": "Your card has insufficient funds."}
    ex = normalizer.extract({"id": "ch_1", "error": error})
    assert ex is not None
    assert ex.codes == (("error.decline_code", "insufficient_funds"),
                        ("error.code", "card_declined"))
    assert ex.message == "Your card has insufficient funds."
    assert ex.failed


def test_specific_code_first(normalizer: Normalizer) -> None:
    ex = normalizer.extract({"code": "40004", "sub_code": "ACQ.X", "msg": "Business Failed",
                             "sub_msg": "具体原因"})
    assert ex is not None
    assert [c for c, _ in ex.codes] == ["sub_code", "code"]
    assert ex.message == "具体原因"


@pytest.mark.parametrize(
    ("data", "failed"),
    [
        ({"status": "success", "code": "51"}, False),
        ({"status": "FAILED"}, True),
        ({"status": "pending"}, True),  # not completed: diagnosed (unknown.pending)
        ({"code": "E1"}, True),
        ({"msg": "超时"}, True),
        # OK is a success code of channel alpha only in the mini rulebook
        ({"code": "OK", "msg": "anything"}, True),
        ({"channel": "alpha", "code": "OK", "msg": "fine"}, False),
        ({"status": "refunded"}, False),  # unrecognised status alone is not a failure
        ({"status": "refunded", "code": "E1"}, True),
        ({"msg": "success"}, False),
        ({"http_status": 503, "txn_id": "T"}, True),
        ({"http_status": 200, "txn_id": "T"}, False),
    ],
)
def test_failure_detection(normalizer: Normalizer, data: dict[str, object], failed: bool) -> None:
    ex = normalizer.extract(data)
    assert ex is not None
    assert ex.failed is failed


def test_channel_alias_is_canonical(normalizer: Normalizer) -> None:
    ex = normalizer.extract({"channel": "A-Pay", "code": "51"})
    assert ex is not None and ex.channel == "alpha"
    ex = normalizer.extract({"channel": "阿尔法", "code": "51"})
    assert ex is not None and ex.channel == "alpha"


def test_no_usable_fields(normalizer: Normalizer) -> None:
    assert normalizer.extract({"foo": 1, "bar": "x"}) is None


def test_record_conversion_is_lenient_and_exact(normalizer: Normalizer) -> None:
    ex = normalizer.extract({"txn_id": "T1", "status": "failed", "amount": 12.3,
                             "installments": "12", "ts": "not a time", "latency_ms": "abc"})
    assert ex is not None
    record = normalizer.to_record(ex, SRC)
    assert record.amount == Decimal("12.3")
    assert record.installments == 12
    assert record.timestamp is None and record.timestamp_raw == "not a time"
    assert record.latency_ms is None
    bad = normalizer.to_record(normalizer.extract({"txn_id": "T", "amount": "12,0x"}), SRC)  # type: ignore[arg-type]
    assert bad.amount is None


def test_field_map_override(mini_rulebook: Rulebook) -> None:
    fm = FieldMap.default().with_overrides({"error_code": ["result.bank.code"]})
    ex = Normalizer(mini_rulebook, fm).extract({"result": {"bank": {"code": "X9"}}, "code": "no"})
    assert ex is not None and ex.codes == (("result.bank.code", "X9"),)


SHANGHAI = timezone(timedelta(hours=8))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-11T00:00:01.123+08:00", datetime(2026, 11, 11, 0, 0, 1, 123000, SHANGHAI)),
        ("2026-11-11T00:00:01Z", datetime(2026, 11, 11, 0, 0, 1, tzinfo=UTC)),
        ("2026-11-11 00:00:01", datetime(2026, 11, 11, 0, 0, 1, tzinfo=SHANGHAI)),
        ("2026-11-11 00:00:01.250", datetime(2026, 11, 11, 0, 0, 1, 250000, tzinfo=SHANGHAI)),
        ("2026-11-11 00:00:01,250", datetime(2026, 11, 11, 0, 0, 1, 250000, tzinfo=SHANGHAI)),
        ("2026/11/11 00:00:01", datetime(2026, 11, 11, 0, 0, 1, tzinfo=SHANGHAI)),
        ("2026年11月11日 00:00:01", datetime(2026, 11, 11, 0, 0, 1, tzinfo=SHANGHAI)),
        (1762790401, datetime(2025, 11, 10, 16, 0, 1, tzinfo=UTC)),
        ("1762790401", datetime(2025, 11, 10, 16, 0, 1, tzinfo=UTC)),
        (1762790401123, datetime(2025, 11, 10, 16, 0, 1, 123000, tzinfo=UTC)),
        (1762790401123456, datetime(2025, 11, 10, 16, 0, 1, 123456, tzinfo=UTC)),
        ("nonsense", None),
        ("", None),
        (None, None),
        (True, None),
        ("nan", None),
    ],
)
def test_timestamps(value: object, expected: datetime | None) -> None:
    assert parse_timestamp(value, SHANGHAI) == expected


def test_zone_parsing() -> None:
    assert parse_zone("+08:00") == SHANGHAI
    assert parse_zone("UTC") == UTC
    assert parse_zone("Asia/Shanghai").utcoffset(datetime(2026, 1, 1)) == timedelta(hours=8)
    with pytest.raises(Exception, match="unknown time zone"):
        parse_zone("Mars/Olympus")


@pytest.mark.parametrize(("value", "expected"), [
    ("1,299.00", "1299.00"), ("1299.20", "1299.20"), ("-1,000", "-1000"), (12, "12"),
    ("1.000,50", None), ("1,0,0", None), ("12,34", None), ("１２３", None), ("NaN", None),
    (True, None),
])
def test_amounts_are_read_or_refused_never_misread(value: object, expected: str | None) -> None:
    from txdiag.normalize import decimal_value

    assert decimal_value(value) == (None if expected is None else Decimal(expected))


@pytest.mark.parametrize(("record", "expected"), [
    ({"txn_id": "W1", "total_fee": 1999}, "19.99"),
    ({"txn_id": "W2", "total_fee": "100"}, "1.00"),
    ({"txn_id": "W3", "TOTAL_FEE": "5"}, "0.05"),
    ({"txn_id": "U1", "txnAmt": "000000012345"}, "123.45"),
    ({"txn_id": "U2", "txnAmt": "12.5"}, None),  # not a whole number of fen: not guessed
    ({"txn_id": "U3", "txnAmt": "abc"}, None),
    ({"txn_id": "A1", "amount": "100"}, "100"),  # yuan as given
    ({"txn_id": "A2", "amount": "19.99", "total_fee": 1999}, "19.99"),  # amount ranks first
    # WeChat Pay v3: the amount is an object, its total in fen
    ({"txn_id": "V1", "amount": {"total": 1999, "currency": "CNY"}}, "19.99"),
    ({"txn_id": "V2", "amount": {"total": "12.5"}}, None),
])
def test_amounts_in_fen_are_kept_in_yuan(normalizer: Normalizer, record: dict[str, object],
                                         expected: str | None) -> None:
    fields = normalizer.extract(record)
    generic = normalizer.extract_generic(record)
    assert fields is not None and generic is not None
    assert fields.amount == generic.amount  # fen become yuan; other amounts stay as found
    assert str(normalizer.to_record(fields, SRC).amount) == str(expected)


def test_wechat_pay_v3_amount_object_gives_amount_and_currency(normalizer: Normalizer) -> None:
    fields = normalizer.extract({"out_trade_no": "V1", "trade_state": "PAYERROR",
                                 "amount": {"total": 250, "payer_total": 250, "currency": "CNY"}})
    assert fields is not None
    record = normalizer.to_record(fields, SRC)
    assert (str(record.amount), record.currency) == ("2.50", "CNY")


@pytest.mark.parametrize(("profile", "record", "expected"), [
    ("wechatpay", {"out_trade_no": "W1", "err_code": "NOTENOUGH", "total_fee": 1999}, "19.99"),
    ("wechatpay", {"out_trade_no": "W2", "code": "NOTENOUGH", "amount": {"total": 1999}}, "19.99"),
    ("unionpay", {"orderId": "U1", "respCode": "51", "txnAmt": "000000012345"}, "123.45"),
    ("unionpay", {"orderId": "U2", "respCode": "51", "amount": "123.45"}, "123.45"),
])
def test_profiles_read_fen_as_yuan(mini_rulebook: Rulebook, profile: str,
                                   record: dict[str, object], expected: str) -> None:
    from txdiag.config import Config, build_field_map, resolve_profile

    field_map = build_field_map(resolve_profile(profile, Config()), [])
    normalizer = Normalizer(mini_rulebook, field_map)
    fields = normalizer.extract(record)
    assert fields is not None
    assert normalizer.to_record(fields, SRC).amount == Decimal(expected)


def test_a_profile_declares_its_own_amounts_in_fen(mini_rulebook: Rulebook) -> None:
    from txdiag.config import Config, Profile, build_field_map, resolve_profile

    config = Config(profiles={"shop": Profile(amount=["amt_fen", "amount"],
                                              amount_minor_units=["amt_fen"])})
    field_map = build_field_map(resolve_profile("shop", config), [])
    normalizer = Normalizer(mini_rulebook, field_map)
    for record, expected in (({"txn_id": "S1", "amt_fen": 1999}, "19.99"),
                             ({"txn_id": "S2", "amount": "19.99"}, "19.99"),
                             ({"txn_id": "S3", "amt_fen": "19.99"}, None)):
        fields = normalizer.extract(record)
        assert fields is not None
        assert str(normalizer.to_record(fields, SRC).amount) == str(expected)
    # a name in fen by its API stays so under any profile
    assert "total_fee" in field_map.minor_units
