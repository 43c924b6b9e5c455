"""Issue 13's leaks: each one a regression test, in the masker and through the outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from txdiag.cli.app import app
from txdiag.render.present import dumps
from txdiag.safety import mask_text, mask_value

CARD = "6222021234567890128"


@pytest.mark.parametrize(("text", "secret"), [
    # e-mail addresses: IDN domains, plus addressing, URL-encoded @
    ("退款请联系 zhang.san+refund@例子.公司 谢谢", "zhang.san+refund"),
    ("to=zhang.san%40example.com&x=1", "zhang.san"),
    # 15-digit (first-generation) ID numbers; 18-digit ones with a bad check digit
    ("身份证 110105491231002 已验证", "110105491231002"),
    ("idcard 110105194912310039 ok", "110105194912310039"),
    # card numbers written with full-width digits, NBSP, tab, dots, %20, mixed separators
    ("卡号６２２２０２１２３４５６７８９０１２８", "７８９０"),
    ("card 6222\u00a00212\u00a03456\u00a07890128", "0212\u00a03456"),
    ("card 6222\t0212\t3456\t7890128", "0212\t3456"),
    ("card 6222.0212.3456.7890.128", "0212.3456"),
    ("q=6222%200212%203456%207890128", "0212%203456"),
    ("card 6222 0212-3456 7890 128", "0212-3456"),
    ("手机 １３８１２３４５６７８", "１２３４"),
    # cardholder names after a telling key
    ("持卡人:张三丰 余额不足", "三丰"),
    ("持卡人：李四 余额不足", "李四"),
    ('{"holder_name": "John Doe", "code": "51"}', "John Doe"),
    ("cardholder=Wang code=51", "Wang"),
    # credentials recognisable by shape or by an encoded key
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx7\n-----END RSA PRIVATE KEY-----",
     "MIIEowIBAAKCAQEAx7"),
    ("-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "MIIEvQIBADANBg"),
    ("secretId=AKIDz8krbsJ5yKBZQpn74WFkmLPx3gnPhESA", "z8krbsJ5yKBZQpn74"),
    ("key: sk-proj-Ab12Cd34Ef56Gh78Ij90Kl12", "Ab12Cd34Ef56Gh78"),
    ("maps key AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI", "SyDdI0hCZtE6vySjMm"),
    ("url?a=1%26api_key%3Dq1w2e3r4t5y6&b=2", "q1w2e3r4t5y6"),
    ("api_key%3Dq1w2e3r4t5y6", "q1w2e3r4t5y6"),
])
def test_masked(text: str, secret: str) -> None:
    masked = mask_text(text)
    assert secret not in masked, masked
    assert mask_text(masked) == masked


@pytest.mark.parametrize("text", [
    "amount 1299.20 and 100.00 200.00 300.00", "ip 192.168.100.200", "2026/11/11 00:00:01",
    "version 1.2.3.4.5.6", "order 202611110000000001", "ACQ.SYSTEM_ERROR", "余额不足",
    "name=ACQ.SYSTEM_ERROR", "desk-12345678", "task-abcdefghij",
])
def test_left_alone(text: str) -> None:
    assert mask_text(text) == text


def test_named_fields_and_keys_in_records() -> None:
    record = {"name": "张三", "holder_name": "John Doe", "持卡人": "李四",
              CARD: "a card as a key", "amount": int(CARD), "phone": "13812345678"}
    masked = mask_value(record)
    assert isinstance(masked, dict)
    text = json.dumps(masked, ensure_ascii=False)
    for secret in ("张三", "John", "李四", CARD, "12345678"):
        assert secret not in text, text


def test_json_output_escapes_zero_width_characters() -> None:
    out = dumps({"code": "ACQ.SYSTEM\u200b_ERROR\ufeff\u2060"})
    assert "\u200b" not in out and "\ufeff" not in out and "\u2060" not in out
    assert json.loads(out)["code"] == "ACQ.SYSTEM\u200b_ERROR\ufeff\u2060"


def test_diagnose_json_has_no_raw_zero_width(tmp_path: Path) -> None:
    log = tmp_path / "zw.jsonl"
    log.write_text(json.dumps({"txn_id": "T1", "status": "failed",
                               "code": "ACQ.SYSTEM\u200b_ERROR"}) + "\n", encoding="utf-8")
    for fmt in ("json", "jsonl"):
        result = CliRunner().invoke(app, ["diagnose", str(log), "-f", fmt],
                                    catch_exceptions=False)
        assert "\u200b" not in result.stdout and "\\u200b" in result.stdout
