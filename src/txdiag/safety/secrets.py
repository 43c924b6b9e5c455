"""Secrets in log text: credentials, keys, tokens and signatures, and the names that hold them.

The first pass of :func:`txdiag.safety.mask.mask_text`. It runs only when a secret key word
directly precedes ``=``, ``:`` or ``>``, or a token prefix such as ``sk_live_``/``AKIA``/``eyJ``/
``Bearer`` occurs: values of ``key=value`` / ``"key": "value"`` / ``Key: value`` /
``<key>value</key>`` pairs whose key names a secret, ``Bearer`` credentials, PEM private keys
and tokens recognisable by shape (``sk_live_``, ``AKIA``, ``ghp_``, JWTs ...) become
``[REDACTED]``. A cardholder's name after a telling key (``持卡人:``, ``holder_name=``) keeps its
first character: it is found by the same key-and-separator scan. The *names* of secret keys
stay: diagnosing a failure needs them.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = [
    "REDACTED",
    "SECRET_HINT_PATTERN",
    "SECRET_PARAM_NAMES",
    "is_secret_name",
    "redact_credential",
    "redact_secrets",
    "redact_secrets_unchecked",
    "secret_key_hint",
    "shaped_secret_hint",
    "snake_name",
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


def snake_name(name: str) -> str:
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
    snake = snake_name(name)
    if snake in SECRET_PARAM_NAMES:
        return True
    squashed = snake.replace("_", "")
    return (
        squashed in _SQUASHED_SECRET_NAMES
        or squashed.endswith(_SECRET_SUFFIXES_SQUASHED)
        or snake.endswith(_SECRET_SUFFIXES_SNAKE)
    )


# --------------------------------------------------------------------------------------------
# the pass

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
# the same way. Together with shaped_secret_hint() these accept everything _SECRET_RE can
# redact (a test checks it).
SECRET_HINT_PATTERN = (
    rf"(?:(?<=[:=>])|(?<=[da]3%))[ \t]*[\"']?{_alternation([w[::-1] for w in _KEY_WORDS])}"
    r"|(?<=_)(?:ks|kr|cesw|[pousr]hg|tap_buhtig)|(?<=-)[abprs]xox|(?<=-)ks"
)
_SECRET_HINT = re.compile(rf"[:=>_\-%](?:{SECRET_HINT_PATTERN})")
_ANY_HINT = re.compile(rf"[0-9@:=>_\-%](?:(?<=[0-9@])|{SECRET_HINT_PATTERN})")
_SHAPED_WORDS: Final = ("AKIA", "ASIA", "AKID", "AIza", "eyJ", "PRIVATE KEY", "持卡人", "户名",
                        "姓名")
_SHAPED_REVERSED: Final = ("reraeb", "eman", "redloh")  # bearer, ...name, holder...


def shaped_secret_hint(text: str, reversed_lower: str) -> bool:
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


def redact_credential(value: str) -> str:
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
            return head + quote + redact_credential(m.group("kqv")) + m.group("kqe")
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



def secret_key_hint(reversed_lower: str) -> bool:
    """A secret key word right before a separator, or a token prefix, in the lower-cased and
    reversed text (the cheap pre-check of :func:`redact_secrets`)."""
    return _SECRET_HINT.search(reversed_lower) is not None


def redact_secrets_unchecked(text: str) -> str:
    """The secrets pass without its pre-checks (what they must never change: tests compare)."""
    return _SECRET_RE.sub(_mask_secret, text)


def redact_secrets(text: str) -> str:
    """Redact the secrets in ``text``; text with no hint of one comes back after two scans."""
    reversed_lower = text.lower()[::-1]
    if shaped_secret_hint(text, reversed_lower) or secret_key_hint(reversed_lower):
        return _SECRET_RE.sub(_mask_secret, text)
    return text
