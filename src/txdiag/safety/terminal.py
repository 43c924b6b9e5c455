"""Make untrusted log text harmless on a terminal, in tables, Markdown, CSV and on stderr.

Log lines come from payment channels and users, so they may carry escape sequences that recolour
or retitle the terminal, hide text, forge hyperlinks (OSC 8), reorder what is shown (bidi
overrides, "Trojan Source"), or embed newlines that forge extra table rows or log lines. Text
read with ``errors="surrogateescape"`` may also hold lone surrogates, which crash ``print``.

* :func:`strip_ansi` removes escape sequences so that a coloured line is *classified* like a
  plain one;
* :func:`visible` turns every remaining dangerous character into a visible escape before text is
  *displayed*;
* :func:`neutralize_csv_cell` stops spreadsheet formula injection in exported CSV.

Rich markup (``[bold]``) and emoji codes (``:smile:``) are ordinary text here: the renderer
must never interpret untrusted text as markup, so nothing needs escaping for it.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["BIDI_CONTROLS", "ZERO_WIDTH", "neutralize_csv_cell", "strip_ansi", "visible"]

# --------------------------------------------------------------------------------------------
# strip_ansi

_ANSI_START = re.compile("[\x1b\x90\x98\x9b\x9d\x9e\x9f]")
_ANSI_RE = re.compile(
    r"""
      (?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?                          # CSI ... final byte
    | (?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?        # OSC ... BEL or ST
    | (?:\x1b[PX^_]|[\x90\x98\x9e\x9f])[^\x1b\x9c]*(?:\x1b\\|\x9c)?  # DCS/SOS/PM/APC ... ST
    | \x1b[ -/]*[0-~]?                                           # other ESC sequences, lone ESC
    """,
    re.VERBOSE,
)


def strip_ansi(text: str) -> str:
    """Remove ANSI/VT escape sequences (7-bit and 8-bit forms) from ``text``.

    Used before classification so that ``\\x1b[31mACQ.SYSTEM_ERROR\\x1b[0m`` matches the same
    rules as ``ACQ.SYSTEM_ERROR``. Handles CSI (``ESC [`` or ``\\x9b``, parameters, final byte),
    OSC (``ESC ]`` or ``\\x9d`` up to BEL or ST, e.g. window titles and OSC 8 hyperlinks), the
    DCS/SOS/PM/APC strings and two-byte escapes. A sequence left unterminated runs to the end of
    the string (or to the next ESC), as a terminal would swallow it. Other control characters
    are kept: making them visible is :func:`visible`'s job.
    """
    if _ANSI_START.search(text) is None:
        return text
    return _ANSI_RE.sub("", text)


# --------------------------------------------------------------------------------------------
# visible

BIDI_CONTROLS: Final = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
ZERO_WIDTH: Final = "\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff"
"""Invisible characters: zero-width space, non-joiner and joiner, word joiner, the invisible
math operators and the zero-width no-break space (BOM). They hide inside codes and numbers
(``ACQ.SYSTEM\\u200b_ERROR`` looks like a known code and matches no rule), so they are shown."""
_UNSAFE_RE = re.compile(
    "[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff"
    + BIDI_CONTROLS
    + ZERO_WIDTH
    + "]"
)


def _escape(code: int) -> str:
    """The visible escape for one unsafe code point, in Python string-literal style."""
    if code == 0x0A:
        return "\\n"
    if code == 0x0D:
        return "\\r"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


_ESCAPES: Final[dict[int, str]] = {
    code: _escape(code)
    for code in (
        *range(0x00, 0x09),
        *range(0x0A, 0x20),
        *range(0x7F, 0xA0),
        0x2028,
        0x2029,
        *range(0xD800, 0xE000),
        *map(ord, BIDI_CONTROLS),
        *map(ord, ZERO_WIDTH),
    )
}


def visible(text: str) -> str:
    """Return ``text`` with every character that could act on a terminal or layout escaped.

    Escaped as ``\\n``, ``\\r``, ``\\x1b``, ``\\u202e`` ...: C0 controls except tab (so embedded
    newlines can never forge an extra row or log line), DEL, C1 controls (U+0080-U+009F,
    including the 8-bit CSI and NEL), the line and paragraph separators U+2028/U+2029 (line
    breaks for ``str.splitlines`` and many viewers), the bidi controls (U+061C, U+200E, U+200F,
    U+202A-U+202E, U+2066-U+2069), the zero-width and invisible characters (U+200B-U+200D,
    U+2060-U+2064, U+FEFF) and lone surrogates (from ``surrogateescape`` decoding; they cannot
    be encoded for output).

    This is for display only and is not reversible: a literal backslash stays a single
    backslash, so the text ``\\n`` and an escaped newline look the same. Clean text (the usual
    case) is returned unchanged after one regex search.
    """
    if _UNSAFE_RE.search(text) is None:
        return text
    return text.translate(_ESCAPES)


# --------------------------------------------------------------------------------------------
# CSV

_CSV_FORMULA_START: Final = frozenset("=+-@\t\r\n")
_PLAIN_NEGATIVE_NUMBER = re.compile(r"-[0-9]+(?:\.[0-9]+)?")


def neutralize_csv_cell(text: str) -> str:
    """Prefix ``'`` to a CSV cell that a spreadsheet would run as a formula.

    Follows the OWASP CSV-injection guidance: a cell starting with ``=``, ``+``, ``-``, ``@``,
    tab or CR (and LF, for good measure) gets a leading single quote. One exception keeps
    exported amounts numeric: a cell that is entirely a plain negative decimal number
    (``-12.50``, ``-3``; ASCII digits, optional fraction, no exponent, no thousands separator)
    is left as is, since a spreadsheet reads it as a number and never as a formula. ``+12``
    is neutralised: txdiag never writes numbers that way. Quoting and escaping of ``"`` and
    ``,`` stay the job of the CSV writer.
    """
    if not text or text[0] not in _CSV_FORMULA_START:
        return text
    if _PLAIN_NEGATIVE_NUMBER.fullmatch(text) is not None:
        return text
    return "'" + text
