"""Personal data in log text: card, mobile and resident ID numbers, e-mail addresses, URL logins.

The second pass of :func:`txdiag.safety.mask.mask_text`, run only when the text holds a digit
or ``@``: URL userinfo, e-mail addresses, and digit runs that validate as a bank card (Luhn), a
Chinese mobile number or a Chinese resident ID number (18 characters: a province code and a real
birth date, the check character not required; or the 15-digit first generation), also when
written with full-width digits or odd separators (:func:`mask_odd_runs`).

What is deliberately *not* masked, because diagnosing a failed payment needs it: numbers that
fail the checks (order numbers, amounts such as ``1234.56``, dates, short codes such as ``51``),
an ungrouped 13-digit number in the epoch-milliseconds range 2000-01-01..2100-01-01 (every log
line has one; see :data:`EPOCH_MS_RANGE`), and digit runs glued to an ASCII letter or digit
(for example ``TXN4111111111111111`` or hexadecimal ids).

Masking keeps the first 6 and last 4 digits of a card (``622202*********0128``), the first 3
and last 4 digits of a mobile number (``138****5678``, a ``+86``/``0086``/``86`` prefix is kept
as written), the first 6 and last 4 characters of an ID number (``110105********123X``) and the
first character and domain of an e-mail address (``z***@example.com``). Separators inside a
masked number are dropped. A digit group touching a ``*`` is never a candidate again, which
keeps masking idempotent.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Final

from txdiag.safety.secrets import REDACTED

__all__ = [
    "EPOCH_MS_RANGE",
    "ID_PROVINCES",
    "glued",
    "mask_odd_runs",
    "mask_personal",
    "mask_personal_unchecked",
]

EPOCH_MS_RANGE: Final = (946_684_800_000, 4_102_444_800_000)
"""Half-open range of epoch milliseconds, 2000-01-01T00:00Z up to 2100-01-01T00:00Z.

An *ungrouped* 13-digit number in this range is taken to be a timestamp and is never masked as a
card, even when it passes the Luhn check (about one in ten does). The price is that an obsolete
13-digit Visa number between 4000000000000 and 4102444799999 is not masked when written
without separators.
"""


# --------------------------------------------------------------------------------------------
# the pass

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
ID_PROVINCES: Final = frozenset(
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
    if value[:2] not in ID_PROVINCES or not value[:17].isdigit():
        return False
    return _born(int(value[6:10]), value[10:12], value[12:14])


def _legacy_id_ok(value: str) -> bool:
    """A first-generation (15-digit) ID number: province code and a real 19YYMMDD birth date."""
    return (value[:2] in ID_PROVINCES and value.isdigit()
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


def glued(text: str, index: int) -> bool:
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
    glued_end = glued(m.string, m.end())
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



def mask_personal(text: str) -> str:
    """Mask the personal data in ``text``.

    A digit run may end in a group that belongs to no number (``4111111111111111 0a@b.co``):
    the run is consumed whole, so addresses are looked for once more afterwards.
    """
    if "@" in text or "%40" in text:
        return _ADDRESS_RE.sub(_mask_address, _PII_RE.sub(_mask_pii, text))
    return _NUMBER_RE.sub(_mask_number_run, text)


def mask_personal_unchecked(text: str) -> str:
    """The pass without its pre-checks (what they must never change: tests compare)."""
    return _ADDRESS_RE.sub(_mask_address, _PII_RE.sub(_mask_pii, text))


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


def mask_odd_runs(text: str) -> str:
    """Digit runs that only differ from a maskable number in how they are written (full-width
    digits, separators such as NBSP, tab, ``.``, ``/``, ``%20``) are masked as if written with
    ASCII digits and spaces, and shown so; any other run is left as it is for the passes."""
    return _ODD_RUN.sub(_odd_run, text)
