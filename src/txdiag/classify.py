"""Classify a failure by the rulebook's documented precedence (docs/rules.md).

The classifier builds indexes once (dictionaries for codes and statuses, one combined regular
expression per message scope) and memoizes diagnoses by their inputs, so repeated codes and
messages, which is what real traffic is made of, cost one dictionary lookup.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

from txdiag.models import Category, CodeValue, Diagnosis, Evidence, MatchLevel
from txdiag.patterns import PatternSet
from txdiag.rulebook import NO_MATCH_REASON, Rule, Rulebook
from txdiag.safety import strip_ansi

# Long stack traces hold their cause near the end ("Caused by: ..."), so match over a generous
# prefix and the tail rather than cutting at the start only.
MESSAGE_HEAD = 8192
MESSAGE_TAIL = 8192
MEMO_SIZE = 65536

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

    All patterns of the scope are tested in one RE2 pass; the first rule in order that matches
    wins, wherever in the text its match is.
    """

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.entries: list[tuple[Rule, str]] = [
            (rule, pattern) for rule in rules for pattern in rule.messages
        ]
        self.patterns = PatternSet([pattern for _, pattern in self.entries])

    def matches(self, message: str) -> Iterator[tuple[Rule, str, str]]:
        """Matching rules in order: the first costs one RE2 pass, the rest only if asked for."""
        for index, matched in self.patterns.all(message):
            rule, pattern = self.entries[index]
            yield rule, pattern, matched


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
            elif rule.selector == "messages":
                if rule.channel is None:
                    generic_messages.append(rule)
                else:
                    channel_messages[rule.channel].append(rule)
            elif rule.selector == "http_status":
                self._http.append(rule)
            else:
                latency.append(rule)
        # A code known only to channel packs still decides for a record without a (known)
        # channel when every channel agrees on its reason; an ambiguous code decides nothing.
        self._inferred: dict[str, Rule] = {
            code: rules[0]
            for code, rules in by_code_channel.items()
            if len({rule.reason for rule in rules}) == 1
        }
        self._known_channels = {ch for ch, _ in self._channel_codes} | set(channel_messages)
        self._channel_scopes = {ch: _MessageScope(rules) for ch, rules in channel_messages.items()}
        self._generic_scope = _MessageScope(generic_messages)
        # Highest threshold first: the most severe latency rule a record reaches decides.
        self._latency = sorted(latency, key=lambda r: r.min_latency_ms or 0.0)
        self._latency_thresholds = [r.min_latency_ms or 0.0 for r in self._latency]
        self._no_match = rulebook.reason_for(NO_MATCH_REASON)
        self._memo = lru_cache(maxsize=memo_size)(self._decide)

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
        band = (
            bisect_right(self._latency_thresholds, latency_ms)
            if latency_ms is not None and self._latency
            else 0
        )
        status_key = status.strip().lower() if status else None
        return self._memo(channel, codes, message, http_status, band, status_key)

    def cache_info(self) -> str:
        return str(self._memo.cache_info())

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
    ) -> Iterator[Candidate]:
        """Every rule that matches, in precedence order: the first one decides.

        This is the one statement of the precedence in docs/rules.md; ``rules test`` lists
        all of it, classification takes the head.
        """
        lineage = self.rulebook.channel_lineage(channel) if channel else ()
        # Codes compare trimmed and case-insensitively; evidence keeps them as found.
        upper = tuple((field, value.strip().upper()) for field, value in codes)
        # 1. channel-specific code, most specific code first.
        for field, code in upper:
            for name in lineage:
                rule = self._channel_codes.get((name, code))
                if rule is not None:
                    yield Candidate(rule, "channel_code", field, code)
        # 2. channel-independent code; then a code-only meaning when the channel is unknown.
        for field, code in upper:
            rule = self._codes.get(code)
            if rule is not None:
                yield Candidate(rule, "code", field, code)
        if channel is None or channel not in self._known_channels:
            for field, code in upper:
                rule = self._inferred.get(code)
                if rule is not None:
                    yield Candidate(rule, "inferred_code", field, code)
        # 3. status.
        if status:
            for owner in (*lineage, None):
                rule = self._statuses.get((owner, status))
                if rule is not None:
                    yield Candidate(rule, "status", "status", status)
        # 4. message patterns: the channel's own first, then channel-independent ones.
        if message:
            text = _prepare_message(message)
            scopes = [self._channel_scopes.get(name) for name in lineage]
            for scope in (*scopes, self._generic_scope):
                if scope is not None:
                    for rule, pattern, matched in scope.matches(text):
                        yield Candidate(rule, "message", "error_message", matched, pattern)
        # 5. HTTP status, then latency (the most severe threshold reached first).
        if http_status is not None:
            for rule in self._http:
                if any(low <= http_status <= high for low, high in rule.http_status):
                    yield Candidate(rule, "http_status", "http_status", str(http_status))
        for band in range(latency_band, 0, -1):
            rule = self._latency[band - 1]
            yield Candidate(rule, "latency", "latency_ms", f">= {rule.min_latency_ms:g} ms")
        # 6. generic codes that decide only when nothing more specific did.
        for field, code in upper:
            for owner in (*lineage, None):
                rule = self._fallback.get((owner, code))
                if rule is not None:
                    yield Candidate(rule, "fallback_code", field, code)

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
        band = (
            bisect_right(self._latency_thresholds, latency_ms)
            if latency_ms is not None and self._latency
            else 0
        )
        status_key = status.strip().lower() if status else None
        return list(self.candidates(channel, codes, message, http_status, band, status_key))

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


def _prepare_message(message: str) -> str:
    """The text rules see: colour codes removed, and a very long text cut to head and tail."""
    text = strip_ansi(message) if "\x1b" in message or "\x9b" in message else message
    if len(text) > MESSAGE_HEAD + MESSAGE_TAIL:
        text = text[:MESSAGE_HEAD] + "\n" + text[-MESSAGE_TAIL:]
    return text
