"""What one code or message means, without reading any log: ``txdiag explain``.

:func:`explain_query` turns the query into what a record would carry and asks the classifier:
the :class:`~txdiag.diagnosis.Diagnosis` is a plain dataclass and message patterns compile only
when no code decides, so looking up a code loads no pydantic and no regex set.
"""

from __future__ import annotations

from txdiag.classify import Classifier
from txdiag.diagnosis import Diagnosis

QUERY_FIELD = "query"
"""The field the query is evidence of, when it is tried as a code."""


def explain_query(classifier: Classifier, query: str, channel: str | None = None) -> Diagnosis:
    """What ``query`` (a code, or a message) means on ``channel`` (canonical, or None).

    A text without spaces is tried as a code first, then as a message: precedence decides.
    """
    text = query.strip()
    codes = ((QUERY_FIELD, text),) if text and not any(c.isspace() for c in text) else ()
    return classifier.classify(channel=channel, codes=codes, message=text or None)
