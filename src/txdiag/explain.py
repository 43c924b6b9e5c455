"""What one code or message means, without reading any log: ``txdiag explain``.

:func:`explain_query` turns the query into what a record would carry and asks the classifier:
the :class:`~txdiag.diagnosis.Diagnosis` is a plain dataclass and message patterns compile only
when no code decides, so looking up a code loads no pydantic and no regex set.

Without a channel, a code can mean different things on different channels (``05`` is "do not
honour" in ISO 8583 and something else elsewhere). The explanation then lists each channel's
meaning instead of guessing one; where every channel that knows the code agrees, that meaning is
the answer, and its evidence says it was inferred.
"""

from __future__ import annotations

from dataclasses import dataclass

from txdiag.classify import Classifier
from txdiag.diagnosis import Diagnosis

QUERY_FIELD = "query"
"""The field the query is evidence of, when it is tried as a code."""
_UNDECIDED = frozenset({"none", "fallback_message", "code_text"})
"""Levels at which a code known to channel tables is a better answer (the code's own words, or
"it failed", say less than a code table)."""


@dataclass(frozen=True, slots=True)
class ChannelMeaning:
    """What a code means on one channel."""

    channel: str
    channel_title: str
    diagnosis: Diagnosis


@dataclass(frozen=True, slots=True)
class Explanation:
    """The answer to ``explain``: the diagnosis, and the code's meanings per channel when no
    channel was given and the channels that know the code disagree."""

    diagnosis: Diagnosis
    meanings: tuple[ChannelMeaning, ...] = ()

    @property
    def ambiguous(self) -> bool:
        return len({m.diagnosis.reason for m in self.meanings}) > 1


def explain_query(classifier: Classifier, query: str, channel: str | None = None) -> Diagnosis:
    """What ``query`` (a code, or a message) means on ``channel`` (canonical, or None).

    A text without spaces is tried as a code first, then as a message: precedence decides.
    """
    return explain(classifier, query, channel).diagnosis


def explain(classifier: Classifier, query: str, channel: str | None = None) -> Explanation:
    """:func:`explain_query`, with the code's meaning on each channel that knows it when no
    channel was given."""
    text = query.strip()
    is_code = bool(text) and not any(c.isspace() for c in text)
    codes = ((QUERY_FIELD, text),) if is_code else ()
    diagnosis = classifier.classify(channel=channel, codes=codes, message=text or None)
    if channel is not None or not is_code:
        return Explanation(diagnosis)
    rulebook = classifier.rulebook
    meanings = tuple(
        ChannelMeaning(
            candidate.rule.channel or "",
            rulebook.channels[candidate.rule.channel].title
            if candidate.rule.channel in rulebook.channels else "",
            classifier.diagnosis_of(candidate, codes),
        )
        for candidate in classifier.code_meanings(text)
    )
    reasons = {m.diagnosis.reason for m in meanings}
    if len(reasons) == 1 and diagnosis.evidence.level in _UNDECIDED:
        # Every channel that knows the code agrees: that is the answer, as inferred.
        return Explanation(classifier.diagnosis_of(
            classifier.code_meanings(text)[0], codes, level="inferred_code"), meanings)
    return Explanation(diagnosis, meanings if len(reasons) > 1 else ())
