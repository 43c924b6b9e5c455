"""Message knowledge as concepts: groups of terms that must meet in one clause, in any order.

A rule that says ``concepts = ["reserved_phone + mismatch"]`` matches 预留手机号不一致, and also
银行预留手机号与输入不一致, 手机号与银行卡预留不符 and "reserved mobile number does not match":
each concept is a group of terms (:class:`~txdiag.rulebook.resolved.ConceptDef`), and a
combination matches where one term of every concept occurs in the same clause, with any words
between them and in any order. Concepts are shared by every rule and every channel, so a new
synonym is one word in one list.

Matching costs no extra pass over the text: the scope's single RE2 pass carries one pattern
per concept (its terms, all literal) beside the message patterns, and says which concepts occur;
which combinations that makes hold is a few set comparisons, remembered per set of concepts
found (:class:`ConceptRules`). A combination of two or more concepts must hold within one clause:
a text with clause breaks is looked at clause by clause when such a combination comes up.

Negation (``not expired``, 未过期): a concept marked ``negatable`` does not count where a negation
word stands right before it; nor does a term inside one of its concept's ``exclude`` words (银行
in 银行卡). The same pass carries probes for both; only a message that trips one has the
combinations it can undo checked term by term (:class:`ConceptMatcher`).

Text is normalized before any rule sees it (:class:`TextFolding`): full-width letters and digits
become ASCII (NFKC), and the rulebook's character folds turn traditional characters into the
simplified ones the terms are written in (餘額 -> 余额). Concepts also read a CamelCase name as
words (:func:`camel_words`).
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from txdiag.rulebook.resolved import ConceptDef

MEMO_SIZE = 4096
"""Sets of concepts whose holding combinations are remembered, per scope."""
MAX_CONCEPTS = 4
"""Concepts in one combination (a rule that needs more is better split)."""
JOIN = "+"

_BREAKS = ",，。;；!！?？\n\r|"
_CLAUSE_SPLIT = re.compile(rf"[{_BREAKS}]|\.(?=\s|$)")
"""Where a clause ends. A full stop ends one only before a space or the end, so
``java.net.SocketTimeoutException`` and ``1.5`` stay whole."""

_NEGATION_EN = (r"\b(?:not|never|no|without)\s+(?:(?:been|be|being|yet|is|was)\s+)?"
                r"|n't\s+(?:(?:been|be)\s+)?")
_NEGATION_ZH = r"(?:未|没有|没|无|并非|不是|并未|尚未|不会)"
NEGATION = rf"(?:{_NEGATION_EN}|{_NEGATION_ZH}\s*)"
"""A negation word right before a term (its own words: this pattern is txdiag's, not data)."""
_NEGATED_END = re.compile(rf"(?:{NEGATION})$", re.IGNORECASE)

_TERM_FLAGS = re.IGNORECASE | re.ASCII
"""As RE2 reads terms: ``\b`` between ASCII letters and digits only, ASCII case folding."""
_CAMEL = re.compile(r"([a-z])([A-Z])")
_RE2_SPECIAL = re.compile(r"([\\.^$|?*+()\[\]{}])")
_ASCII_WORD_EDGE = re.compile(r"[A-Za-z0-9]")


def parse_combination(text: str) -> tuple[str, ...]:
    """``"reserved_phone + mismatch"`` -> ``("reserved_phone", "mismatch")``; ``ValueError``
    naming the problem for an empty part, a bad id, a repeat or too many concepts."""
    from txdiag.safety import quoted  # (error texts from a rule file: masked, made visible)

    parts = tuple(part.strip() for part in text.split(JOIN))
    if not all(parts):
        raise ValueError(f"concept combination {quoted(text)} has an empty part")
    for part in parts:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", part):
            raise ValueError(f"concept combination {quoted(text)}: {quoted(part)} is not a "
                             "concept id")
    if len(set(parts)) != len(parts):
        raise ValueError(f"concept combination {quoted(text)} names a concept twice")
    if len(parts) > MAX_CONCEPTS:
        raise ValueError(f"concept combination {quoted(text)} has more than {MAX_CONCEPTS} "
                         "concepts")
    return parts


MAX_TERMS = 1000
"""Terms (and excluded words) in one concept."""
MAX_TERM_CHARS = 100
_UNFIT = re.compile(rf"[{_BREAKS}\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]|\.\s")


def check_concept(concept: ConceptDef) -> None:
    """``ValueError`` naming the first problem of a concept's terms: none, too many, a blank
    or over-long one, or one that could never match (a clause break or a control character
    in it: messages are cut at the one and stripped of the other before concepts see them)."""
    from txdiag.safety import quoted

    for field, terms, needed in (("terms", concept.terms, True),
                                 ("exclude", concept.exclude, False)):
        if needed and not terms:
            raise ValueError(f"field {field!r}: at least one term is needed")
        if len(terms) > MAX_TERMS:
            raise ValueError(f"field {field!r}: more than {MAX_TERMS} terms")
        for term in terms:
            if not term.strip():
                raise ValueError(f"field {field!r}: a term is blank")
            if len(term) > MAX_TERM_CHARS:
                raise ValueError(f"field {field!r}: term {quoted(term[:40])}... is longer "
                                 f"than {MAX_TERM_CHARS} characters")
            if _UNFIT.search(term):
                raise ValueError(f"field {field!r}: term {quoted(term)} holds a clause break "
                                 "or a control character, so it could never match")


_EDGE = r"(?:\b|_)"
"""A word's edge: RE2's ``\b`` counts ``_`` as a letter, and codes write words with it
(``ERR_CONNECTION_TIMED_OUT``); such an ``_`` is taken into the match, and left out of the
term the evidence shows."""


def term_pattern(term: str) -> str:
    """One term as an RE2 pattern: literal, a space standing for any run of white space, ``_``
    or ``-``, and whole words where the term starts or ends with a letter or digit (so ``no``
    does not match inside ``note``)."""
    words = [_RE2_SPECIAL.sub(r"\\\1", word) for word in term.strip().split()]
    if not words:
        raise ValueError("a term is blank")
    pattern = r"[\s_\-]+".join(words)
    if _ASCII_WORD_EDGE.match(term.strip()[0]):
        pattern = _EDGE + pattern
    if _ASCII_WORD_EDGE.match(term.strip()[-1]):
        pattern += _EDGE
    return pattern


def concept_pattern(concept: ConceptDef) -> str:
    """Any term of the concept, longest first (the evidence then names the whole term)."""
    terms = sorted({t.strip() for t in concept.terms}, key=lambda t: (-len(t), t))
    return "(?:" + "|".join(term_pattern(t) for t in terms) + ")"


class ConceptMatcher:
    """Checks a combination term by term: where a negation was found, and for the evidence."""

    def __init__(self, concepts: Mapping[str, ConceptDef]) -> None:
        self.concepts = concepts
        self._compiled: dict[str, tuple[re.Pattern[str], re.Pattern[str] | None]] = {}

    def _regexes(self, concept_id: str) -> tuple[re.Pattern[str], re.Pattern[str] | None]:
        """The concept's terms, and its excluded words (None: it has none). Python's ``re``
        runs them: they are literals joined by txdiag itself (:func:`term_pattern`), with no
        operator from the data, so no input makes them backtrack."""
        found = self._compiled.get(concept_id)
        if found is None:
            concept = self.concepts[concept_id]
            excluded = None
            if concept.exclude:
                excluded = re.compile("|".join(term_pattern(t) for t in concept.exclude),
                                      _TERM_FLAGS)
            found = self._compiled[concept_id] = (
                re.compile(concept_pattern(concept), _TERM_FLAGS), excluded)
        return found

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

    def present(self, text: str) -> list[str]:
        """The concepts with a term that counts anywhere in ``text``, in the order of their
        first term there; one whose term lies inside another's (手机号 in 预留手机号) is left
        out."""
        spans = []
        for concept_id in self.concepts:
            terms, _ = self._regexes(concept_id)
            first = terms.search(text)
            if first is not None and self._term(text, concept_id) is not None:
                spans.append((first.start(), first.end(), concept_id))
        return [concept_id for start, end, concept_id in sorted(spans)
                if not any(s <= start and end <= e and (s, e) != (start, end)
                           for s, e, _ in spans)]

    def _term(self, clause: str, concept_id: str) -> str | None:
        negatable = self.concepts[concept_id].negatable
        terms, excluded = self._regexes(concept_id)
        spans = [m.span() for m in excluded.finditer(clause)] if excluded is not None else []
        for match in terms.finditer(clause):
            found = str(match.group(0))
            term = found.strip("_")
            start = match.start() + (len(found) - len(found.lstrip("_")))
            end = start + len(term)
            if any(low <= start and end <= high for low, high in spans):
                continue
            if negatable and _NEGATED_END.search(clause[:start]):
                continue
            return term
        return None


class ConceptRules:
    """The concept rules of one scope: which of them hold in a text, in their order.

    ``entries`` are (position, combination) pairs; the position is the rule's place among all
    the message rules of the scope, and is what :meth:`holding` yields.

    The scope's RE2 pass finds which concepts occur, and probes: one for a negation word
    before a negatable term, one per concept with excluded words. Which combinations that makes
    hold is remembered per set of concepts found (texts differ in their numbers far more often
    than in their words); a text with clause breaks is looked at clause by clause only when a
    combination of two or more concepts comes up; and a probe that fired sends only the
    combinations it can undo to be checked term by term.
    """

    def __init__(self, entries: Sequence[tuple[int, tuple[str, ...]]],
                 matcher: ConceptMatcher) -> None:
        self.matcher = matcher
        ids = sorted({c for _, combination in entries for c in combination})
        number = {concept: index for index, concept in enumerate(ids)}
        used = [matcher.concepts[c] for c in ids]
        self._patterns = [concept_pattern(c) for c in used]
        self._concepts = len(self._patterns)
        negatable = [concept_pattern(c) for c in used if c.negatable]
        self._negation = -1
        if negatable:
            self._negation = len(self._patterns)
            self._patterns.append(NEGATION + "(?:" + "|".join(negatable) + ")")
        excluded_by: dict[str, int] = {}
        for concept in used:
            if concept.exclude:
                excluded_by[concept.id] = len(self._patterns)
                self._patterns.append("|".join(term_pattern(t) for t in concept.exclude))
        self.combinations = dict(entries)
        # What can undo a combination: the negation probe (when it has a negatable concept)
        # and the exclusion probes of its concepts.
        self._undone_by: dict[int, frozenset[int]] = {}
        for position, combination in entries:
            probes = {excluded_by[c] for c in combination if c in excluded_by}
            if any(matcher.concepts[c].negatable for c in combination):
                probes.add(self._negation)
            self._undone_by[position] = frozenset(probes)
        self._by_concept: dict[int, list[tuple[int, frozenset[int]]]] = {}
        self._wanted: dict[int, frozenset[int]] = {}
        for position, combination in entries:
            wanted = self._wanted[position] = frozenset(number[c] for c in combination)
            for member in wanted:
                self._by_concept.setdefault(member, []).append((position, wanted))
        self._memo: dict[frozenset[int], list[int]] = {}
        self._own: Any = None

    def forget(self) -> None:
        """Drop the remembered combinations of concept sets."""
        self._memo.clear()

    def find(self, text: str) -> list[int]:
        """The indices of :attr:`patterns` found in ``text``, by a set of these alone."""
        if self._own is None:
            from txdiag.patterns import PatternSet

            self._own = PatternSet(self._patterns)
        return self._own.indices(text)  # type: ignore[no-any-return]

    @property
    def patterns(self) -> list[str]:
        """The patterns to search for (one per concept, then the probes): the scope adds them
        to its single RE2 pass, and hands back which of them were found, counted from 0."""
        return self._patterns

    def _hits(self, present: frozenset[int]) -> list[int]:
        """The positions of the combinations that all of ``present`` satisfy, in order."""
        hits = self._memo.get(present)
        if hits is None:
            if len(self._memo) >= MEMO_SIZE:
                self._memo.clear()
            hits = self._memo[present] = sorted({
                position
                for concept in present
                for position, wanted in self._by_concept.get(concept, ())
                if wanted <= present
            })
        return hits

    def holding(self, text: str, found: Sequence[int],
                before: int | None = None) -> Iterator[int]:
        """The positions of the combinations that hold in ``text``, in order (only those
        before ``before``, when given). ``found`` are the indices of :attr:`patterns` found in
        it, sorted (the scope's pass found them)."""
        cut = bisect_left(found, self._concepts)
        if not cut:
            return
        present = frozenset(found[:cut])
        probes = frozenset(found[cut:])
        clauses: list[frozenset[int]] | None = None
        for position in self._hits(present):
            if before is not None and position >= before:
                return
            wanted = self._wanted[position]
            if len(wanted) > 1 and cut > 1:
                # All of a combination's concepts must be in one clause: the text is looked
                # at clause by clause (once) when it has breaks.
                if clauses is None:
                    clauses = [present]
                    if _CLAUSE_SPLIT.search(text) is not None:
                        clauses = [frozenset(i for i in self.find(part) if i < self._concepts)
                                   for part in _CLAUSE_SPLIT.split(text) if part.strip()]
                if not any(wanted <= clause for clause in clauses):
                    continue
            if probes and probes & self._undone_by[position] and self.matcher.terms_in(
                    text, self.combinations[position]) is None:
                continue
            yield position


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
        # Full-width letters and digits, and every folded character. (Full-width punctuation
        # needs nothing: clauses break at both forms, and terms hold no punctuation.)
        special = "".join(sorted(set(char_folds)))
        self._needed = re.compile(
            "[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a" + re.escape(special) + "]")

    def __call__(self, text: str) -> str:
        if text.isascii() or self._needed.search(text) is None:
            return text
        return unicodedata.normalize("NFKC", text).translate(self._table)


def camel_words(text: str) -> str | None:
    """A CamelCase name written without spaces (``InsufficientFunds``, ``CardExpired.``) as
    words, for concepts to read; None for any other text. Patterns keep the text as it is
    (``NullPointerException`` is what their rules expect)."""
    if not text.isascii() or " " in text or _CAMEL.search(text) is None:
        return None
    return _CAMEL.sub(r"\1 \2", text)
