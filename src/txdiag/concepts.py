"""Message knowledge as concepts: groups of terms that must meet in one clause, in any order.

A rule that says ``concepts = ["reserved_phone + mismatch"]`` matches 预留手机号不一致, and also
银行预留手机号与输入不一致, 手机号与银行卡预留不符 and "reserved mobile number does not match":
each concept is a group of terms (:class:`~txdiag.rulebook.resolved.ConceptDef`), and a
combination matches where one term of every concept occurs in the same clause, with any words
between them and in any order. Concepts are shared by every rule and every channel, so a new
synonym is one word in one list.

A combination compiles to one RE2 pattern (an alternation over the orders of its concepts, each
joined by a gap that cannot cross a clause break), so it joins the other message patterns of its
scope in the classifier's single RE2 pass: a distinct message costs no more for it.

Negation (``not expired``, 未过期): a concept marked ``negatable`` does not count where a negation
word stands right before it. The scope's RE2 pass carries one more pattern, a probe that finds a
negation word before any negatable term; only a message that trips it is checked term by term.

Text is normalized before any rule sees it (:class:`TextFolding`): full-width letters, digits and
punctuation become ASCII (NFKC), and the rulebook's character folds turn traditional characters
into the simplified ones the terms are written in (餘額 -> 余额).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from itertools import permutations
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from txdiag.rulebook.resolved import ConceptDef

MAX_CONCEPTS = 4
"""Concepts in one combination: its pattern holds every order of them (4! = 24)."""
JOIN = "+"

_BREAKS = ",，。;；!！?？\n\r|"
_GAP = rf"(?:[^{_BREAKS}.]|\.[^\s{_BREAKS}])*"
"""Any run of text inside one clause. A full stop ends a clause only before a space or the end,
so ``java.net.SocketTimeoutException`` and ``1.5`` stay whole."""
_CLAUSE_SPLIT = re.compile(rf"[{_BREAKS}]|\.(?=\s|$)")

_NEGATION_EN = r"\b(?:not|never|no|without)\s+(?:(?:been|be|being|yet|is|was)\s+)?|n't\s+(?:(?:been|be)\s+)?"
_NEGATION_ZH = r"(?:未|没有|没|无|并非|不是|并未|尚未|不会)"
NEGATION = rf"(?:{_NEGATION_EN}|{_NEGATION_ZH}\s*)"
"""A negation word right before a term (its own words: this pattern is txdiag's, not data)."""
_NEGATED_END = re.compile(rf"(?:{NEGATION})$", re.IGNORECASE)

_CAMEL = re.compile(r"([a-z])([A-Z])")
_RE2_SPECIAL = re.compile(r"([\\.^$|?*+()\[\]{}])")
_ASCII_WORD_EDGE = re.compile(r"[A-Za-z0-9]")


def parse_combination(text: str) -> tuple[str, ...]:
    """``"reserved_phone + mismatch"`` -> ``("reserved_phone", "mismatch")``; ``ValueError``
    naming the problem for an empty part, a bad id, a repeat or too many concepts."""
    parts = tuple(part.strip() for part in text.split(JOIN))
    if not all(parts):
        raise ValueError(f"concept combination {text!r} has an empty part")
    for part in parts:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", part):
            raise ValueError(f"concept combination {text!r}: {part!r} is not a concept id")
    if len(set(parts)) != len(parts):
        raise ValueError(f"concept combination {text!r} names a concept twice")
    if len(parts) > MAX_CONCEPTS:
        raise ValueError(f"concept combination {text!r} has more than {MAX_CONCEPTS} concepts")
    return parts


_EDGE = r"(?:\b|_)"
"""A word's edge: RE2's ``\b`` counts ``_`` as a letter, and codes write words with it
(``ERR_CONNECTION_TIMED_OUT``); such an ``_`` is taken into the match (:func:`term_text`)."""


_JOIN = rf"(?:{_GAP}[^A-Za-z0-9{_BREAKS}.]|)"
"""What stands between two terms of a combination: nothing (the term before took the ``_``
between them, as in ``ACCOUNT_CLOSED``), or any text of the clause that ends before a word
starts; the term after it then needs no edge of its own."""


def term_pattern(term: str, *, edge: bool = True) -> str:
    """One term as an RE2 pattern: literal, a space standing for any run of white space, ``_``
    or ``-``, and whole words where the term starts or ends with a letter or digit (so ``no``
    does not match inside ``note``). Without ``edge``, the start's edge is left to what comes
    before (:data:`_JOIN`)."""
    words = [_RE2_SPECIAL.sub(r"\\\1", word) for word in term.strip().split()]
    pattern = r"[\s_\-]+".join(words)
    if edge and _ASCII_WORD_EDGE.match(term.strip()[0]):
        pattern = _EDGE + pattern
    if _ASCII_WORD_EDGE.match(term.strip()[-1]):
        pattern += _EDGE
    return pattern


def concept_pattern(concept: ConceptDef, *, edge: bool = True) -> str:
    """Any term of the concept, longest first (the evidence then names the whole term)."""
    terms = sorted({t.strip() for t in concept.terms}, key=lambda t: (-len(t), t))
    return "(?:" + "|".join(term_pattern(t, edge=edge) for t in terms) + ")"


def combination_pattern(concepts: Sequence[ConceptDef]) -> str:
    """All the concepts within one clause, in any order, as one RE2 pattern."""
    if len(concepts) == 1:
        return concept_pattern(concepts[0])
    first = {c.id: concept_pattern(c) for c in concepts}
    after = {c.id: concept_pattern(c, edge=False) for c in concepts}
    return "|".join(
        first[order[0].id] + "".join(_JOIN + after[c.id] for c in order[1:])
        for order in permutations(concepts)
    )


def negation_probe(concepts: Iterable[ConceptDef]) -> str | None:
    """The pattern that finds a negation word before a term of any negatable concept (None
    when no concept is negatable)."""
    negatable = [concept_pattern(c) for c in concepts if c.negatable]
    if not negatable:
        return None
    return NEGATION + "(?:" + "|".join(negatable) + ")"


class ConceptMatcher:
    """Checks a combination term by term: where a negation was found, and for the evidence."""

    def __init__(self, concepts: Mapping[str, ConceptDef]) -> None:
        from txdiag.patterns import compile_pattern

        self.concepts = concepts
        self._compiled: dict[str, Any] = {}
        self._compile = compile_pattern

    def _regex(self, concept_id: str) -> Any:
        regex = self._compiled.get(concept_id)
        if regex is None:
            regex = self._compiled[concept_id] = self._compile(
                concept_pattern(self.concepts[concept_id]), generated=True)
        return regex

    def terms_in(self, text: str, combination: Sequence[str]) -> list[str] | None:
        """The term of each concept that counts, from the first clause holding all of them
        (None: no clause does, once negated terms are left out)."""
        for clause in _CLAUSE_SPLIT.split(text):
            found = []
            for concept_id in combination:
                term = self._term(clause, concept_id)
                if term is None:
                    break
                found.append(term)
            else:
                return found
        return None

    def _term(self, clause: str, concept_id: str) -> str | None:
        negatable = self.concepts[concept_id].negatable
        for match in self._regex(concept_id).finditer(clause):
            found = str(match.group(0))
            term = found.strip("_")
            start = match.start() + (len(found) - len(found.lstrip("_")))
            if negatable and _NEGATED_END.search(clause[:start]):
                continue
            return term
        return None


def combination_text(combination: Sequence[str]) -> str:
    """``concepts: reserved_phone + mismatch``: a combination as evidence and listings show it."""
    return "concepts: " + f" {JOIN} ".join(combination)


def evidence_text(terms: Sequence[str]) -> str:
    """``预留手机号 + 不一致``: the terms that decided, as the evidence shows them."""
    return f" {JOIN} ".join(terms)


class TextFolding:
    """The text every message rule sees: NFKC (full-width forms to ASCII) and the rulebook's
    character folds (traditional to simplified), paid only by a text that needs them."""

    def __init__(self, char_folds: Mapping[str, str]) -> None:
        self._table = str.maketrans(dict(char_folds))
        # Full-width ASCII forms, the ideographic space, NBSP, and every folded character.
        special = "".join(sorted(set(char_folds)))
        self._needed = re.compile(
            "[\uff01-\uff5e\u3000\u00a0" + re.escape(special).replace("-", r"\-") + "]")

    def __call__(self, text: str) -> str:
        if text.isascii():
            # CamelCase names without spaces (InsufficientFunds, CardExpired.) as words.
            if " " not in text and _CAMEL.search(text) is not None:
                return _CAMEL.sub(r"\1 \2", text)
            return text
        if self._needed.search(text) is None:
            return text
        return unicodedata.normalize("NFKC", text).translate(self._table)
