"""Mask personal data and secrets in log text before txdiag shows or exports it.

Transaction logs carry card numbers, mobile numbers, resident ID numbers, e-mail addresses and
credentials. Every field txdiag displays goes through :func:`mask_text`, so it has to be both
*safe* (a value that looks like personal data is masked even inside Chinese text, JSON or a URL)
and *cheap* (most fields contain nothing to mask and must come back almost for free).

Two precompiled regex passes with validating callbacks do the work: secrets first
(:mod:`txdiag.safety.secrets`), then personal data (:mod:`txdiag.safety.pii`). This module runs
them, with one shared pre-check for the common case of text with nothing to mask, looks through
escape sequences and invisible characters that could hide a number, and masks parsed records
(:func:`mask_value`: the keys of a record say what its values are) and URLs
(:func:`redact_url`). The output is stable: ``mask_text(mask_text(x)) == mask_text(x)``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final, Literal
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from txdiag.safety.pii import EPOCH_MS_RANGE, glued, mask_odd_runs, mask_personal
from txdiag.safety.secrets import (
    REDACTED,
    SECRET_HINT_PATTERN,
    SECRET_PARAM_NAMES,
    is_secret_name,
    redact_credential,
    redact_secrets,
    redact_secrets_unchecked,
    secret_key_hint,
    shaped_secret_hint,
    snake_name,
)
from txdiag.safety.terminal import BIDI_CONTROLS, ZERO_WIDTH, strip_ansi

__all__ = [
    "EPOCH_MS_RANGE",
    "REDACTED",
    "SECRET_PARAM_NAMES",
    "is_secret_name",
    "mask_text",
    "mask_value",
    "redact_url",
]

_ANY_HINT = re.compile(rf"[0-9@:=>_\-%](?:(?<=[0-9@])|{SECRET_HINT_PATTERN})")
"""Anything either pass could act on, in the lower-cased reversed text: a digit, ``@``, or a
secret's hint (one scan instead of two for the text that holds nothing to mask)."""


def _mask_plain(text: str) -> str:
    """Both passes over ``text`` as one string (the common case: no escape sequence in it)."""
    reversed_lower = text.lower()[::-1]
    shaped = shaped_secret_hint(text, reversed_lower)
    if not shaped and _ANY_HINT.search(reversed_lower) is None:
        return text
    if shaped or secret_key_hint(reversed_lower):
        text = redact_secrets_unchecked(text)
    return mask_personal(text)


# --------------------------------------------------------------------------------------------
# escape sequences next to personal data
#
# A digit run glued to an ASCII letter is not masked (``TXN4111111111111111`` is an order id).
# Escape sequences end in letters and digits too: ``\x1b[1m4111111111111111`` (a highlighted
# card), and, written out as text, ``\n4111...`` or ``\u001b[31m4111...`` (double-encoded JSON,
# Python reprs, our own visible() output in an error message). Those letters are not part of the
# number, so the text is cut between an escape ending in such a character and a digit that
# follows it, and around the parameters of a CSI sequence and before a final byte that is a
# digit (visible() shows them, so they count as text), and each piece is masked alone. Nowhere
# else: a cut after a blank or "-" would split a grouped number (``\x9b<130 0000 0000``).
# Raw escape sequences are also invisible on a terminal, and so are zero-width and bidi
# characters, so a number or secret split by them (``4111\x1b[0m111111111111``,
# ``138\u200b12345678``, ``password=\x1b[1mhunter2``) is looked for in the text with them
# removed; when that finds more, they are dropped and that text is masked.

_WRITTEN_ESC = r"(?:\\(?:x1[bB]|u001[bB]|033|e)|\^\[)"
_ESCAPE_HINT = re.compile(f"[\x1b\x90\x98\x9b\x9d\x9e\x9f{BIDI_CONTROLS}{ZERO_WIDTH}\\\\^]")
_ESCAPES_RE = re.compile(
    rf"""
      (?P<intro>\x1b\[|\x9b|{_WRITTEN_ESC}\[|\\x9[bB])[0-?]*[ -/]*(?P<final>[@-~]?)
    | (?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?
    | (?:\x1b[PX^_]|[\x90\x98\x9e\x9f])[^\x1b\x9c]*(?:\x1b\\|\x9c)?
    | (?:\x1b|{_WRITTEN_ESC})[ -/]*(?P<efinal>[0-~]?)
    | \\(?:x[0-9A-Fa-f]{{2}}|u[0-9A-Fa-f]{{4}}|U[0-9A-Fa-f]{{8}}|[nrtvfbae0])
    """,
    re.VERBOSE,
)
_INVISIBLE = re.compile(f"[\x1b\x90\x98\x9b\x9d\x9e\x9f{BIDI_CONTROLS}{ZERO_WIDTH}]")
_WRITTEN_NUL_BEFORE_DIGIT = re.compile(r"\\0(?=[0-9])")
"""``\\0`` before a digit reads two ways: a written-out NUL and a number (``\\013812345678``),
or a backslash and a number that starts with 0 (``C:\\logs\\008613812345678``, the ``0086``
prefix). Such text is masked both ways, one after the other."""
_INVISIBLE_CHARS = re.compile(f"[{BIDI_CONTROLS}{ZERO_WIDTH}]")
_MAX_ROUNDS: Final = 4


def _cut_points(text: str, *, written_nul: bool = True) -> list[int]:
    """Where an escape sequence ends and a digit begins, and around CSI parameters.

    With ``written_nul=False`` a ``\\0`` before a digit is read as a backslash and the digit
    (see :data:`_WRITTEN_NUL_BEFORE_DIGIT`).
    """
    cuts: list[int] = []
    for m in _ESCAPES_RE.finditer(text):
        if not written_nul and m.group() == "\\0" and "0" <= text[m.end() : m.end() + 1] <= "9":
            continue
        if m.group("intro"):  # "\\x9b" written out ends in a letter
            cuts.append(m.end("intro"))
        final = m.group("final")
        if final and final not in "Xx":  # an ID number's check character stays with its digits
            cuts.append(m.start("final"))
        if "0" <= (m.group("efinal") or "x") <= "9":  # "\x1b 1", "\x1b7": a digit is shown
            cuts.append(m.start("efinal"))
            continue
        # Only where the sequence ends in a character that would glue to the digit after it
        # (``\n4111``, ``\x1b[1m4111``). A CSI left without a final byte ends in a parameter
        # or an intermediate byte, and a blank or "-" there is the separator of a grouped
        # number whose first group is the parameter (``\x9b<130 0000 0000``): cutting would
        # split the number into pieces that each look harmless.
        end = m.end()
        if end < len(text) and "0" <= text[end] <= "9" and glued(text, end - 1):
            cuts.append(end)
    return cuts


def _mask_pieces(text: str, cuts: list[int]) -> str:
    """Mask the pieces of ``text`` between the cut points, each alone."""
    bounds = [0, *cuts, len(text)]
    return "".join(mask_personal(text[a:b]) for a, b in zip(bounds, bounds[1:], strict=False))


def _mask_round(text: str) -> tuple[str, bool]:
    """One masking of text holding escapes; True when the result is certainly final."""
    text = redact_secrets(text)
    cuts = _cut_points(text)
    raw = _INVISIBLE.search(text) is not None
    if not cuts and not raw:
        return mask_personal(text), True
    masked = _mask_pieces(text, cuts)
    if _WRITTEN_NUL_BEFORE_DIGIT.search(masked) is not None:
        masked = _mask_pieces(masked, _cut_points(masked, written_nul=False))
    if raw:
        stripped = _INVISIBLE_CHARS.sub("", strip_ansi(masked))
        again = mask_text(stripped)  # nothing invisible left: this does not come back here
        if again != stripped:
            return again, False
    return masked, False


def _mask_escaped(text: str) -> str:
    """Mask text holding escapes, repeating until nothing changes (that keeps it idempotent)."""
    for _ in range(_MAX_ROUNDS):
        masked, final = _mask_round(text)
        if final or masked == text:
            return masked
        text = masked
    # Not reached in practice (tests check); without any escape the plain passes are idempotent.
    return _mask_plain(_ESCAPES_RE.sub(" ", _INVISIBLE_CHARS.sub("", strip_ansi(text))))



def mask_text(text: str) -> str:
    """Return ``text`` with personal data masked and secret values redacted.

    Runs on every displayed field, so text with nothing to mask (no digit, no ``@``, no secret
    key before a separator, no token prefix) returns after four substring tests and one regex
    scan of the lower-cased, reversed text. Only candidates found by the precompiled regexes
    reach the Luhn / ID / mobile validators. Idempotent: masking masked text changes nothing.

    Escape sequences, raw (``\\x1b[1m``) or written out (``\\n``, ``\\u001b[31m``), never glue
    to a number after them; a number or secret split by raw escape sequences is masked too,
    and the sequences in that text are then dropped.
    """
    text = mask_odd_runs(text)
    if _ESCAPE_HINT.search(text) is None:
        return _mask_plain(text)
    return _mask_escaped(text)



_Kind = Literal["secret", "card", "id", "mobile", "email", "name"]

_KEY_KINDS: Final[dict[str, _Kind]] = {
    **dict.fromkeys(
        (
            "card_no",
            "card_num",
            "card_number",
            "cardno",
            "cardnum",
            "pan",
            "acct_no",
            "account_no",
            "account_number",
            "bank_account",
            "bank_card",
            "bank_card_no",
            "credit_card",
            "credit_card_no",
            "cc_number",
            "primary_account_number",
        ),
        "card",
    ),
    **dict.fromkeys(
        (
            "id_card",
            "id_card_no",
            "idcard",
            "id_no",
            "idno",
            "id_number",
            "cert_no",
            "certificate_no",
            "identity_card",
            "identity_no",
            "resident_id",
        ),
        "id",
    ),
    **dict.fromkeys(
        (
            "mobile",
            "mobile_no",
            "mobile_phone",
            "phone",
            "phone_no",
            "phone_number",
            "tel",
            "telephone",
            "cellphone",
            "msisdn",
        ),
        "mobile",
    ),
    **dict.fromkeys(("email", "email_address", "e_mail", "mail"), "email"),
    **dict.fromkeys(
        (
            "name",
            "holder_name",
            "card_holder",
            "cardholder",
            "cardholder_name",
            "card_holder_name",
            "account_name",
            "acct_name",
            "payer_name",
            "real_name",
            "full_name",
            "customer_name",
            "cust_name",
            "持卡人",
            "户名",
            "开户名",
            "姓名",
        ),
        "name",
    ),
}
_KEEP_ENDS: Final[dict[_Kind, tuple[int, int]]] = {
    "card": (6, 4), "id": (6, 4), "mobile": (3, 4), "name": (1, 0)}


def _key_kind(key: str) -> _Kind | None:
    """What a dict key says about its value: a secret, a kind of personal data, or nothing."""
    if is_secret_name(key):
        return "secret"
    snake = snake_name(key)
    return _KEY_KINDS.get(snake) or _KEY_KINDS.get(snake.replace("_", ""))


def _keep_ends(value: str, head: int, tail: int) -> str:
    """Star the middle of ``value``; short values lose their head, then their tail, too.

    At least four characters are always starred, and the length is kept so the result is stable
    under repetition.
    """
    if len(value) < head + tail + 4:
        head = 0
    if len(value) < tail + 4:
        tail = 0
    return value[:head] + "*" * (len(value) - head - tail) + value[len(value) - tail :]


def _mask_str(value: str, kind: _Kind | None) -> str:
    """Mask a string field; a key that names the kind of data masks it even when unvalidated.

    Separators are dropped before forcing a mask so that ``4111 1111 1111 1112`` under
    ``card_no`` reads like a masked card; values that already contain ``*`` are left alone, which
    keeps the result stable under repetition.
    """
    if kind == "secret":
        return redact_credential(value)
    masked = mask_text(value)
    # A "*" means masked already, by mask_text or upstream (many gateways log 411111******1111).
    if kind is None or not masked or "*" in masked:
        return masked
    if kind == "email":
        local, at, domain = value.partition("@")
        return f"{local[:1]}***@{domain}" if at else _keep_ends(value, 0, 0)
    head, tail = _KEEP_ENDS[kind]
    if kind == "name":
        return _keep_ends(value, head, tail)
    return _keep_ends(value.replace(" ", "").replace("-", ""), head, tail)


def _mask_value(value: object, kind: _Kind | None) -> object:
    """Recursive worker of :func:`mask_value`; ``kind`` comes from the nearest telling key."""
    if isinstance(value, str):
        return _mask_str(value, kind)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if kind == "secret":
            return REDACTED
        text = str(value)
        masked = _mask_str(text, kind)
        return value if masked == text else masked
    if isinstance(value, float):
        return REDACTED if kind == "secret" else value
    if isinstance(value, Mapping):
        # Keys are masked too: some logs key a map by card or phone number.
        return {
            (mask_text(k) if isinstance(k, str) else k):
                _mask_value(v, (_key_kind(k) if isinstance(k, str) else None) or kind)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_mask_value(v, kind) for v in value]
    if isinstance(value, tuple):
        return tuple(_mask_value(v, kind) for v in value)
    return value


def mask_value(value: object) -> object:
    """Mask a parsed log record (str, dict, list, tuple, numbers) recursively.

    Strings go through :func:`mask_text`. Dict keys give context that free text lacks, so a value
    under a secret key (:func:`is_secret_name`: ``token``, ``password``, ``authorization``...)
    is redacted whole, and a value under a personal-data key (``card_no``/``cardNo``/``pan``,
    ``id_card``/``idNo``, ``mobile``/``phone``, ``email``) is masked even when it fails the
    checks, and a value under a name key (``name``, ``holder_name``, ``持卡人``...) keeps only its
    first character. Integers that mask as personal data become masked strings; ``None``,
    booleans and other numbers stay (``password: null`` is diagnostic). Dict keys are masked as
    text (a card number used as a key); mappings come back as ``dict`` and other objects
    unchanged.
    """
    return _mask_value(value, None)


def _redact_query(query: str) -> str:
    """Redact the values of secret parameters in a query string, leaving its spelling intact."""
    parts = []
    for piece in query.split("&"):
        name, eq, val = piece.partition("=")
        if eq and val and is_secret_name(unquote_plus(name)):
            piece = f"{name}={REDACTED}"
        parts.append(piece)
    return "&".join(parts)


def redact_url(url: str) -> str:
    """Make a URL safe to show: drop userinfo, redact secret query/fragment values, mask PII.

    ``https://user:pw@api.example.com/pay?sign=ab12&amount=1`` becomes
    ``https://api.example.com/pay?sign=[REDACTED]&amount=1``. The userinfo is removed rather
    than redacted because a URL is often copied, and a copied placeholder still looks like a
    login. Path, query and fragment then go through :func:`mask_text` one by one (so a mobile
    number in the path is masked and a ``;jsessionid=`` path parameter cannot swallow the
    query). Text that is not a parseable URL is only masked.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return mask_text(url)
    netloc = mask_text(parts.netloc.rpartition("@")[2])
    query = mask_text(_redact_query(parts.query))
    fragment = parts.fragment
    fragment = mask_text(_redact_query(fragment) if "=" in fragment else fragment)
    return urlunsplit((parts.scheme, netloc, mask_text(parts.path), query, fragment))
