"""The one regular-expression engine for patterns that come from data: RE2.

Message patterns (shipped and user rule files) and text-log templates run on RE2, a linear-time
engine: no pattern can hang a run on a crafted log line, whatever the input, and RE2's
multi-pattern ``Set`` tests hundreds of patterns in one pass over the text (about a thousand
times faster here than Python's ``re`` with one big alternation). The price is RE2's syntax: no
look-around and no back-references (docs/rules.md, docs/security.md).

txdiag's own fixed expressions (masking, timestamps) stay on Python's ``re``: they are written
and reviewed here, not supplied by users.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import re2

from txdiag.safety import quoted, shown

MAX_MEM = 64 << 20
"""RE2's memory budget per compiled pattern set; a set needing more is refused at load."""
MAX_PATTERN_CHARS = 2000


def _options(case_sensitive: bool) -> Any:
    options = re2.Options()
    options.case_sensitive = case_sensitive
    options.log_errors = False  # errors come back as exceptions, not C++ log lines on stderr
    options.max_mem = MAX_MEM
    return options


_INSENSITIVE = _options(False)
_SENSITIVE = _options(True)


def encodable(text: str) -> str:
    """RE2 works on UTF-8: lone surrogates (from undecodable bytes) become U+FFFD first."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


def _describe(exc: Exception) -> str:
    detail = exc.args[0] if exc.args else exc
    return detail.decode("utf-8", "replace") if isinstance(detail, bytes) else str(detail)


def compile_pattern(pattern: str, *, case_sensitive: bool = False) -> Any:
    """Compile with RE2; ``ValueError`` naming the problem when RE2 does not accept it."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise ValueError(f"pattern is longer than {MAX_PATTERN_CHARS} characters")
    try:
        return re2.compile(pattern, _SENSITIVE if case_sensitive else _INSENSITIVE)
    except re2.error as exc:
        # RE2's detail quotes the pattern from the error on: masked and visible like the rest
        raise ValueError(f"pattern {quoted(pattern)} is not valid RE2 syntax: "
                         f"{shown(_describe(exc))} "
                         "(look-around and back-references are not supported)") from None


class PatternSet:
    """Many case-insensitive patterns searched at once; the lowest index that matches wins."""

    def __init__(self, patterns: Sequence[str]) -> None:
        self.patterns = list(patterns)
        self._each: dict[int, Any] = {}
        """Patterns compiled on their own, to find what they matched (each on first use)."""
        self._set = re2.Set.SearchSet(_INSENSITIVE) if self.patterns else None
        if self._set is not None:
            try:
                for pattern in self.patterns:
                    self._set.Add(pattern)
                compiled = self._set.Compile()
            except re2.error:
                compiled = False
            if compiled is False:
                raise ValueError("the message patterns and concepts need more memory than RE2 "
                                 "allows: split or shorten the largest ones")

    def indices(self, text: str) -> list[int]:
        """The indices of every pattern found in ``text``, in order: one RE2 pass."""
        if self._set is None:
            return []
        found = self._set.Match(encodable(text))
        return sorted(found) if found else []

    def compiled(self, index: int) -> Any:
        """Pattern ``index`` compiled on its own (to find what it matched); it was checked when
        the set was made."""
        regex = self._each.get(index)
        if regex is None:
            regex = self._each[index] = re2.compile(self.patterns[index], _INSENSITIVE)
        return regex

    def first(self, text: str) -> tuple[int, str] | None:
        """The index of the first pattern (in order) found in ``text``, and the matched text."""
        return next(self.all(text), None)

    def all(self, text: str) -> Iterator[tuple[int, str]]:
        """Every pattern found in ``text``, in pattern order, with its matched text."""
        if self._set is None:
            return
        text = encodable(text)
        for index in sorted(self._set.Match(text) or ()):
            found = self.compiled(index).search(text)
            yield index, found.group(0) if found is not None else ""
