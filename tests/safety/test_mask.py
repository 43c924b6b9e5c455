"""Tests for txdiag.safety.mask: personal data and secrets must not survive, diagnostics must."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from tests.safety.reference import id_check_char, luhn_complete, luhn_valid

from txdiag.safety import (
    REDACTED,
    SECRET_PARAM_NAMES,
    is_secret_name,
    mask_text,
    mask_value,
    pii,
    redact_url,
    secrets,
)

# --------------------------------------------------------------------------------------------
# independent reference implementations (deliberately not imported from the code under test)

PROVINCES = ("11", "12", "13", "31", "32", "33", "35", "37", "44", "50", "51", "61", "65", "81")


def compact(text: str) -> str:
    return text.replace(" ", "").replace("-", "")


# --------------------------------------------------------------------------------------------
# table-driven examples

MASKED_EXAMPLES = [
    # bank cards: 16 and 19 digits, Amex 15, 13-digit Visa outside the epoch-ms range
    ("4111111111111111", "411111******1111"),
    ("6222021234567890128", "622202*********0128"),
    ("5555555555554444", "555555******4444"),
    ("378282246310005", "378282*****0005"),
    ("4222222222222", "422222***2222"),
    ("card=6011111111111117;", "card=601111******1117;"),
    # grouped cards lose their separators
    ("4111 1111 1111 1111", "411111******1111"),
    ("4111-1111-1111-1111", "411111******1111"),
    ("6222 0212 3456 7890 128", "622202*********0128"),
    ("3782 822463 10005", "378282*****0005"),
    # mobiles, prefix kept as written
    ("13812345678", "138****5678"),
    ("19912345678", "199****5678"),
    ("+8613812345678", "+86138****5678"),
    ("+86 13812345678", "+86 138****5678"),
    ("+86-138-1234-5678", "+86-138****5678"),
    ("0086 138 1234 5678", "0086 138****5678"),
    ("86 13812345678", "86 138****5678"),
    ("138-1234-5678", "138****5678"),
    ("138 1234 5678", "138****5678"),
    ("tel:13812345678.", "tel:138****5678."),
    # resident ID numbers (check characters X, x and digits)
    ("11010519491231002X", "110105********002X"),
    ("11010519491231002x", "110105********002x"),
    ("440306199003071232", "440306********1232"),
    ("510107200002290045", "510107********0045"),
    ("110105 19491231 002X", "110105********002X"),
    # e-mail addresses
    ("zhang.san@example.com", "z***@example.com"),
    ("a@b.co", "a***@b.co"),
    ("13812345678@qq.com", "1***@qq.com"),
    ("notify user+tag@mail.example.com.cn failed", "notify u***@mail.example.com.cn failed"),
    # Chinese text around values
    (
        "用户13812345678的卡6222021234567890128余额不足",
        "用户138****5678的卡622202*********0128余额不足",
    ),
    (
        "身份证号：11010519491231002X，手机：+86 138-1234-5678。",
        "身份证号：110105********002X，手机：+86 138****5678。",
    ),
    ("卡号6222 0212 3456 7890 128支付失败", "卡号622202*********0128支付失败"),
    # several numbers in one run of digit groups
    ("2025-11-10 13812345678", "2025-11-10 138****5678"),
    ("4111 1111 1111 1111 13812345678", None),  # checked by the property below: nothing survives
]

SECRET_EXAMPLES = [
    # URLs and query strings
    (
        "GET https://api.example.com/v1/pay?access_token=abc123def&amount=100",
        "GET https://api.example.com/v1/pay?access_token=[REDACTED]&amount=100",
    ),
    ("/notify?sign=9A0A8659F005D6984697E2CA0A9CF3B7&sign_type=MD5", None),
    ("https://bob:s3cr3t@db.example.com/x", "https://[REDACTED]@db.example.com/x"),
    # HTTP headers
    (
        "Authorization: Bearer abc.def-ghi_jkl status=401",
        "Authorization: Bearer [REDACTED] status=401",
    ),
    ("authorization: Basic dXNlcjpwYXNz", "authorization: Basic [REDACTED]"),
    ("X-Api-Key: 0123456789abcdef", "X-Api-Key: [REDACTED]"),
    ("Cookie: sessionid=abc; csrftoken=def", "Cookie: [REDACTED]"),
    ("sent Bearer 0123456789abcdef to upstream", "sent Bearer [REDACTED] to upstream"),
    # JSON-ish, Python repr, logfmt, XML
    (
        '{"token": "abc", "amount": "1.00", "password":"p@ss w0rd"}',
        '{"token": "[REDACTED]", "amount": "1.00", "password":"[REDACTED]"}',
    ),
    ("{'client_secret': 'xyz', 'refundFee': 1}", "{'client_secret': '[REDACTED]', 'refundFee': 1}"),
    ('{"Authorization":"Bearer abc123"}', '{"Authorization":"Bearer [REDACTED]"}'),
    ('{"pin": 1234, "cvv2": 123}', '{"pin": [REDACTED], "cvv2": [REDACTED]}'),
    (
        'level=error api_key=abcd1234 msg="declined" passwd="a b c" session=xyz',
        'level=error api_key=[REDACTED] msg="declined" passwd="[REDACTED]" session=[REDACTED]',
    ),
    (
        "paySign=ABCDEF appSecret=s accessToken=t",
        "paySign=[REDACTED] appSecret=[REDACTED] accessToken=[REDACTED]",
    ),
    (
        "<xml><sign><![CDATA[C380BEC2BFD727A4B6845133519F3AD6]]></sign></xml>",
        "<xml><sign>[REDACTED]</sign></xml>",
    ),
    (
        "<paySign>abc</paySign><nonce_str>xyz</nonce_str>",
        "<paySign>[REDACTED]</paySign><nonce_str>xyz</nonce_str>",
    ),
    ('msg="upstream said sign=abc123 invalid"', 'msg="upstream said sign=[REDACTED] invalid"'),
    # tokens recognisable by shape keep only their public type prefix
    ("key sk_live_4eC39HqLyjWDarjtT1zdp7dc used", "key sk_live_[REDACTED] used"),
    ("rk_test_abcdefgh12345678", "rk_test_[REDACTED]"),
    ("aws AKIAIOSFODNN7EXAMPLE", "aws AKIA[REDACTED]"),
    ("ghp_abcdefghijklmnopqrstuvwxyz0123456789", "ghp_[REDACTED]"),
    (
        "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
        "jwt [REDACTED]",
    ),
]

UNCHANGED_EXAMPLES = [
    "1762790401123",  # epoch ms (passes Luhn!)
    "ts=1762790401123 code=51",
    "946684800000",  # 2000-01-01, 12 digits
    "1234.56",
    "amount=-1234.56 CNY",
    "2025-11-10 12:00:01.123",
    "2025-11-10T12:00:01+08:00",
    "51",
    "ACQ.SYSTEM_ERROR",
    "余额不足",
    "4111111111111112",  # fails Luhn
    "6222021234567890123",  # fails Luhn
    "202511101234567891",  # order number: fails Luhn and the ID check
    "11010519491231002",  # 17 digits
    "110105194913310038",  # ID with month 13 (and fails Luhn)
    "12812345678",  # not a mobile prefix
    "1381234567",  # 10 digits
    "TXN4111111111111111",  # glued to letters: part of an identifier
    "4111111111111111abc",
    "0x4111111111111111",
    "trade_no=2025111022001412345678901234",  # 28 digits
    "token_type=bearer sign_type=RSA2 idempotency_key=abc",
    "password=null token=",
    "design=modern monkey=3",
    "[bold red]x[/] :smile:",
    "",
]


@pytest.mark.parametrize(("text", "expected"), [e for e in MASKED_EXAMPLES if e[1] is not None])
def test_masks_personal_data(text: str, expected: str) -> None:
    assert mask_text(text) == expected


@pytest.mark.parametrize(("text", "expected"), [e for e in SECRET_EXAMPLES if e[1] is not None])
def test_redacts_secret_values_keeps_keys(text: str, expected: str) -> None:
    assert mask_text(text) == expected


@pytest.mark.parametrize("text", UNCHANGED_EXAMPLES)
def test_leaves_diagnostic_values_alone(text: str) -> None:
    assert mask_text(text) == text


def test_example_inputs_are_what_they_claim() -> None:
    """Guard the tables: a typo in a 'valid' number would make a test pass for a wrong reason."""
    for card in ("4111111111111111", "6222021234567890128", "378282246310005", "4222222222222"):
        assert luhn_valid(card)
    for bad in ("4111111111111112", "6222021234567890123", "202511101234567891"):
        assert not luhn_valid(bad)
    assert luhn_valid("1762790401123")  # the epoch-ms rule is what keeps it
    for id_no in ("11010519491231002X", "440306199003071232", "510107200002290045"):
        assert id_check_char(id_no[:17]) == id_no[17]
    assert id_check_char("11010519491231003") != "9"


def test_sign_value_redacted_sign_type_kept() -> None:
    out = mask_text("/notify?sign=9A0A8659F005D6984697E2CA0A9CF3B7&sign_type=MD5")
    assert out == "/notify?sign=[REDACTED]&sign_type=MD5"


def test_card_followed_by_mobile_in_one_run() -> None:
    out = compact(mask_text("4111 1111 1111 1111 13812345678"))
    assert "4111111111111111" not in out
    assert "13812345678" not in out


def test_card_hidden_behind_a_preceding_valid_number_still_masked() -> None:
    # "4111 1111 1117 4242" is itself Luhn-valid and overlaps the real card 4242...4242
    junk_and_card = "4111 1111 1117 4242 4242 4242 4242"
    assert luhn_valid("4111111111174242")
    assert luhn_valid("4242424242424242")
    out = mask_text(junk_and_card)
    assert "4242424242424242" not in compact(out)
    assert "4111111111174242" not in compact(out)
    assert out.count("*") >= 12


def test_epoch_ms_rule_only_for_ungrouped_13_digits() -> None:
    assert mask_text("1762790401123") == "1762790401123"
    # outside 2000..2100 a Luhn-valid 13-digit number is a card
    assert mask_text("4222222222222") == "422222***2222"
    # a grouped form is not a timestamp
    assert mask_text("1762 7904 0112 3") != "1762 7904 0112 3"


# --------------------------------------------------------------------------------------------
# mask_value


def test_mask_value_uses_key_names() -> None:
    record = {
        "cardNo": "4111111111111112",  # fails Luhn, masked anyway because of the key
        "card_no": "4111 1111 1111 1111",
        "pan": 4111111111111111,
        "idNo": "110105194912310039",  # bad check char, masked anyway
        "id_card": "11010519491231002X",
        "mobile": 13812345678,
        "phone": "021-1234567",
        "email": "bob@localhost",
        "token": "abc",
        "Authorization": "Bearer abc",
        "password": None,
        "secret": 12345,
        "amount": 1234.56,
        "count": 3,
        "ok": True,
        "message": "用户13812345678余额不足",
        "code": "51",
    }
    assert mask_value(record) == {
        "cardNo": "411111******1112",
        "card_no": "411111******1111",
        "pan": "411111******1111",
        "idNo": "110105********0039",
        "id_card": "110105********002X",
        "mobile": "138****5678",
        "phone": "******4567",  # too short to keep a head
        "email": "b***@localhost",
        "token": REDACTED,
        "Authorization": "Bearer [REDACTED]",
        "password": None,
        "secret": REDACTED,
        "amount": 1234.56,
        "count": 3,
        "ok": True,
        "message": "用户138****5678余额不足",
        "code": "51",
    }


def test_mask_value_recurses_and_keeps_container_types() -> None:
    value = {
        "list": ["13812345678", 4111111111111111, 1762790401123, 42],
        "tuple": ("a@b.co", 1.5),
        "nested": {"auth": {"user": "bob", "pwd": "x"}, "phones": ["13812345678", "13912345678"]},
    }
    assert mask_value(value) == {
        "list": ["138****5678", "411111******1111", 1762790401123, 42],
        "tuple": ("a***@b.co", 1.5),
        "nested": {
            "auth": {"user": REDACTED, "pwd": REDACTED},
            "phones": ["138****5678", "139****5678"],
        },
    }


def test_mask_value_short_values_fully_starred() -> None:
    assert mask_value({"pan": "1234"}) == {"pan": "****"}
    assert mask_value({"mobile": ""}) == {"mobile": ""}
    assert mask_value({"card_no": "12345678"}) == {"card_no": "****5678"}


def test_mask_value_other_objects_untouched() -> None:
    marker = object()
    assert mask_value(marker) is marker
    assert mask_value(None) is None
    assert mask_value(3.5) == 3.5


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=30),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(
                st.sampled_from(["token", "cardNo", "mobile", "msg", "idNo", "x"]),
                children,
                max_size=4,
            )
        ),
        max_leaves=12,
    )
)
def test_mask_value_idempotent(value: object) -> None:
    once = mask_value(value)
    assert mask_value(once) == once


# --------------------------------------------------------------------------------------------
# redact_url and secret names


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://user:pw@api.example.com/pay?sign=ab12&amount=1",
            "https://api.example.com/pay?sign=[REDACTED]&amount=1",
        ),
        (
            "https://api.example.com/cb?access%5Ftoken=x&a=%20b+c&empty=&flag#id_token=y&state=1",
            "https://api.example.com/cb?access%5Ftoken=[REDACTED]&a=%20b+c&empty=&flag#id_token=[REDACTED]&state=1",
        ),
        (
            "https://api.example.com/users/13812345678/orders",
            "https://api.example.com/users/138****5678/orders",
        ),
        (
            "https://x.example/a;jsessionid=ABC123?q=1",
            "https://x.example/a;jsessionid=[REDACTED]?q=1",
        ),
        ("/relative?X-Amz-Signature=abc&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F", None),
        ("http://[::1", "http://[::1"),  # unparseable: masked as text only
        (
            "https://api.example.com/pay?amount=1&currency=CNY",
            "https://api.example.com/pay?amount=1&currency=CNY",
        ),
    ],
)
def test_redact_url(url: str, expected: str | None) -> None:
    out = redact_url(url)
    if expected is not None:
        assert out == expected
    else:
        assert "abc" not in out
        assert "IOSFODNN7EXAMPLE" not in out


@pytest.mark.parametrize(
    "name",
    [
        "token",
        "access_token",
        "accessToken",
        "Access-Token",
        "X-Access-Token",
        "csrftoken",
        "client_secret",
        "appSecret",
        "password",
        "PASSWORD",
        "passwd",
        "pwd",
        "login_pwd",
        "sign",
        "paySign",
        "signature",
        "X-Amz-Signature",
        "api_key",
        "apiKey",
        "APIKey",
        "X-Api-Key",
        "key",
        "mch_key",
        "authorization",
        "Proxy-Authorization",
        "cookie",
        "Set-Cookie",
        "session",
        "sessionId",
        "JSESSIONID",
        "cvv2",
        "pin",
        "credential",
    ],
)
def test_secret_names(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "token_type",
        "sign_type",
        "idempotency_key",
        "design",
        "monkey",
        "amount",
        "code",
        "trade_no",
        "keyword",
        "author",
        "publishable_key",
        "nonce_str",
        "session_count",
    ],
)
def test_not_secret_names(name: str) -> None:
    assert not is_secret_name(name)


def test_secret_param_names_are_normalised() -> None:
    assert frozenset(secrets.snake_name(n) for n in SECRET_PARAM_NAMES) == SECRET_PARAM_NAMES
    assert all(is_secret_name(n) for n in SECRET_PARAM_NAMES)


# --------------------------------------------------------------------------------------------
# property tests: generated personal data never survives


@st.composite
def card_numbers(draw: st.DrawFn) -> str:
    length = draw(st.integers(13, 19))
    first = draw(st.sampled_from("3456"))
    body = first + draw(st.text("0123456789", min_size=length - 2, max_size=length - 2))
    number = luhn_complete(body)
    lo, hi = pii.EPOCH_MS_RANGE
    assume(not (length == 13 and lo <= int(number) < hi))
    return number


@st.composite
def grouped(draw: st.DrawFn, number: str) -> str:
    """Write a card number ungrouped or in groups of 4-6 digits with one kind of separator."""
    if draw(st.booleans()):
        return number
    sep = draw(st.sampled_from([" ", "-"]))
    groups, rest = [], number
    while len(rest) > 6:
        size = draw(st.integers(4, 6))
        groups.append(rest[:size])
        rest = rest[size:]
    groups.append(rest)
    return sep.join(g for g in groups if g)


@st.composite
def id_numbers(draw: st.DrawFn) -> str:
    region = draw(st.sampled_from(PROVINCES)) + draw(st.text("0123456789", min_size=4, max_size=4))
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)))
    seq = draw(st.text("0123456789", min_size=3, max_size=3))
    first17 = region + born.strftime("%Y%m%d") + seq
    check = id_check_char(first17)
    if check == "X" and draw(st.booleans()):
        check = "x"
    return first17 + check


@st.composite
def mobiles(draw: st.DrawFn) -> tuple[str, str]:
    """(digits, as written): 11 digits or 3-4-4, with an optional country prefix."""
    digits = (
        "1" + draw(st.sampled_from("3456789")) + draw(st.text("0123456789", min_size=9, max_size=9))
    )
    written = digits
    if draw(st.booleans()):
        sep = draw(st.sampled_from([" ", "-"]))
        written = sep.join((digits[:3], digits[3:7], digits[7:]))
    prefix = draw(st.sampled_from(["", "+86", "+86 ", "+86-", "0086", "0086 ", "86", "86-"]))
    return digits, prefix + written


# Left/right context: any text (Chinese, JSON-ish, digits, letters ...) that ends/starts with a
# character that is not an ASCII letter or digit (or "*"), since glued identifiers are out of
# scope: every C0/C1 control and every other ASCII punctuation character is a boundary.
BOUNDARY = st.sampled_from(
    [" ", "：", "的", "=", '"', "'", ":", "(", ")", "\n", "，", "。", ",", "/", "_", "<", ">"]
    + list("!#$%&+-.;?@[\\]^`{|}~")
    + [chr(c) for c in (*range(0x00, 0x20), *range(0x7F, 0xA0))]
)
FILLER = st.text(
    st.characters(codec="utf-8")  # utf-8: no lone surrogates
    | st.sampled_from("用户卡号余额不足0123456789 -{}\"':=,"),
    max_size=15,
)
WRAPPERS = st.sampled_from(
    [
        "{}",
        '{{"card_no": "{}"}}',
        "卡号：{}，余额不足",
        "mobile={}&amount=1",
        "<phone>{}</phone>",
        "用户{}的卡",
        "'{}'",
        "[{}]",
        'msg="paid by {} ok"',
        "{} 13812345678",
    ]
)


@st.composite
def embedded(draw: st.DrawFn, value: str) -> str:
    wrapped = draw(WRAPPERS).format(value)
    left = draw(FILLER) + draw(BOUNDARY)
    right = draw(BOUNDARY) + draw(FILLER)
    return left + wrapped + right


@settings(max_examples=300)
@given(st.data())
def test_generated_cards_never_survive(data: st.DataObject) -> None:
    number = data.draw(card_numbers())
    text = data.draw(embedded(data.draw(grouped(number))))
    out = mask_text(text)
    assert number not in compact(out)
    assert mask_text(out) == out


@settings(max_examples=300)
@given(st.data())
def test_generated_id_numbers_never_survive(data: st.DataObject) -> None:
    number = data.draw(id_numbers())
    text = data.draw(embedded(number))
    out = mask_text(text)
    assert number not in compact(out)
    assert number[6:14] not in out  # the birth date is hidden
    assert mask_text(out) == out


@settings(max_examples=300)
@given(st.data())
def test_generated_mobiles_never_survive(data: st.DataObject) -> None:
    digits, written = data.draw(mobiles())
    text = data.draw(embedded(written))
    out = mask_text(text)
    assert digits not in compact(out)
    assert mask_text(out) == out


@given(
    card_numbers(), st.sampled_from(["{}", "用户的卡{}余额不足", '{{"pan":"{}"}}', "card={}&x=1"])
)
def test_generated_cards_masked_exactly(number: str, wrapper: str) -> None:
    expected = number[:6] + "*" * (len(number) - 10) + number[-4:]
    assert mask_text(wrapper.format(number)) == wrapper.format(expected)


@given(id_numbers())
def test_generated_id_numbers_masked_exactly(number: str) -> None:
    assert mask_text(f"身份证{number}。") == f"身份证{number[:6]}********{number[14:]}。"


@given(st.text("0123456789", min_size=13, max_size=19))
def test_random_digit_strings_masked_only_when_valid(number: str) -> None:
    lo, hi = pii.EPOCH_MS_RANGE
    epoch = len(number) == 13 and lo <= int(number) < hi
    should_mask = (
        (luhn_valid(number) and not epoch)
        or (  # an ID number: the check character is not required (a typo still names one)
            len(number) == 18
            and number[:2] in pii.ID_PROVINCES
            and _plausible_date(number[6:14])
        )
        or (  # a first-generation ID number: 15 digits, 19YYMMDD
            len(number) == 15
            and number[:2] in pii.ID_PROVINCES
            and _plausible_date("19" + number[6:12])
        )
        or re.fullmatch(r"(?:0086|86)1[3-9][0-9]{9}", number) is not None
    )
    assert (mask_text(number) != number) == should_mask


def _plausible_date(yyyymmdd: str) -> bool:
    try:
        born = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:]))
    except ValueError:
        return False
    return 1900 <= born.year <= 2099


# --------------------------------------------------------------------------------------------
# idempotence and the cheap pre-checks

TEXTISH = st.lists(
    st.sampled_from(
        list("0123456789 -_=:\"'<>/@.*Xx用户卡abcAKIJey")
        + [
            "token",
            "sign",
            "Bearer ",
            "sk_live_",
            "ghp_",
            "xoxb-",
            "AKIA",
            "eyJ",
            "password",
            "Cookie",
            "13812345678",
            "4111111111111111",
            "11010519491231002X",
            "+86 ",
            "[REDACTED]",
            "a@b.co",
            "https://u:p@",
            "</sign>",
            "<sign>",
            "\n",
        ]
    ),
    max_size=40,
).map("".join)


@settings(max_examples=500)
@given(TEXTISH)
def test_idempotent_on_adversarial_fragments(text: str) -> None:
    once = mask_text(text)
    assert mask_text(once) == once


@given(st.text(max_size=60))
def test_idempotent_on_arbitrary_text(text: str) -> None:
    once = mask_text(text)
    assert mask_text(once) == once


def _unfiltered_mask(text: str) -> str:
    """mask_text without its pre-checks: both passes always run."""
    return pii.mask_personal_unchecked(
        secrets.redact_secrets_unchecked(pii.mask_odd_runs(text)))


@settings(max_examples=500)
@given(TEXTISH)
def test_prechecks_never_skip_work(text: str) -> None:
    assert mask_text(text) == _unfiltered_mask(text)


@pytest.mark.parametrize(
    "text", [e[0] for e in SECRET_EXAMPLES + MASKED_EXAMPLES] + UNCHANGED_EXAMPLES
)
def test_prechecks_never_skip_work_on_examples(text: str) -> None:
    assert mask_text(text) == _unfiltered_mask(text)


@given(st.text(st.sampled_from("用户余额不足支付失败，。！ ()[]:;/\\.,\t"), max_size=40))
def test_text_without_digits_or_keywords_returned_as_is(text: str) -> None:
    assert mask_text(text) is text


def test_safety_package_imports_no_cli_or_renderer() -> None:
    code = (
        "import sys, txdiag.safety; "
        "print(','.join(m for m in ('typer', 'rich', 'click') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
