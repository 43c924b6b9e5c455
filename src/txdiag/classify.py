"""Classify a failure by the rulebook's documented precedence (docs/rules.md).

The classifier builds indexes once (dictionaries for codes and statuses, one combined regular
expression per message scope) and memoizes diagnoses by their inputs, so repeated codes and
messages, which is what real traffic is made of, cost one dictionary lookup.
"""

from __future__ import annotations

import heapq
import re
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

from txdiag.concepts import (
    ConceptMatcher,
    ConceptRules,
    TextFolding,
    camel_words,
    combination_text,
    evidence_text,
)
from txdiag.diagnosis import CodeValue, Diagnosis, Evidence
from txdiag.errors import RulebookError
from txdiag.patterns import PatternSet
from txdiag.rulebook import NO_MATCH_REASON, ReasonDef, Rule, Rulebook
from txdiag.safety import strip_ansi
from txdiag.vocabulary import Category, MatchLevel

# Long stack traces hold their cause near the end ("Caused by: ..."), so match over a generous
# prefix and the tail rather than cutting at the start only.
MESSAGE_HEAD = 8192
MESSAGE_TAIL = 8192
MEMO_SIZE = 4096
"""Decisions kept (small objects). Repeated inputs are what logs are made of; a text seen once
(a message with an order number in it) would only push the useful ones out of a bigger memo."""
DIAGNOSIS_MEMO_SIZE = 4096
"""Diagnoses kept (each a few validated objects, built only for what is shown)."""

PRECEDENCE: tuple[MatchLevel, ...] = (
    "channel_code", "code", "status", "message", "inferred_code", "code_text", "http_status",
    "latency", "fallback_code", "fallback_message",
)
"""The precedence levels in order (docs/rules.md); :meth:`Classifier.candidates` yields them so."""
_RANK = {level: rank for rank, level in enumerate(PRECEDENCE)}
# Precedence levels decided before latency: when one of them decides, latency cannot matter.
_BEFORE_LATENCY = frozenset(PRECEDENCE[:PRECEDENCE.index("latency")])

_WORD = re.compile(r"[A-Za-z]{2}")
_NAMED = re.compile(r"[A-Za-z]")

Codes = tuple[tuple[str, str], ...]
"""(field, value) pairs, most specific first, as found in the record."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """A rule that matches a record, at a precedence level, on a field and value."""

    rule: Rule
    level: MatchLevel
    field: str
    value: str
    pattern: str | None = None


class _MessageScope:
    """The message rules of one scope (a channel, or channel-independent) in precedence order.

    One RE2 pass tests the patterns and finds the concepts (:class:`ConceptRules`); the first
    rule in order that matches wins, wherever in the text its match is. Fallback rules come
    last. The patterns compile on first use, so looking up a code (``explain 51``) never pays
    for them.
    """

    def __init__(self, rules: Sequence[Rule], matcher: ConceptMatcher) -> None:
        self.entries: list[tuple[Rule, str, tuple[str, ...] | None]] = []
        regex: list[tuple[int, str]] = []
        concepts: list[tuple[int, tuple[str, ...]]] = []
        # Fallback rules last: the same passes find them too, and they decide only where no
        # other rule of the scope matched (and then at the fallback level).
        for rule in sorted(rules, key=lambda r: r.fallback):
            for pattern in rule.messages:
                regex.append((len(self.entries), pattern))
                self.entries.append((rule, pattern, None))
            for combination in rule.concepts:
                concepts.append((len(self.entries), combination))
                self.entries.append((rule, combination_text(combination), combination))
        self._regex_positions = [position for position, _ in regex]
        self._regex_index = {position: index for index, (position, _) in enumerate(regex)}
        self._regex_patterns = [pattern for _, pattern in regex]
        self._concepts = ConceptRules(concepts, matcher)
        self._patterns: PatternSet | None = None

    @property
    def patterns(self) -> PatternSet:
        """The patterns, then the concepts' (one RE2 pass finds both)."""
        if self._patterns is None:
            try:
                self._patterns = PatternSet(self._regex_patterns + self._concepts.patterns)
            except ValueError as exc:
                raise RulebookError(str(exc), hint="`txdiag rules validate FILE` checks a "
                                    "rule file for this") from None
        return self._patterns

    def _found(self, text: str, before: int | None = None) -> Iterator[int]:
        """Positions of the entries that match, in order (only those before ``before``, when
        given: what :meth:`first` needs)."""
        found = self.patterns.indices(text)
        offset = len(self._regex_patterns)
        cut = bisect_left(found, offset)
        by_pattern = [self._regex_positions[i] for i in found[:cut]]
        if before is not None and by_pattern:
            before = min(before, by_pattern[0])
        words = camel_words(text)
        if words is None:
            by_concept = self._concepts.holding(text, [i - offset for i in found[cut:]],
                                                before)
        else:
            by_concept = self._concepts.holding(words, self._concepts.find(words), before)
        if not by_pattern:
            return by_concept
        return heapq.merge(by_pattern, by_concept)

    def matches(self, message: str) -> Iterator[tuple[Rule, str, str]]:
        """Matching rules in order, each with its pattern (for a concept rule, the
        combination) and what it matched (the deciding terms)."""
        for position in self._found(message):
            rule, pattern, combination = self.entries[position]
            if combination is None:
                found = self.patterns.compiled(self._regex_index[position]).search(message)
                yield rule, pattern, found.group(0) if found is not None else ""
                continue
            words = camel_words(message) or message
            terms = self._concepts.matcher.terms_in(words, combination) or []
            yield rule, pattern, evidence_text(terms)

    def forget(self) -> None:
        self._concepts.forget()

    def first(self, message: str) -> tuple[Rule, str] | None:
        """The first matching rule and its pattern, without the text it matched."""
        position = next(self._found(message, len(self.entries)), None)
        if position is None:
            return None
        rule, pattern, _ = self.entries[position]
        return rule, pattern


class Classifier:
    """Turns the fields of a failed record into a :class:`Diagnosis`."""

    def __init__(self, rulebook: Rulebook, memo_size: int = MEMO_SIZE) -> None:
        self.rulebook = rulebook
        self._channel_codes: dict[tuple[str, str], Rule] = {}
        self._codes: dict[str, Rule] = {}
        self._fallback: dict[tuple[str | None, str], Rule] = {}
        self._statuses: dict[tuple[str | None, str], Rule] = {}
        self._http: list[Rule] = []
        by_code_channel: dict[str, list[Rule]] = defaultdict(list)
        channel_messages: dict[str, list[Rule]] = defaultdict(list)
        generic_messages: list[Rule] = []
        latency: list[Rule] = []
        for rule in rulebook.rules:
            if rule.selector == "codes":
                for code in rule.codes:
                    if rule.fallback:
                        self._fallback.setdefault((rule.channel, code), rule)
                    elif rule.channel is None:
                        self._codes.setdefault(code, rule)
                    else:
                        self._channel_codes.setdefault((rule.channel, code), rule)
                        by_code_channel[code].append(rule)
            elif rule.selector == "statuses":
                for status in rule.statuses:
                    self._statuses.setdefault((rule.channel, status), rule)
            elif rule.selector in ("messages", "concepts"):
                if rule.channel is None:
                    generic_messages.append(rule)
                else:
                    channel_messages[rule.channel].append(rule)
            elif rule.selector == "http_status":
                self._http.append(rule)
            else:
                latency.append(rule)
        # A code known only to channel packs still decides when every channel that knows it
        # agrees on its reason and more than one channel knows it, or it is a name (NOTENOUGH
        # is not reused); an ambiguous code decides nothing. A number only one channel knows
        # is that channel's own: 2009 of "xpay" is not Braintree's 2009, and a bare 0001 is not
        # JD Pay's. The exception is a record without a channel and a number of a channel with
        # `shared_numbering` (ISO 8583's 51 is logged bare by every acquirer).
        agreed = {
            code: rules[0]
            for code, rules in by_code_channel.items()
            if len({rule.reason for rule in rules}) == 1
        }
        self._inferred_for_named = {
            code: rule for code, rule in agreed.items()
            if len({rule.channel for rule in by_code_channel[code]}) > 1
            or _NAMED.search(code) is not None
        }
        shared = {ch.id for ch in rulebook.channels.values() if ch.shared_numbering}
        self._inferred_for_bare = {
            code: rule for code, rule in agreed.items()
            if code in self._inferred_for_named or rule.channel in shared
        }
        self._message_first = frozenset(
            channel.id for channel in rulebook.channels.values() if channel.message_first)
        self._known_channels = {ch for ch, _ in self._channel_codes} | set(channel_messages)
        matcher = ConceptMatcher(rulebook.concepts)
        self._channel_scopes = {
            ch: _MessageScope(rules, matcher) for ch, rules in channel_messages.items()
        }
        self._generic_scope = _MessageScope(generic_messages, matcher)
        self._fold_text = TextFolding(rulebook.char_folds)
        # Highest threshold first: the most severe latency rule a record reaches decides.
        self._latency = sorted(latency, key=lambda r: r.min_latency_ms or 0.0)
        self._latency_thresholds = [r.min_latency_ms or 0.0 for r in self._latency]
        self._lineages: dict[str, tuple[str, ...]] = {}
        self._no_match = rulebook.reason_for(NO_MATCH_REASON)
        self._first = lru_cache(maxsize=memo_size)(self._first_candidate)
        self._memo = lru_cache(maxsize=DIAGNOSIS_MEMO_SIZE)(self._decide)

    def _bands(self, latency_ms: float | None, status: str | None) -> tuple[int, str | None]:
        """Latency as the number of latency thresholds it reaches, and the status key: what
        the memo keys on instead of the raw values (latencies are nearly all distinct)."""
        band = (
            bisect_right(self._latency_thresholds, latency_ms)
            if latency_ms is not None and self._latency
            else 0
        )
        return band, status.strip().lower() if status else None

    def classify(
        self,
        *,
        channel: str | None = None,
        codes: Codes = (),
        message: str | None = None,
        http_status: int | None = None,
        latency_ms: float | None = None,
        status: str | None = None,
    ) -> Diagnosis:
        """Diagnose one failure. ``channel`` must already be canonical (see Rulebook)."""
        band, status_key = self._bands(latency_ms, status)
        return self._memo(channel, codes, message, http_status, band, status_key)

    def decide(
        self,
        *,
        channel: str | None = None,
        codes: Codes = (),
        message: str | None = None,
        http_status: int | None = None,
        latency_ms: float | None = None,
        status: str | None = None,
    ) -> Candidate | None:
        """The rule that decides (None: no rule, ``unknown.no_match``), without building the
        :class:`Diagnosis`: what aggregation needs. A message candidate's ``value`` (the text
        matched, for the evidence) is left empty. The message is remembered by its
        :func:`message_key`, so messages that differ only in an order number cost one
        lookup."""
        band, status_key = self._bands(latency_ms, status)
        if not message:
            return self._first(channel, codes, None, http_status, band, status_key)
        # Everything but the message decides alike for many records with different messages
        # (an order number in the text): levels 1-3 and 5-6 are worked out once, and the
        # message level, between them, on its own; the order is the one candidates() states.
        rest = self._first(channel, codes, None, http_status, band, status_key)
        later = self._codes_after_message(self._lineage_of(channel))
        if rest is not None and self._rank(rest, later) < _RANK["message"]:
            return rest
        by_message = self._first(channel, (), message_key(message), None, 0, None)
        # (keyed: the text rules see is the key anyway, so the decision is the same)
        if by_message is None or (rest is not None
                                  and self._rank(rest, later) < _RANK[by_message.level]):
            # (a message that names no cause decides below everything else)
            return rest
        return by_message

    def decided_before_message(
        self,
        *,
        channel: str | None = None,
        codes: Codes = (),
        status: str | None = None,
    ) -> Candidate | None:
        """The rule that decides whatever the message says (a channel code, a code or a
        status, ranked above every message rule), or None when a message could change the
        decision. Latency and HTTP status rank below the message, so they cannot matter here:
        what lets records that differ only in their message share one outcome."""
        _, status_key = self._bands(None, status)
        rest = self._first(channel, codes, None, None, 0, status_key)
        if rest is None or self._rank(
                rest, self._codes_after_message(self._lineage_of(channel))) >= _RANK["message"]:
            return None
        return rest

    def _codes_after_message(self, lineage: tuple[str, ...]) -> bool:
        """Whether a record of the channel with this lineage has its channel codes read after
        the message: the channel, or one it inherits, is ``message_first``."""
        return bool(self._message_first) and not self._message_first.isdisjoint(lineage)

    def _lineage_of(self, channel: str | None) -> tuple[str, ...]:
        """The channel and those it inherits (remembered); none without a channel."""
        if not channel:
            return ()
        return self._lineages.get(channel) or self._lineage(channel)

    @staticmethod
    def _rank(candidate: Candidate, codes_after_message: bool) -> float:
        """Where a candidate stands in :data:`PRECEDENCE` (channel codes just after the
        message for a ``message_first`` channel)."""
        if candidate.level == "channel_code" and codes_after_message:
            return _RANK["message"] + 0.5
        return _RANK[candidate.level]

    def _lineage(self, channel: str) -> tuple[str, ...]:
        if len(self._lineages) >= MEMO_SIZE:
            self._lineages.clear()
        lineage = self._lineages[channel] = self.rulebook.channel_lineage(channel)
        return lineage

    @property
    def latency_thresholds(self) -> list[float]:
        """The latency rules' thresholds, lowest first (a record's band is how many it
        reaches)."""
        return self._latency_thresholds

    def latency_can_matter(self, decided: Candidate | None) -> bool:
        """Whether a record's latency could change a decision taken as if it had none."""
        return bool(self._latency) and (decided is None or decided.level not in _BEFORE_LATENCY)

    @property
    def no_match_reason(self) -> ReasonDef:
        return self._no_match

    def cache_info(self) -> str:
        return str(self._first.cache_info())

    def compile(self) -> None:
        """Compile every scope's patterns now (they compile on first use otherwise);
        :class:`RulebookError` when RE2 cannot hold them."""
        for scope in (*self._channel_scopes.values(), self._generic_scope):
            _ = scope.patterns

    def forget(self) -> None:
        """Drop every remembered decision (the compiled patterns stay): each input is then
        worked out afresh, as the first time it is seen."""
        self._first.cache_clear()
        self._memo.cache_clear()
        for scope in (*self._channel_scopes.values(), self._generic_scope):
            scope.forget()

    def _first_candidate(
        self,
        channel: str | None,
        codes: Codes,
        message: str | None,
        http_status: int | None,
        latency_band: int,
        status: str | None,
    ) -> Candidate | None:
        return next(
            self.candidates(channel, codes, message, http_status, latency_band, status,
                            matched_text=False),
            None,
        )

    def _decide(
        self,
        channel: str | None,
        codes: Codes,
        message: str | None,
        http_status: int | None,
        latency_band: int,
        status: str | None,
    ) -> Diagnosis:
        first = next(
            self.candidates(channel, codes, message, http_status, latency_band, status), None
        )
        if first is None:
            return self._unknown(codes, message)
        return self._diagnosis(first, codes)

    def candidates(
        self,
        channel: str | None,
        codes: Codes,
        message: str | None,
        http_status: int | None,
        latency_band: int,
        status: str | None,
        *,
        matched_text: bool = True,
    ) -> Iterator[Candidate]:
        """Every rule that matches, in precedence order: the first one decides.

        This is the one statement of the precedence in docs/rules.md; ``rules test`` lists
        all of it, classification takes the head. Without ``matched_text`` a message
        candidate's value is left empty and only the first one per scope is given (enough to
        know which rule decides, at a third of the cost).
        """
        lineage = self._lineage_of(channel)
        # Codes compare trimmed, case-insensitively and without colour codes; evidence keeps
        # them as found.
        upper = tuple((field, strip_ansi(value).strip().upper()) for field, value in codes)
        # 1. channel-specific code, most specific code first. A channel whose name covers
        # several code tables (it or a parent is message_first) has them read after the message.
        later = self._codes_after_message(lineage)
        after_message: list[Candidate] = []
        for field, code in upper:
            for name in lineage:
                rule = self._channel_codes.get((name, code))
                if rule is not None:
                    candidate = Candidate(rule, "channel_code", field, code)
                    if later:
                        after_message.append(candidate)
                    else:
                        yield candidate
        # 2. channel-independent code; then a code-only meaning when the channel is unknown.
        for field, code in upper:
            rule = self._codes.get(code)
            if rule is not None:
                yield Candidate(rule, "code", field, code)
        # 3. status.
        if status:
            for owner in (*lineage, None):
                rule = self._statuses.get((owner, status))
                if rule is not None:
                    yield Candidate(rule, "status", "status", status)
        # 4. message patterns and concepts: the channel's own first, then channel-independent
        # ones. Rules that name no cause ("transaction failed") are found in the same pass but
        # decide only at level 7.
        deferred: list[Candidate] = []
        if message:
            yield from self._text_candidates("message", "error_message", message, lineage,
                                             matched_text, deferred)
        yield from after_message
        # 5. a code of another channel's table, for a record without a (known) channel: only
        # below the message, which says what happened where this only guesses it; then the
        # words of a code (CARD_EXPIRED, USER_BALANCE_NOT_ENOUGH) read as text.
        if channel is None or channel not in self._known_channels:
            inferred = self._inferred_for_bare if channel is None else self._inferred_for_named
            for field, code in upper:
                rule = inferred.get(code)
                if rule is not None:
                    yield Candidate(rule, "inferred_code", field, code)
        for field, value in codes:
            if _has_words(value):
                yield from self._text_candidates("code_text", field, value, lineage,
                                                 matched_text, deferred)
        # 6. HTTP status, then latency (the most severe threshold reached first).
        if http_status is not None:
            for rule in self._http:
                if any(low <= http_status <= high for low, high in rule.http_status):
                    yield Candidate(rule, "http_status", "http_status", str(http_status))
        for band in range(latency_band, 0, -1):
            rule = self._latency[band - 1]
            yield Candidate(rule, "latency", "latency_ms", f">= {rule.min_latency_ms:g} ms")
        # 7. generic codes, then messages that name no cause ("transaction failed"): they
        # decide only when nothing more specific did.
        for field, code in upper:
            for owner in (*lineage, None):
                rule = self._fallback.get((owner, code))
                if rule is not None:
                    yield Candidate(rule, "fallback_code", field, code)
        for candidate in deferred:
            yield Candidate(candidate.rule, "fallback_message", candidate.field, candidate.value,
                            candidate.pattern)

    def _text_candidates(self, level: MatchLevel, field: str, text: str,
                         lineage: tuple[str, ...], matched_text: bool,
                         deferred: list[Candidate]) -> Iterator[Candidate]:
        """The message rules that match ``text``: the channel's scopes, then the generic one;
        those of fallback rules go to ``deferred``. Without ``matched_text``, only the first of
        each scope, and no matched text."""
        text = self._fold_text(_prepare_message(message_key(text)))
        for scope in (*(self._channel_scopes.get(name) for name in lineage), self._generic_scope):
            if scope is None:
                continue
            if matched_text:
                found: Iterable[tuple[Rule, str, str]] = scope.matches(text)
            else:
                first = scope.first(text)
                found = () if first is None else ((first[0], first[1], ""),)
            # (lazily: a scope's fallback rules come last, so the first that decides costs no
            # more than before)
            for rule, pattern, matched in found:
                candidate = Candidate(rule, level, field, matched, pattern)
                if rule.fallback:
                    deferred.append(candidate)
                else:
                    yield candidate

    def all_candidates(
        self,
        *,
        channel: str | None = None,
        codes: Codes = (),
        message: str | None = None,
        http_status: int | None = None,
        latency_ms: float | None = None,
        status: str | None = None,
    ) -> list[Candidate]:
        """Like :meth:`classify`, but every matching rule in precedence order (not memoized)."""
        band, status_key = self._bands(latency_ms, status)
        return list(self.candidates(channel, codes, message, http_status, band, status_key))

    def code_meanings(self, code: str) -> list[Candidate]:
        """The rule each channel has for ``code`` (its own, or a fallback), one per channel,
        in rulebook order: what the code may mean when the channel is not known."""
        key = strip_ansi(code).strip().upper()
        found: dict[str, Candidate] = {}
        for (channel, value), rule in (*self._channel_codes.items(), *self._fallback.items()):
            if value == key and channel is not None and channel not in found:
                level: MatchLevel = "fallback_code" if rule.fallback else "channel_code"
                found[channel] = Candidate(rule, level, "code", key)
        return list(found.values())

    def diagnosis_of(self, candidate: Candidate, codes: Codes) -> Diagnosis:
        """The diagnosis a candidate gives."""
        return self._diagnosis(candidate, codes)

    @staticmethod
    def _diagnosis(candidate: Candidate, codes: Codes) -> Diagnosis:
        rule = candidate.rule
        return Diagnosis(
            category=rule.category,
            reason=rule.reason,
            title=rule.title,
            retryable=rule.retryable,
            hint=rule.hint,
            action=rule.action,
            evidence=Evidence(
                rule_id=rule.id,
                level=candidate.level,
                field=candidate.field,
                value=candidate.value,
                pattern=candidate.pattern,
                rule_source=rule.source or None,
                codes=tuple(CodeValue(field=f, value=v) for f, v in codes),
            ),
        )

    def _unknown(self, codes: Codes, message: str | None) -> Diagnosis:
        reason = self._no_match
        field, value = codes[0] if codes else ("error_message", message)
        return Diagnosis(
            category=Category.UNKNOWN,
            reason=reason.id,
            title=reason.title,
            retryable=reason.retryable,
            hint=reason.hint,
            action=reason.action,
            evidence=Evidence(
                rule_id=None,
                level="none",
                field=field if value else None,
                value=value,
                codes=tuple(CodeValue(field=f, value=v) for f, v in codes),
            ),
        )


_VOLATILE = re.compile(
    # Every branch starts at a digit or a hex letter: said first, it lets the engine skip
    # other characters fast (a third of the time of a message).
    r"(?=[\da-fA-F])(?:"
    r"\d{8,}"                                              # order, card and phone numbers, times
    r"|\b[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\b"       # UUIDs
    r"|\b(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{16,}\b"                        # hex trace ids
    r")"
)


def message_key(message: str) -> str:
    """The message with what differs from record to record (runs of eight digits or more,
    UUIDs, long hex ids) made the same: the text message rules see, and what decisions are
    remembered by. Such a run reads as ``00000000``, so a pattern that expects digits there
    still matches, and two messages that differ only in an order number are one decision."""
    return _VOLATILE.sub("00000000", message)


def _has_words(code: str) -> bool:
    """Whether a code holds a word (two letters running), not only digits and signs."""
    return _WORD.search(code) is not None


def _prepare_message(message: str) -> str:
    """The text rules see: colour codes removed, and a very long text cut to head and tail."""
    # strip_ansi has its own cheap pre-check, and knows the 8-bit forms (\x9b, \x9d, ...).
    text = strip_ansi(message)
    if len(text) > MESSAGE_HEAD + MESSAGE_TAIL:
        text = text[:MESSAGE_HEAD] + "\n" + text[-MESSAGE_TAIL:]
    return text
