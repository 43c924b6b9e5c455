"""Masking next to escape sequences and invisible characters, and the idempotence fixes.

Found by the end-to-end property tests (test_outputs.py): a colour code or a written-out escape
right before a number glued to it (``\\x1b[1m6222...``: the ``m`` made it look like an
identifier), and a few inputs on which masking twice changed the text again.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from txdiag.safety import mask as mask_module
from txdiag.safety import mask_text, strip_ansi, visible
from txdiag.safety.terminal import BIDI_CONTROLS, ZERO_WIDTH

CARD = "6222021234567890128"
CARD_MASKED = "622202*********0128"
MOBILE = "13812345678"
MOBILE_MASKED = "138****5678"
ID = "11010519491231002X"
ID_MASKED = "110105********002X"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # raw escape sequences right before a number
        (f"\x1b[31m{CARD}\x1b[0m", f"\x1b[31m{CARD_MASKED}\x1b[0m"),
        (f"\x1b[1;38;5;196m{MOBILE}", f"\x1b[1;38;5;196m{MOBILE_MASKED}"),
        (f"\x9b1m{ID}", f"\x9b1m{ID_MASKED}"),
        (f"\x1b]0;title\x07{CARD}", f"\x1b]0;title\x07{CARD_MASKED}"),
        (f"\x1b(B{MOBILE}", f"\x1b(B{MOBILE_MASKED}"),
        # CSI parameters that are a number, shown by visible()
        (f"\x1b[{CARD}m x", f"\x1b[{CARD_MASKED}m x"),
        (f"\x1b[{ID} x", f"\x1b[{ID_MASKED} x"),  # X: a CSI final byte and a check character
        (f"\\x1b[{ID}", f"\\x1b[{ID_MASKED}"),
        (f"\x9b{CARD} x", f"\x9b{CARD_MASKED} x"),
        # a grouped number whose first group is a parameter of an unfinished CSI sequence: the
        # blank or dash after it is an intermediate byte, not the end of the number
        ("\x9b<130 0000 0000 ", "\x9b<130****0000 "),
        ("\x1b[130-0000-0000", "\x1b[130****0000"),
        ("\x9b1;6222 0212 3456 7890 128 x", f"\x9b1;{CARD_MASKED} x"),
        ("\\x1b[=6222-0212-3456-7890-128", f"\\x1b[={CARD_MASKED}"),
        ("^[[?110105 19491231 002X", f"^[[?{ID_MASKED}"),
        # "\0" before a digit: a written-out NUL and a number, or a backslash and a number
        # that starts with 0 (the 0086 prefix); masked both ways
        ("\\008613000000000", "\\0086130****0000"),
        ("C:\\logs\\008613900000000.log", "C:\\logs\\0086139****0000.log"),
        (f"\\0{MOBILE}", f"\\0{MOBILE_MASKED}"),
        # a final byte that is a digit is shown: "\x1b 1" + "3000000000" reads as a mobile
        # number; and with the sequence removed, "\x1b 1" + "13812345678" is one
        ("\x1b 13000000000 ", "\x1b 130****0000 "),
        (f"\x1b 1{MOBILE}", MOBILE_MASKED),
        # written out: double-encoded JSON, Python reprs, visible() output in an error message
        (f"\\u001b[31m{CARD}\\u001b[0m", f"\\u001b[31m{CARD_MASKED}\\u001b[0m"),
        (f"\\x1b[1m{MOBILE}", f"\\x1b[1m{MOBILE_MASKED}"),
        (f"'\\x9b{CARD}' as a time", f"'\\x9b{CARD_MASKED}' as a time"),
        ("\\033[0m+86 138 1234 5678", "\\033[0m+86 138****5678"),
        (f"\\e[1m{ID}", f"\\e[1m{ID_MASKED}"),
        (f"^[[32m{CARD}", f"^[[32m{CARD_MASKED}"),
        (f"Payment failed:\\n{CARD}", f"Payment failed:\\n{CARD_MASKED}"),
        (f"\\u202e{MOBILE}", f"\\u202e{MOBILE_MASKED}"),
        # split by characters a terminal does not show: they are dropped, the number masked
        ("4111\x1b[0m111111111111", "411111******1111"),
        ("138\u200b1234\u200b5678", MOBILE_MASKED),
        ("13812\u200d345678 ok", f"{MOBILE_MASKED} ok"),
        ("4111\u202e111111111111", "411111******1111"),
        ("password=\x1b[1mhunter2\x1b[0m", "password=[REDACTED]"),
        ("\x1b[1mpin\x1b[0m=1234", "pin=[REDACTED]"),
        # secrets after a key that only ends like a secret name
        ("XAuthorization: Bearer abcdefghijkl", "XAuthorization: Bearer [REDACTED]"),
        ("X-Custom-Authorization: Basic dXNlcjpwYXNz", "X-Custom-Authorization: Basic [REDACTED]"),
        ("monkey=Bearer abcdefghijkl", "monkey=Bearer [REDACTED]"),
        ("<design>sk_live_abcdefghijk</design>", "<design>sk_live_[REDACTED]</design>"),
        (
            "ERR\x1b[1;38;5;196mAuthorization: Bearer fyzhM80g55w4XEqETfsYzs8u7c14cRat",
            "ERR\x1b[1;38;5;196mAuthorization: Bearer [REDACTED]",
        ),
    ],
)
def test_masks_next_to_escapes(text: str, expected: str) -> None:
    assert mask_text(text) == expected
    assert mask_text(expected) == expected


# Every character that is no ASCII letter or digit and no "*" (those glue a number into a longer
# token) is a boundary: C0 and C1 controls, DEL and ASCII punctuation, alone or after the start
# of an escape sequence (raw 7-bit, 8-bit, written out) that it may continue.
NEIGHBOURS = [chr(c) for c in (*range(0x00, 0x30), *range(0x3A, 0x41), *range(0x5B, 0x61),
                               *range(0x7B, 0xA0)) if chr(c) != "*"]
INTRODUCERS = ["", "\x1b", "\x1b[", "\x9b", "\x9b1;", "\\x1b[", "\\x9b", "^[[", "\\n"]
GROUPED = [
    ("13000000000", "130 0000 0000"),
    ("13812345678", "+86-138-1234-5678"),
    ("13000000000", "008613000000000"),
    ("13812345678", "0086 138 1234 5678"),
    (CARD, "6222 0212 3456 7890 128"),
    (CARD, "6222-0212-3456-7890-128"),
    ("4111111111111111", "4111 1111 1111 1111"),
    (ID, "110105 19491231 002X"),
    (ID, "110105-19491231-002X"),
]


@pytest.mark.parametrize(("digits", "written"), GROUPED, ids=[w for _, w in GROUPED])
def test_any_punctuation_or_control_is_a_boundary(digits: str, written: str) -> None:
    """Next to any boundary character, after any escape start, a grouped number is masked."""
    def on_screen(out: str) -> list[str]:
        on_a_terminal = re.sub(f"[{BIDI_CONTROLS}{ZERO_WIDTH}]", "", strip_ansi(out))
        return [re.sub(r"[\s\-]+", "", view) for view in (visible(out), on_a_terminal)]

    for intro in INTRODUCERS:
        for ch in NEIGHBOURS:
            for text in (f"{intro}{ch}{written} .", f". {written}{ch}{intro}"):
                out = mask_text(text)
                assert all(digits not in view for view in on_screen(out)), (text, out)
                assert mask_text(out) == out, (text, out)


@pytest.mark.parametrize(
    "text",
    [
        "TXN6222021234567890128",  # glued to a letter: an identifier, as before
        "\x1b[31mACQ.SYSTEM_ERROR\x1b[0m code 51",
        "\\n 2026-11-11 00:00:01",
        "\x1b 13812345",  # too short once the digit final byte is counted as text
        "monkey=3",
        "authorization_code=123456",  # ISO 8583 field 38 is diagnostic, not a secret
        "C:\\logs\\T6222021234567890128.log",
    ],
)
def test_leaves_these_alone(text: str) -> None:
    assert mask_text(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "Bearer 31mtoken=0",
        "Bearer 0-0212 3456 7890 1280212 3456 7890 128",
        "sk_live_0-0212 3456 7890 1280212 x",
        "monkey=https://u:p@token: 0",
        "monkey=https://u:p@XAuthorization: 0",
        "\x1b 13000000000 ",
        "\x1b713812345678",
    ],
)
def test_idempotent_where_it_was_not(text: str) -> None:
    once = mask_text(text)
    assert mask_text(once) == once


ESCAPY = st.lists(
    st.sampled_from(
        list("0123456789 -Xx*m[];=@.a\\^")
        + ["\x1b", "\x1b[", "\x1b]", "\x07", "\x9b", "\x9d", "\x9c", "\x90", "\x1b\\", "\x1b ",
           "\x1b7", "\\x1b[", "\\n", "\\u001b[", "\\033[", "^[[", "\\x9b", "31m", "0m",
           "\u200b", "\u202e", "\ufeff", "4111111111111111", "13812345678",
           "11010519491231002X", "+86 ", "token=", "password", "Bearer ", "XAuthorization: ",
           "monkey=", "https://u:p@", "a@b.co", "[REDACTED]", "6222", "0212 3456 7890 128",
           "0a@b.co", " 0"]
    ),
    max_size=30,
).map("".join)


@settings(max_examples=400)
@given(ESCAPY)
def test_idempotent_with_escapes(text: str) -> None:
    once = mask_text(text)
    assert mask_text(once) == once


@settings(max_examples=300)
@given(ESCAPY)
def test_converges_without_the_last_resort(text: str) -> None:
    """The bounded loop always settles: the strip-everything fallback is never needed."""
    rounds: list[str] = []
    real = mask_module._mask_round

    def counting(current: str) -> tuple[str, bool]:
        rounds.append(current)
        return real(current)

    mask_module._mask_round = counting
    try:
        mask_text(text)
    finally:
        mask_module._mask_round = real
    assert len(rounds) < 2 * mask_module._MAX_ROUNDS


@settings(max_examples=300)
@given(ESCAPY)
def test_nothing_on_screen_or_in_the_stripped_text_survives(text: str) -> None:
    """Shown visibly, or as a terminal would show it, a masked text holds no valid number."""
    out = mask_text(text)
    on_a_terminal = re.sub(f"[{BIDI_CONTROLS}{ZERO_WIDTH}]", "", strip_ansi(out))
    for view in (visible(out), on_a_terminal):
        for number in ("4111111111111111", "13812345678", "11010519491231002X",
                       "6222021234567890128"):
            at = view.find(number)
            while at >= 0:
                # only where the masking rules leave it: glued to an ASCII letter, digit or "*"
                # (part of a longer identifier or number)
                around = view[at - 1 : at] + view[at + len(number) : at + len(number) + 1]
                assert any(ch.isascii() and (ch.isalnum() or ch == "*") for ch in around), (
                    text, out)
                at = view.find(number, at + 1)


def test_plain_text_takes_the_fast_path() -> None:
    assert mask_module._ESCAPE_HINT.search("用户13812345678的卡余额不足 card=4111") is None
