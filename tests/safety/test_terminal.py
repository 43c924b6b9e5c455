"""Tests for txdiag.safety.terminal: untrusted text must not act on terminals, tables or CSV."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from txdiag.safety import neutralize_csv_cell, strip_ansi, visible

NASTY_DIR = Path(__file__).parent.parent / "data" / "nasty"
NASTY_FILES = sorted(NASTY_DIR.glob("*.txt"))

BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff"


def is_unsafe(ch: str) -> bool:
    """Independent statement of what visible() must never let through."""
    code = ord(ch)
    return (
        (code < 0x20 and ch != "\t")
        or 0x7F <= code <= 0x9F
        or ch in BIDI
        or ch in ZERO_WIDTH
        or ch in "\u2028\u2029"
        or 0xD800 <= code <= 0xDFFF
    )


def assert_display_safe(out: str) -> None:
    bad = [hex(ord(ch)) for ch in out if is_unsafe(ch)]
    assert not bad, f"unsafe characters left: {bad}"
    out.encode("utf-8")  # no lone surrogates: printable on any UTF-8 stream
    assert len(out.splitlines()) <= 1  # cannot forge extra rows or log lines


def unescape(out: str) -> str:
    """Undo visible() for text that contained no backslash (test helper only)."""
    table = {"n": "\n", "r": "\r"}
    return re.sub(
        r"\\(n|r|x[0-9a-f]{2}|u[0-9a-f]{4})",
        lambda m: table.get(m.group(1)) or chr(int(m.group(1)[1:], 16)),
        out,
    )


def read_nasty(path: Path) -> str:
    return path.read_bytes().decode("utf-8", errors="surrogateescape")


# --------------------------------------------------------------------------------------------
# visible


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain text 余额不足\tTAB", "plain text 余额不足\tTAB"),
        ("line1\nline2", "line1\\nline2"),
        ("a\r\nb", "a\\r\\nb"),
        ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
        ("nul\x00bel\x07del\x7f", "nul\\x00bel\\x07del\\x7f"),
        ("c1\x85\x9b", "c1\\x85\\x9b"),
        ("gpj.exe\u202e", "gpj.exe\\u202e"),
        ("\u2066x\u2069\u200f\u061c", "\\u2066x\\u2069\\u200f\\u061c"),
        ("ls\u2028ps\u2029", "ls\\u2028ps\\u2029"),
        ("bad \udcff byte", "bad \\udcff byte"),
        ("ACQ.SYSTEM\u200b_ERROR\ufeff", "ACQ.SYSTEM\\u200b_ERROR\\ufeff"),
        ("13812\u200d345678 \u2060\u200c\u2064", "13812\\u200d345678 \\u2060\\u200c\\u2064"),
        ("back\\slash \\n stays", "back\\slash \\n stays"),
        (
            "[bold red]x[/] [link=https://e.example]y[/link]",
            "[bold red]x[/] [link=https://e.example]y[/link]",
        ),
        (":smile: :warning:", ":smile: :warning:"),
        ("", ""),
    ],
)
def test_visible_examples(text: str, expected: str) -> None:
    assert visible(text) == expected


def test_visible_returns_clean_text_itself() -> None:
    text = "payment failed: ACQ.SYSTEM_ERROR 余额不足"
    assert visible(text) is text


ANY_CHAR = st.characters(exclude_categories=())  # includes controls and lone surrogates
DANGEROUS = st.sampled_from(
    [chr(c) for c in (*range(0x20), *range(0x7F, 0xA0))]
    + list(BIDI)
    + ["\u2028", "\u2029", "\udc80"]
)


@given(st.text(ANY_CHAR | DANGEROUS, max_size=80))
def test_visible_output_is_always_safe(text: str) -> None:
    out = visible(text)
    assert_display_safe(out)
    assert visible(out) == out


@given(st.text(ANY_CHAR | DANGEROUS, max_size=80).filter(lambda t: "\\" not in t))
def test_visible_only_escapes_and_loses_nothing(text: str) -> None:
    assert unescape(visible(text)) == text


@given(
    st.text(
        st.characters(exclude_categories=("Cc", "Cs")).filter(
            lambda c: c not in BIDI + ZERO_WIDTH + "\u2028\u2029"
        )
    )
)
def test_visible_keeps_safe_text_unchanged(text: str) -> None:
    assert visible(text) == text


# --------------------------------------------------------------------------------------------
# strip_ansi


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\x1b[31mACQ.SYSTEM_ERROR\x1b[0m", "ACQ.SYSTEM_ERROR"),
        ("\x1b[1;38;5;196mbold\x1b[m \x1b[38;2;255;0;0mtrue\x1b[0m", "bold true"),
        ("\x9b31mred\x9b0m", "red"),  # 8-bit CSI
        ("\x1b]0;title\x07text", "text"),  # OSC terminated by BEL
        ("\x1b]2;title\x1b\\text", "text"),  # OSC terminated by ST
        ("\x9d0;title\x9ctext", "text"),  # 8-bit OSC and ST
        ("\x1b]8;;https://evil.example\x1b\\link\x1b]8;;\x1b\\", "link"),
        ("keep \x1b]0;unterminated title", "keep "),
        ("keep \x1b[31", "keep "),  # unterminated CSI
        ("a\x1bcb\x1b7c\x1b(Bd", "abcd"),  # two-byte escapes and charset selection
        ("x\x1bP+q544e\x1b\\y", "xy"),  # DCS
        ("lone escape at end\x1b", "lone escape at end"),
        ("\x1b[?1049h\x1b[2J\x1b[Hscreen", "screen"),
        ("tab\tand\nnewline stay", "tab\tand\nnewline stay"),
        ("[bold]not ansi[/]", "[bold]not ansi[/]"),
    ],
)
def test_strip_ansi_examples(text: str, expected: str) -> None:
    assert strip_ansi(text) == expected


def test_strip_ansi_returns_clean_text_itself() -> None:
    text = "ACQ.SYSTEM_ERROR 余额不足"
    assert strip_ansi(text) is text


PLAIN = st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=20)
SGR_PARAM = st.sampled_from(["0", "1", "4", "31", "38;5;196", "48;2;1;2;3", "39", ""])
SGR = st.lists(SGR_PARAM, max_size=3).map(lambda ps: "\x1b[" + ";".join(ps) + "m")
OSC8 = st.sampled_from(["\x1b]8;;https://x.example\x1b\\", "\x1b]8;;\x07", "\x1b]0;t\x07"])


@given(st.lists(st.tuples(st.one_of(SGR, OSC8, st.just("")), PLAIN), max_size=6))
def test_strip_ansi_removes_colour_codes(pieces: list[tuple[str, str]]) -> None:
    coloured = "".join(code + text for code, text in pieces)
    plain = "".join(text for _, text in pieces)
    assert strip_ansi(coloured) == plain


ESCAPE_PIECES = st.sampled_from(
    ["\x1b", "\x1b[", "\x1b]", "\x1bP", "\x9b", "\x9d", "\x9c", "\x07", "\\"]
)


@given(st.lists(ANY_CHAR | ESCAPE_PIECES, max_size=40).map("".join))
def test_strip_ansi_leaves_no_escape_introducer(text: str) -> None:
    out = strip_ansi(text)
    assert not set(out) & set("\x1b\x90\x98\x9b\x9d\x9e\x9f")
    assert strip_ansi(out) == out


# --------------------------------------------------------------------------------------------
# neutralize_csv_cell


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=1+1", "'=1+1"),
        ('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("\n=1+1", "'\n=1+1"),
        ("+12", "'+12"),  # only negative plain numbers are exempt
        ("-", "'-"),
        ("-1e5", "'-1e5"),
        ("-1,234.50", "'-1,234.50"),
        ("-12.50", "-12.50"),
        ("-3", "-3"),
        ("-0.5", "-0.5"),
        ("12.50", "12.50"),
        ("ACQ.SYSTEM_ERROR", "ACQ.SYSTEM_ERROR"),
        ("a=b", "a=b"),
        ("'=already", "'=already"),
        ("", ""),
    ],
)
def test_neutralize_csv_cell(cell: str, expected: str) -> None:
    assert neutralize_csv_cell(cell) == expected


@given(st.text(max_size=20))
def test_neutralized_cells_never_start_a_formula(cell: str) -> None:
    out = neutralize_csv_cell(cell)
    if out and out[0] in "=+-@\t\r\n":
        assert re.fullmatch(r"-[0-9]+(?:\.[0-9]+)?", out)
    assert neutralize_csv_cell(out) == out
    assert out.endswith(cell)


# --------------------------------------------------------------------------------------------
# the nasty-input corpus


def test_corpus_is_present() -> None:
    names = {p.name for p in NASTY_FILES}
    assert {
        "ansi_colored.txt",
        "osc_title.txt",
        "osc8_hyperlink.txt",
        "bidi_override.txt",
        "rich_markup.txt",
        "emoji_codes.txt",
        "embedded_newlines.txt",
        "csv_formula.txt",
        "c1_controls.txt",
    } <= names


@pytest.mark.parametrize("path", NASTY_FILES, ids=lambda p: p.name)
def test_every_nasty_file_is_display_safe(path: Path) -> None:
    text = read_nasty(path)
    assert_display_safe(visible(text))
    assert_display_safe(visible(strip_ansi(text)))
    for line in text.split("\n"):
        assert_display_safe(visible(neutralize_csv_cell(line)))


@pytest.mark.parametrize("path", NASTY_FILES, ids=lambda p: p.name)
def test_every_nasty_file_loses_its_escape_sequences(path: Path) -> None:
    stripped = strip_ansi(read_nasty(path))
    assert "\x1b" not in stripped
    assert "\x9b" not in stripped


def test_nasty_ansi_colored() -> None:
    text = read_nasty(NASTY_DIR / "ansi_colored.txt")
    assert strip_ansi(text) == "ACQ.SYSTEM_ERROR bold red truecolor\n"


def test_nasty_osc_title() -> None:
    text = read_nasty(NASTY_DIR / "osc_title.txt")
    assert strip_ansi(text) == "beforeafter\n"
    assert visible(text).startswith("\\x1b]0;pwned title\\x07")


def test_nasty_osc8_hyperlink() -> None:
    text = read_nasty(NASTY_DIR / "osc8_hyperlink.txt")
    assert strip_ansi(text) == "Click for refund\n"


def test_nasty_unterminated_osc_swallows_rest() -> None:
    assert strip_ansi(read_nasty(NASTY_DIR / "unterminated_osc.txt")) == "visible "


def test_nasty_bidi_override() -> None:
    out = visible(read_nasty(NASTY_DIR / "bidi_override.txt"))
    assert "invoice_\\u202egpj.exe\\u202c" in out
    assert not set(out) & set(BIDI)


@pytest.mark.parametrize("name", ["rich_markup.txt", "emoji_codes.txt"])
def test_nasty_markup_is_left_as_text(name: str) -> None:
    text = read_nasty(NASTY_DIR / name).removesuffix("\n")
    assert visible(text) == text
    assert strip_ansi(text) == text


def test_nasty_embedded_newlines() -> None:
    out = visible(read_nasty(NASTY_DIR / "embedded_newlines.txt"))
    assert out.startswith("ACQ.SYSTEM_ERROR\\nFAKE,ROW,injected\\r\\n| forged")
    assert "\\x0b" in out and "\\x85" in out and "\\u2028" in out
    assert len(out.splitlines()) == 1


def test_nasty_csv_formulas() -> None:
    lines = [ln for ln in read_nasty(NASTY_DIR / "csv_formula.txt").split("\n") if ln]
    out = [neutralize_csv_cell(ln) for ln in lines]
    assert out[-2:] == ["-12.50", "-3"]
    assert all(cell.startswith("'") for cell in out[:-2])


def test_nasty_c1_controls() -> None:
    text = read_nasty(NASTY_DIR / "c1_controls.txt")
    out = visible(text)
    assert out.startswith("".join(f"\\x{c:02x}" for c in range(0x80, 0xA0)))
    all_c1, rest = text[:32], text[32:]
    # the 8-bit DCS introducer (\x90) swallows everything up to the 8-bit ST (\x9c)
    assert strip_ansi(all_c1) == "".join(map(chr, range(0x80, 0x90)))
    assert strip_ansi(rest) == " 8-bit CSI red OSC  NEL\x85end\n"


def test_nasty_invalid_utf8() -> None:
    text = read_nasty(NASTY_DIR / "invalid_utf8.txt")
    out = visible(text)
    assert out.startswith("bad \\udcff\\udcfe bytes ")
