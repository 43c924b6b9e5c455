"""What one code or message means, without reading any log: ``txdiag explain``.

:func:`explain_query` turns the query into what a record would carry and asks the classifier:
the :class:`~txdiag.diagnosis.Diagnosis` is a plain dataclass and message patterns compile only
when no code decides, so looking up a code loads no pydantic and no regex set.

Without a channel, a code can mean different things on different channels (``05`` is "do not
honour" in ISO 8583 and "pending" on UnionPay). The explanation then lists each channel's
meaning instead of guessing one; where every channel that knows the code agrees, classification
itself answers with that meaning, and its evidence says it was inferred.
"""

from __future__ import annotations

from dataclasses import dataclass

from txdiag.classify import Classifier
from txdiag.diagnosis import Diagnosis

QUERY_FIELD = "query"
"""The field the query is evidence of, when it is tried as a code."""


@dataclass(frozen=True, slots=True)
class ChannelMeaning:
    """What a code means on one channel."""

    channel: str
    channel_title: str
    diagnosis: Diagnosis


@dataclass(frozen=True, slots=True)
class Explanation:
    """The answer to ``explain``: the diagnosis, as classification would give it, and, when
    no channel was given and the channels that know the code read it differently, each
    channel's reading."""

    diagnosis: Diagnosis
    meanings: tuple[ChannelMeaning, ...] = ()


def explain(classifier: Classifier, query: str, channel: str | None = None) -> Explanation:
    """What ``query`` (a code, or a message) means on ``channel`` (canonical, or None).

    A text without spaces is tried as a code first, then as a message: precedence decides,
    exactly as for a record carrying it (where every channel that knows a code agrees, that
    is the answer, at level ``inferred_code``). Without a channel, a code that channels read
    differently also comes with each channel's reading.
    """
    text = query.strip()
    is_code = bool(text) and not any(c.isspace() for c in text)
    codes = ((QUERY_FIELD, text),) if is_code else ()
    diagnosis = classifier.classify(channel=channel, codes=codes, message=text or None)
    if channel is not None or not is_code:
        return Explanation(diagnosis)
    candidates = classifier.code_meanings(text)
    if len({c.rule.reason for c in candidates}) < 2:
        return Explanation(diagnosis)
    rulebook = classifier.rulebook
    return Explanation(diagnosis, tuple(
        ChannelMeaning(
            candidate.rule.channel or "",
            rulebook.channels[candidate.rule.channel].title
            if candidate.rule.channel in rulebook.channels else "",
            classifier.diagnosis_of(candidate, codes),
        )
        for candidate in candidates
    ))
