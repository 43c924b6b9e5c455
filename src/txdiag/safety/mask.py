"""Mask personal data and secrets in log text before txdiag shows or exports it.

Transaction logs carry card numbers, mobile numbers, resident ID numbers, e-mail addresses and
credentials. Every field txdiag displays goes through :func:`mask_text`, so it has to be both
*safe* (a value that looks like personal data is masked even inside Chinese text, JSON or a URL)
and *cheap* (most fields contain nothing to mask and must come back almost for free).

The shape is two precompiled regex passes with validating callbacks:

1. secrets (only when a secret key word directly precedes ``=``, ``:`` or ``>``, or a token
   prefix such as ``sk_live_``/``AKIA``/``eyJ``/``Bearer`` occurs): values of
   ``key=value`` / ``"key": "value"`` / ``Key: value`` / ``<key>value</key>`` pairs whose key
   names a secret, ``Bearer`` credentials, and tokens recognisable by shape (``sk_live_``,
   ``AKIA``, ``ghp_``, JWTs ...) become ``[REDACTED]``;
2. personal data (only when the text contains a digit or ``@``): URL userinfo, e-mail
   addresses, and digit runs that validate as a bank card (Luhn), a Chinese mobile number or a
   Chinese resident ID number (18 characters: a province code and a real birth date, the check
   character not required; or the 15-digit first generation), also when written with
   full-width digits or odd separators (:func:`_odd_runs`). Holder names after a telling key
   (``持卡人:``, ``holder_name=``) keep their first character.

What is deliberately *not* masked, because diagnosing a failed payment needs it: numbers that
fail the checks (order numbers, amounts such as ``1234.56``, dates, short codes such as ``51``),
an ungrouped 13-digit number in the epoch-milliseconds range 2000-01-01..2100-01-01 (every log
line has one; see :data:`EPOCH_MS_RANGE`), digit runs glued to an ASCII letter or digit (for
example ``TXN4111111111111111`` or hexadecimal ids), and the *names* of secret keys.

Masking keeps the first 6 and last 4 digits of a card (``622202*********0128``), the first 3
and last 4 digits of a mobile number (``138****5678``, a ``+86``/``0086``/``86`` prefix is kept
as written), the first 6 and last 4 characters of an ID number (``110105********123X``) and the
first character and domain of an e-mail address (``z***@example.com``). Separators inside a
masked number are dropped. The output is stable: ``mask_text(mask_text(x)) == mask_text(x)``,
because a digit group touching a ``*`` is never a candidate again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Final, Literal
from urllib.parse import unquote_plus, urlsplit, urlunsplit

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

REDACTED: Final = "[REDACTED]"
"""What a secret value is replaced with; chosen so that masking it again changes nothing."""

SECRET_PARAM_NAMES: Final[frozenset[str]] = frozenset(
    {
        # bearer credentials and session identifiers
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "auth_token",
        "api_token",
        "session_token",
        "security_token",
        "csrf_token",
        "xsrf_token",
        "session",
        "session_id",
        "sessionid",
        "jsessionid",
        "cookie",
        "set_cookie",
        "auth",
        "authorization",
        "proxy_authorization",
        "bearer",
        "credential",
        "credentials",
        # keys and secrets
        "key",
        "api_key",
        "apikey",
        "x_api_key",
        "app_key",
        "mch_key",
        "sign_key",
        "secret",
        "client_secret",
        "app_secret",
        "api_secret",
        "secret_key",
        "private_key",
        "access_key",
        "secret_id",
        # passwords
        "password",
        "passwd",
        "pwd",
        "pass",
        "passphrase",
        # request signatures
        "sign",
        "signature",
        "sig",
        "pay_sign",
        # card verification data and one-time codes
        "cvv",
        "cvv2",
        "cvc",
        "cvc2",
        "cvn",
        "cvn2",
        "pin",
        "otp",
    }
)
"""Parameter / field names (lower snake_case) whose *values* are secrets and are redacted whole.

Shared by :func:`mask_text` (``key=value`` and JSON-ish pairs), :func:`mask_value` (dict keys)
and :func:`redact_url` (query parameters) so the three agree on what a secret is. Names are
compared after :func:`is_secret_name` normalises them (``accessToken``, ``X-Api-Key`` and
``access-token`` all match), and a few suffixes (``..._token``, ``...Secret``,
``...Signature``) extend the set.
"""

EPOCH_MS_RANGE: Final = (946_684_800_000, 4_102_444_800_000)
"""Half-open range of epoch milliseconds, 2000-01-01T00:00Z up to 2100-01-01T00:00Z.

An *ungrouped* 13-digit number in this range is taken to be a timestamp and is never masked as a
card, even when it passes the Luhn check (about one in ten does). The price is that an obsolete
13-digit Visa number between 4000000000000 and 4102444799999 is not masked when written
without separators.
"""

# --------------------------------------------------------------------------------------------
# secret names

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NAME_PUNCTUATION = re.compile(r"[\s.\-]+")
_SQUASHED_SECRET_NAMES: Final = frozenset(name.replace("_", "") for name in SECRET_PARAM_NAMES)
# suffixes checked on the name without separators ("csrftoken", "appsecret", "xamzsignature")
_SECRET_SUFFIXES_SQUASHED: Final = (
    "token",
    "secret",
    "password",
    "passwd",
    "passphrase",
    "apikey",
    "secretkey",
    "privatekey",
    "accesskey",
    "signature",
    "sessionid",
    "credential",
    "credentials",
    "authorization",
)
# suffixes that need a word boundary ("pay_sign" is a signature, "design" is not)
_SECRET_SUFFIXES_SNAKE: Final = ("_sign", "_pwd", "_session")


def _snake(name: str) -> str:
    """Normalise a field name to lower snake_case so that spelling styles compare equal."""
    name = _CAMEL_BOUNDARY.sub("_", name.strip().strip("\"'"))
    return _NAME_PUNCTUATION.sub("_", name).lower().strip("_")


def is_secret_name(name: str) -> bool:
    """Say whether a parameter, header or field called ``name`` holds a secret.

    One predicate serves query strings, logfmt, JSON keys, headers and dict keys, so that
    ``access_token``, ``accessToken``, ``Access-Token`` and ``X-Access-Token`` are treated alike.
    ``token_type``, ``sign_type`` and ``idempotency_key`` are not secrets: they are needed to
    diagnose a failure and reveal nothing.
    """
    snake = _snake(name)
    if snake in SECRET_PARAM_NAMES:
        return True
    squashed = snake.replace("_", "")
    return (
        squashed in _SQUASHED_SECRET_NAMES
        or squashed.endswith(_SECRET_SUFFIXES_SQUASHED)
        or snake.endswith(_SECRET_SUFFIXES_SNAKE)
    )


# --------------------------------------------------------------------------------------------
# pass 1: secrets

_KEY_WORDS: Final = (
    *("token", "secret", "key", "pass", "password", "passwd", "passphrase", "pwd"),
    *("sign", "signature", "sig", "session", "sessionid", "session_id", "session-id"),
    *("auth", "authorization", "cookie", "cvv", "cvv2", "cvc", "cvc2", "cvn", "cvn2"),
    *("pin", "otp", "credential", "credentials"),
)
"""Words a secret key name ends with (lower case).

The regexes below use them only to find candidates cheaply; :func:`is_secret_name` decides, so
``monkey=3`` or ``token_type=bearer`` stay as they are.
"""


_Trie = dict[str, "_Trie"]


def _alternation(words: list[str]) -> str:
    """A regex alternation of literal ``words`` shaped as a trie (faster for the regex engine)."""
    tree: _Trie = {}
    for word in words:
        node = tree
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: _Trie) -> str:
        branches = [re.escape(ch) + emit(sub) for ch, sub in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return emit(tree)


def _ends_with_key_word() -> str:
    """Look-behinds asserting that a key word ends here (one fixed-width look-behind per length)."""
    by_length: dict[int, list[str]] = {}
    for word in _KEY_WORDS:
        by_length.setdefault(len(word), []).append(word)
    return (
        "(?i:" + "|".join(f"(?<={_alternation(ws)})" for _, ws in sorted(by_length.items())) + ")"
    )


# HTTP authentication schemes are kept in front of the redacted credential: "Bearer" vs "Basic"
# helps diagnosis and is not secret.
_SCHEMES = (
    r"(?i:bearer|basic|digest|token|negotiate|ntlm|oauth|apikey|hmac-sha256|aws4-hmac-sha256"
    r"|wechatpay2-[a-z0-9-]+)[ \t]+"
)
_SCHEME_PREFIX = re.compile(_SCHEMES)

# Cheap pre-checks. A secret key name is immediately followed by an optional quote, blanks and
# a separator, so in the lower-cased *reversed* text every key=value candidate starts with the
# separator: the regex engine skips from separator to separator instead of trying every keyword
# at every position. Token prefixes (sk_, whsec_, ghp_, xoxb-) reversed start with "_" or "-"
# the same way. Together with _shaped_secret_hint() these accept everything _SECRET_RE can
# redact (a test checks it).
_SECRET_HINT_BODY = (
    rf"(?:(?<=[:=>])|(?<=[da]3%))[ \t]*[\"']?{_alternation([w[::-1] for w in _KEY_WORDS])}"
    r"|(?<=_)(?:ks|kr|cesw|[pousr]hg|tap_buhtig)|(?<=-)[abprs]xox|(?<=-)ks"
)
_SECRET_HINT = re.compile(rf"[:=>_\-%](?:{_SECRET_HINT_BODY})")
_ANY_HINT = re.compile(rf"[0-9@:=>_\-%](?:(?<=[0-9@])|{_SECRET_HINT_BODY})")
_SHAPED_WORDS: Final = ("AKIA", "ASIA", "AKID", "AIza", "eyJ", "PRIVATE KEY", "持卡人", "户名",
                        "姓名")
_SHAPED_REVERSED: Final = ("reraeb", "eman", "redloh")  # bearer, ...name, holder...


def _shaped_secret_hint(text: str, reversed_lower: str) -> bool:
    """Secrets (and holder names) recognisable without a secret key word before a separator:
    AWS, Tencent Cloud and Google key ids, JWTs, PEM private keys, bearer credentials, and
    ``持卡人:``, ``holder_name=`` and the like."""
    return any(word in text for word in _SHAPED_WORDS) or any(
        word in reversed_lower for word in _SHAPED_REVERSED)


_KEY_END = _ends_with_key_word()
_SECRET_RE = re.compile(
    rf"""
    # Cookie / Set-Cookie header: every cookie in it is a credential, redact to end of line
      (?<![A-Za-z0-9_.\-])(?P<ckname>(?i:set-cookie|cookie))(?P<cksep>[ \t]*:[ \t]*)
      (?P<ckval>\[REDACTED\]|[^\s"'][^\r\n"']*)
    # PEM private keys, whole (the base64 body holds no "-")
    | (?P<pem>-----BEGIN[ ](?:[A-Z0-9]+[ ])*PRIVATE[ ]KEY-----)[^-]*+
      (?P<pemend>-----END[ ](?:[A-Z0-9]+[ ])*PRIVATE[ ]KEY-----)?
    # a cardholder's name after a telling key: personal data, masked like one
    | (?P<hname>持卡人|开户名|户名|姓名
        |(?<![A-Za-z0-9_])(?i:card_?holder(?:_?name)?|holder_?name|account_?name|payer_?name
                            |real_?name|customer_?name|cust_?name))
      (?P<hsep>["']?[ \t]*[:=：][ \t]*["']?)
      (?P<hval>[\u4e00-\u9fff·]{{1,12}}|[A-Za-z][A-Za-z.'\-]*(?:[ ][A-Za-z][A-Za-z.'\-]*)?)
    # key=value, key: value, "key": "value", 'key': 'value' (also URL-encoded: key%3Dvalue)
    | (?:(?<![A-Za-z0-9_.\-])|(?<=%2[6Ff])|(?<=%3[Ff]))(?P<kq>["']?)(?P<kname>[A-Za-z0-9_.\-]++)
      (?=["']?[ \t]*(?:[:=]|%3[DdAa])){_KEY_END}(?P=kq)
      (?P<ksep>[ \t]*(?:[:=]|%3[DdAa])[ \t]*)
      (?:
          (?P<kvq>["'])(?P<kqv>(?:(?!(?P=kvq))[^\\\n]|\\.)*)(?P<kqe>(?P=kvq)?)
        | (?P<kscheme>{_SCHEMES})?(?P<kbare>(?:\[REDACTED\]|[^\s&,;"'<>)}}\]])++)
      )
    # <sign>...</sign>, <sign><![CDATA[...]]></sign> (WeChat Pay v2 XML)
    | <(?P<xname>[A-Za-z0-9_.\-]++){_KEY_END}>
      (?P<xval><!\[CDATA\[[^<]*?\]\]>|[^<]*)</(?P=xname)>  # [^<]: linear time
    # a bare bearer credential anywhere (a whole b64token, so not "bearer sign_type=RSA2").
    # Like every shaped token below, not when it touches a "*" or a value redacted already
    # (masked output, e.g. "Bearer 0-021234*********0212"): that keeps masking idempotent.
    | (?<![A-Za-z0-9_])(?P<bscheme>(?i:bearer)[ \t]+)
      (?P<btok>[A-Za-z0-9\-._~+/]{{8,}}+=*+)(?![A-Za-z0-9\-._~+/=*]|\[REDACTED\])
    # tokens recognisable by shape; the public type prefix is kept
    | (?<![A-Za-z0-9_])
      (?:
          (?P<tpre>(?:sk|rk)_(?:live|test)_|whsec_|gh[pousr]_|github_pat_|xox[abprs]-
                   |sk-(?:proj-|ant-|svcacct-|admin-)?)
          (?P<tbody>[A-Za-z0-9_\-+/=]{{8,}}+)(?!\*)
        | (?P<apre>AKIA|ASIA)(?P<abody>[A-Z0-9]{{16}})(?![A-Za-z0-9*])
        | (?P<gpre>AIza|AKID)(?P<gbody>[0-9A-Za-z_\-]{{13,}}+)(?![*])
      )
    # JSON Web Tokens
    | (?<![A-Za-z0-9_\-])(?P<jwt>eyJ[A-Za-z0-9_\-]{{4,}}\.eyJ[A-Za-z0-9_\-]{{4,}}\.[A-Za-z0-9_\-]*)
    """,
    re.VERBOSE,
)

_NOT_SECRET_LITERALS: Final = frozenset({"null", "none", "nil", "true", "false", "undefined"})
"""Bare values kept after a secret key: ``password=null`` says the password was missing."""


def _redact_credential(value: str) -> str:
    """Redact a secret value but keep an HTTP auth scheme in front of it (``Bearer [REDACTED]``)."""
    if not value:
        return value
    scheme = _SCHEME_PREFIX.match(value)
    if scheme is not None and scheme.end() < len(value):
        return scheme.group() + REDACTED
    return REDACTED


def _unless_secret_inside(m: re.Match[str], name_group: str) -> str:
    """A key=value match whose key is no secret: the key as is, the rest masked on its own."""
    cut = m.end(name_group) - m.start()
    text = m.group()
    return text[:cut] + _SECRET_RE.sub(_mask_secret, text[cut:])


def _mask_secret(m: re.Match[str]) -> str:
    """Replace the value part of one secret match; keys, quotes and separators stay."""
    if (ckname := m.group("ckname")) is not None:
        return ckname + m.group("cksep") + REDACTED
    if (pem := m.group("pem")) is not None:
        return pem + REDACTED + (m.group("pemend") or "")
    if (hname := m.group("hname")) is not None:
        value = m.group("hval")
        return hname + m.group("hsep") + value[0] + "*" * (len(value) - 1)
    if (kname := m.group("kname")) is not None:
        if not is_secret_name(kname):
            # Not a secret key ("XAuthorization", "monkey"), but its value may still hold a
            # credential ("Bearer ...", "sk_live_..."): run this pass over what follows the key.
            return _unless_secret_inside(m, "kname")
        head = m.group("kq") + kname + m.group("kq") + m.group("ksep")
        if (quote := m.group("kvq")) is not None:
            return head + quote + _redact_credential(m.group("kqv")) + m.group("kqe")
        bare = m.group("kbare")
        if bare.lower() in _NOT_SECRET_LITERALS and not m.group("kscheme"):
            return m.group()
        return head + (m.group("kscheme") or "") + REDACTED
    if (xname := m.group("xname")) is not None:
        if not is_secret_name(xname):
            return _unless_secret_inside(m, "xname")
        if not m.group("xval"):
            return m.group()
        return f"<{xname}>{REDACTED}</{xname}>"
    if (bscheme := m.group("bscheme")) is not None:
        return bscheme + REDACTED
    if (tpre := m.group("tpre")) is not None:
        return tpre + REDACTED
    if (apre := m.group("apre")) is not None:
        return apre + REDACTED
    if (gpre := m.group("gpre")) is not None:
        return gpre + REDACTED
    return REDACTED  # jwt


# --------------------------------------------------------------------------------------------
# pass 2: personal data

# A run of digit groups joined by single spaces or dashes, with at least 11 digits in all, not
# glued to an ASCII letter/digit or to a "*" left by an earlier masking (that is what makes
# masking idempotent). Every group may end in X/x, the check character of an ID number.
# The first [0-9] comes before the look-behind so that the regex engine can skip ahead to the
# next digit quickly.
_NUMBER_RUN = r"""
    (?P<num>
      [0-9](?<![0-9A-Za-z*][0-9])
      (?=(?:[ -]?+[0-9]){10})
      [0-9]*+[Xx]?+(?:[ -][0-9]++[Xx]?+)*+
    )
"""
_USERINFO = r"""
    (?P<url>(?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]*://)(?P<userinfo>[^\s/?#]*)@
"""
_EMAIL = r"""
    (?P<email>
      (?<![A-Za-z0-9._%+\-*])[A-Za-z0-9._%+\-*]+?
      (?:@|%40)[^\W_](?:[\w\-]*[^\W_])?(?:\.[^\W_](?:[\w\-]*[^\W_])?)*
      \.[^\W\d_]{2,}(?![\w\-])
    )
"""
_NUMBER_RE = re.compile(_NUMBER_RUN, re.VERBOSE)
_PII_RE = re.compile(f"{_USERINFO}|{_EMAIL}|{_NUMBER_RUN}", re.VERBOSE)
_ADDRESS_RE = re.compile(f"{_USERINFO}|{_EMAIL}", re.VERBOSE)
_DIGIT_GROUP = re.compile(r"[0-9]+[Xx]?")

# province-level codes of GB/T 2260 (71 is Taiwan), 81-83 (residence permits of Hong Kong,
# Macao and Taiwan residents) and 91 (foreigners' permanent residence ID cards)
_ID_PROVINCES: Final = frozenset(
    str(code)
    for code in (11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45)
    + (46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83, 91)
)
_LUHN_DOUBLED: Final = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)
_MOBILE_PREFIXES: Final = ("0086", "86")


def _luhn_ok(digits: str) -> bool:
    """Luhn (mod 10) check used by every card scheme; rejects 9 in 10 random digit strings."""
    total = sum(map(int, digits[-1::-2]))
    total += sum(_LUHN_DOUBLED[int(c)] for c in digits[-2::-2])
    return total % 10 == 0


def _born(year: int, month: str, day: str) -> bool:
    if not 1900 <= year <= 2099:
        return False
    try:
        date(year, int(month), int(day))
    except ValueError:
        return False
    return True


def _resident_id_ok(value: str) -> bool:
    """GB 11643-1999: province code and a real birth date. The ISO 7064 MOD 11-2 check
    character is not required: a number mistyped in its last digit still names a person."""
    if value[:2] not in _ID_PROVINCES or not value[:17].isdigit():
        return False
    return _born(int(value[6:10]), value[10:12], value[12:14])


def _legacy_id_ok(value: str) -> bool:
    """A first-generation (15-digit) ID number: province code and a real 19YYMMDD birth date."""
    return (value[:2] in _ID_PROVINCES and value.isdigit()
            and _born(1900 + int(value[6:8]), value[8:10], value[10:12]))


def _is_mobile(digits: str) -> bool:
    """An 11-digit mainland China mobile number: 1, then 3-9, then 9 digits."""
    return len(digits) == 11 and digits[0] == "1" and digits[1] in "3456789" and digits.isdigit()


_Mask = tuple[str, int]
"""A masked replacement and how many leading digits it reveals (needed when spans overlap)."""


def _classify_mobile(groups: list[str], seps: list[str]) -> _Mask | None:
    """Mask a mobile number written as 11 digits or 3-4-4, with an optional 86/0086 prefix.

    The prefix may stand alone (``+86 138 1234 5678``) or be glued to the first group
    (``+86138 1234 5678``, ``8613812345678``); it is kept as written.
    """
    joined = "".join(groups)
    prefix_len = len(joined) - 11
    if prefix_len and joined[:prefix_len] not in _MOBILE_PREFIXES:
        return None
    body = joined[prefix_len:]
    if not _is_mobile(body):
        return None
    lengths = [len(g) for g in groups]
    if prefix_len and lengths[0] == prefix_len:  # the prefix is a group of its own
        prefix = groups[0] + seps[0]
        lengths, seps = lengths[1:], seps[1:]
    else:
        prefix = joined[:prefix_len]
        lengths[0] -= prefix_len
    if lengths != [11] and (lengths != [3, 4, 4] or seps[0] != seps[1]):
        return None
    return prefix + body[:3] + "****" + body[7:], prefix_len + 3


def _classify(groups: list[str], seps: list[str]) -> _Mask | None:
    """Decide whether a span of digit groups is personal data and return its masked form.

    The grouping rules keep unrelated neighbouring numbers from joining into a candidate: an ID
    number is ungrouped or 6-8-4, a mobile 11 or 3-4-4 digits, and a grouped card has one kind
    of separator and 4-6 digits in every group but the last.
    """
    joined = "".join(groups)
    length = len(joined)
    if length < 11 or length > 19:
        return None
    uniform = len(set(seps)) <= 1
    if (
        length == 18
        and (len(groups) == 1 or (uniform and list(map(len, groups)) == [6, 8, 4]))
        and _resident_id_ok(joined)
    ):
        return joined[:6] + "********" + joined[14:], 6
    if not joined.isdigit():
        return None
    if length == 15 and len(groups) == 1 and _legacy_id_ok(joined):
        return joined[:6] + "*****" + joined[11:], 6
    mobile = _classify_mobile(groups, seps)
    if mobile is not None:
        return mobile
    if length < 13 or not _luhn_ok(joined):
        return None
    if len(groups) == 1:
        if length == 13 and EPOCH_MS_RANGE[0] <= int(joined) < EPOCH_MS_RANGE[1]:
            return None
    elif not all(4 <= len(g) <= 6 for g in groups[:-1]) or (
            not uniform and not all(len(g) == 4 for g in groups[:-1])):
        # Separators mixed ("6222 0212-3456 7890"): only in the 4-4-4-... grouping of cards.
        return None
    return joined[:6] + "*" * (length - 10) + joined[-4:], 6


def _glued(text: str, index: int) -> bool:
    """True when the character at ``index`` would make a digit run part of a longer token."""
    if index >= len(text):
        return False
    ch = text[index]
    return ch == "*" or (ch.isascii() and ch.isalnum())


def _mask_number_run(m: re.Match[str]) -> str:
    """Mask every span of a digit run that validates as a card, mobile or ID number.

    A run such as ``2025-11-10 13812345678`` or ``4111 1111 1111 1111 13812345678`` holds more
    than one number, so every sub-span of whole groups is checked. Overlapping valid spans are
    masked together, and a digit stays visible only if *every* valid span containing it would
    show it: a card can never survive by overlapping an unrelated number that also validates.
    """
    run = m.group("num")
    glued_end = _glued(m.string, m.end())
    if " " not in run and "-" not in run:
        if glued_end:
            return run
        single = _classify([run], [])
        return run if single is None else single[0]

    bounds = [(g.start(), g.end()) for g in _DIGIT_GROUP.finditer(run)]
    groups = [run[s:e] for s, e in bounds]
    seps = [run[bounds[k][1]] for k in range(len(bounds) - 1)]
    usable = len(groups) - 1 if glued_end else len(groups)

    spans: list[tuple[int, int, _Mask]] = []
    for i in range(usable):
        for j in range(i, min(usable, i + 5)):
            found = _classify(groups[i : j + 1], seps[i:j])
            if found is not None:
                spans.append((i, j, found))
    if not spans:
        return run

    out: list[str] = []
    pos = 0
    k = 0
    while k < len(spans):
        region = [spans[k]]
        first, last = spans[k][0], spans[k][1]
        k += 1
        while k < len(spans) and spans[k][0] <= last:
            region.append(spans[k])
            last = max(last, spans[k][1])
            k += 1
        out.append(run[pos : bounds[first][0]])
        out.append(region[0][2][0] if len(region) == 1 else _mask_overlap(groups, first, region))
        pos = bounds[last][1]
    out.append(run[pos:])
    return "".join(out)


def _mask_overlap(groups: list[str], first: int, region: list[tuple[int, int, _Mask]]) -> str:
    """Mask overlapping valid spans: star each digit that any of them would star."""
    offsets = [0]
    for g in groups[first:]:
        offsets.append(offsets[-1] + len(g))
    last = max(j for _, j, _ in region)
    digits = "".join(groups[first : last + 1])
    shown = [True] * len(digits)
    covering: list[str] = []
    for i, j, (masked, head) in region:
        start, end = offsets[i - first], offsets[j + 1 - first]
        for p in range(start + head, end - 4):
            shown[p] = False
        if i == first and j == last:
            covering.append(masked)
    result = "".join(d if keep else "*" for d, keep in zip(digits, shown, strict=True))
    # "+86 138 1234 5678" also holds the span "138 1234 5678": when one span covers the region
    # and hides everything the others hide, keep its own spelling (the prefix as written).
    for masked in covering:
        if masked.replace(" ", "").replace("-", "") == result:
            return masked
    return result


def _mask_pii(m: re.Match[str]) -> str:
    """Dispatch one match of the personal-data pass."""
    if m.group("num") is not None:
        return _mask_number_run(m)
    return _mask_address(m)


def _mask_address(m: re.Match[str]) -> str:
    """An e-mail address or the userinfo of a URL."""
    if (email := m.group("email")) is not None:
        at = "@" if "@" in email else "%40"
        local, _, domain = email.partition(at)
        return f"{local[0]}***{at}{domain}"
    return m.group("url") + REDACTED + "@"


# --------------------------------------------------------------------------------------------
# public API


def _mask_plain(text: str) -> str:
    """Both passes over ``text`` as one string (the common case: no escape sequence in it)."""
    reversed_lower = text.lower()[::-1]
    shaped = _shaped_secret_hint(text, reversed_lower)
    if not shaped and _ANY_HINT.search(reversed_lower) is None:
        return text
    if shaped or _SECRET_HINT.search(reversed_lower) is not None:
        text = _SECRET_RE.sub(_mask_secret, text)
    return _mask_personal(text)


def _mask_secrets(text: str) -> str:
    """Pass 1 alone (with its pre-checks)."""
    reversed_lower = text.lower()[::-1]
    if _shaped_secret_hint(text, reversed_lower) or _SECRET_HINT.search(reversed_lower):
        return _SECRET_RE.sub(_mask_secret, text)
    return text


def _mask_personal(text: str) -> str:
    """Pass 2 alone.

    A digit run may end in a group that belongs to no number (``4111111111111111 0a@b.co``):
    the run is consumed whole, so addresses are looked for once more afterwards.
    """
    if "@" in text or "%40" in text:
        return _ADDRESS_RE.sub(_mask_address, _PII_RE.sub(_mask_pii, text))
    return _NUMBER_RE.sub(_mask_number_run, text)


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
        if end < len(text) and "0" <= text[end] <= "9" and _glued(text, end - 1):
            cuts.append(end)
    return cuts


def _mask_pieces(text: str, cuts: list[int]) -> str:
    """Mask the pieces of ``text`` between the cut points, each alone."""
    bounds = [0, *cuts, len(text)]
    return "".join(_mask_personal(text[a:b]) for a, b in zip(bounds, bounds[1:], strict=False))


def _mask_round(text: str) -> tuple[str, bool]:
    """One masking of text holding escapes; True when the result is certainly final."""
    text = _mask_secrets(text)
    cuts = _cut_points(text)
    raw = _INVISIBLE.search(text) is not None
    if not cuts and not raw:
        return _mask_personal(text), True
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


# --------------------------------------------------------------------------------------------
# numbers written oddly: full-width digits, other separators, mixed separators

_FULLWIDTH_DIGITS: Final = str.maketrans("０１２３４５６７８９", "0123456789")
_ODD_RUN = re.compile(
    r"""
    (?<![0-9A-Za-z*０-９])
    [0-9０-９](?:(?:[ \-.\t\u00a0\u2007\u202f\u3000/]|%20)?[0-9０-９]){10,}
    (?![0-9A-Za-z*０-９])
    """,
    re.VERBOSE,
)
_ODD_SEPARATOR = re.compile("[.\t\u00a0\u2007\u202f\u3000/]|%20")


def _odd_run(m: re.Match[str]) -> str:
    run = m.group()
    unified = _ODD_SEPARATOR.sub(" ", run.translate(_FULLWIDTH_DIGITS))
    if unified == run:
        return run  # ASCII digits with one kind of separator: the passes decide
    masked = _NUMBER_RE.sub(_mask_number_run, unified)
    return masked if masked != unified else run


def _odd_runs(text: str) -> str:
    """Digit runs that only differ from a maskable number in how they are written (full-width
    digits, separators such as NBSP, tab, ``.``, ``/``, ``%20``) are masked as if written with
    ASCII digits and spaces, and shown so; any other run is left as it is for the passes."""
    return _ODD_RUN.sub(_odd_run, text)


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
    text = _odd_runs(text)
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
    snake = _snake(key)
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
        return _redact_credential(value)
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
