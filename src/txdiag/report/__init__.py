"""``txdiag report``: the post-incident report, as one HTML page or as Markdown.

>>> from txdiag.report import QueryFirst, build_report   # doctest: +SKIP

The report reuses the summary's engine: :class:`~txdiag.fold.SummaryFold` folds the inputs
into the same :class:`~txdiag.aggregate.Summary` and :class:`~txdiag.timeline.Timeline`, with
:class:`QueryFirst` watching the failures whose outcome is unknown. Incident windows are the
timeline's spikes. Only the list of affected transactions (:class:`AffectedList`) needs a
second pass over the inputs, since the windows are known only at the end of the first.

matplotlib and Jinja2 load only when a page is rendered (:mod:`txdiag.report.html`).
"""

from txdiag.report.collect import AffectedList, AffectedRow, ChannelAmounts, QueryFirst
from txdiag.report.markdown import write_markdown
from txdiag.report.model import Incident, Report, Section, Table, build_report

__all__ = [
    "AffectedList",
    "AffectedRow",
    "ChannelAmounts",
    "Incident",
    "QueryFirst",
    "Report",
    "Section",
    "Table",
    "build_report",
    "write_markdown",
]
