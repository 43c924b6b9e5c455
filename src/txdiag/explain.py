"""What one code or message means, without reading any log: ``txdiag explain``.

:func:`explain_query` decides exactly as :meth:`~txdiag.classify.Classifier.classify` does (a
test checks it) and returns a plain :class:`Explanation`, which every renderer reads like a
:class:`~txdiag.models.Diagnosis`: looking up a code loads no pydantic, which would be most of
what ``explain`` costs.
"""

from __future__ import annotations

from dataclasses import dataclass

from txdiag.classify import Classifier
from txdiag.vocabulary import Category, LocalizedText, MatchLevel, Retryable

QUERY_FIELD = "query"
"""The field the query is evidence of, when it is tried as a code."""


@dataclass(frozen=True, slots=True)
class QueryCode:
    field: str
    value: str


@dataclass(frozen=True, slots=True)
class ExplainedEvidence:
    """What decided, as in :class:`~txdiag.models.Evidence`."""

    rule_id: str | None
    level: MatchLevel
    field: str | None
    value: str | None
    pattern: str | None = None
    rule_source: str | None = None
    codes: tuple[QueryCode, ...] = ()


@dataclass(frozen=True, slots=True)
class Explanation:
    """The diagnosis of a query, as in :class:`~txdiag.models.Diagnosis`."""

    category: Category
    reason: str
    title: LocalizedText
    retryable: Retryable
    hint: LocalizedText
    action: LocalizedText
    evidence: ExplainedEvidence


def explain_query(classifier: Classifier, query: str, channel: str | None = None) -> Explanation:
    """What ``query`` (a code, or a message) means on ``channel`` (canonical, or None).

    A text without spaces is tried as a code first, then as a message: precedence decides.
    """
    text = query.strip()
    codes = ((QUERY_FIELD, text),) if text and not any(c.isspace() for c in text) else ()
    message = text or None
    found = tuple(QueryCode(field, value) for field, value in codes)
    # The first candidate is the one classify() takes; the candidates come lazily, so message
    # patterns are compiled only when no code decides.
    first = next(classifier.candidates(channel, codes, message, None, 0, None), None)
    if first is None:
        reason = classifier.no_match_reason
        field, value = codes[0] if codes else ("error_message", message)
        return Explanation(
            Category.UNKNOWN, reason.id, reason.title, reason.retryable, reason.hint,
            reason.action,
            ExplainedEvidence(None, "none", field if value else None, value, codes=found),
        )
    rule = first.rule
    return Explanation(
        rule.category, rule.reason, rule.title, rule.retryable, rule.hint, rule.action,
        ExplainedEvidence(rule.id, first.level, first.field, first.value, first.pattern,
                          rule.source or None, found),
    )
