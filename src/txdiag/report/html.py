"""The report as one self-contained HTML page: Jinja2 with autoescaping, charts as inline SVG.

Every text of the page comes from :class:`~txdiag.report.model.Report` (already masked) and is
escaped by Jinja2's autoescaping; the only markup not escaped is the SVG matplotlib draws from
numbers, times and category names. The page loads nothing: no script, no font, no image from
anywhere, and a Content-Security-Policy forbids any request and any script, so it opens offline
and log text cannot become markup or script. Imported only by ``txdiag report``.
"""

from __future__ import annotations

from importlib.resources import files
from typing import TextIO

from jinja2 import Environment, StrictUndefined
from markupsafe import Markup

from txdiag import __version__
from txdiag.report.model import Report
from txdiag.report.painter import ChartPainter

CONTENT_SECURITY_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                           "base-uri 'none'; form-action 'none'")


def _environment() -> Environment:
    # autoescape=True for every template: no log text can become markup.
    return Environment(autoescape=True, undefined=StrictUndefined, keep_trailing_newline=True,
                       trim_blocks=True, lstrip_blocks=True)


def render_html(report: Report, painter: ChartPainter | None = None) -> str:
    """The page of a report (``painter``: one started before the inputs were read)."""
    template = _environment().from_string(
        files("txdiag.report").joinpath("templates/report.html.j2").read_text("utf-8"))
    charts = {}
    if report.timeline.first is not None:
        drawn = (painter or ChartPainter()).paint(report.timeline, report.spikes)
        # Trusted markup: drawn by matplotlib from numbers, times and category names only.
        charts = {"timeline": Markup(drawn[0]), "categories": Markup(drawn[1])}
    elif painter is not None:
        painter.close()
    return template.render(report=report, charts=charts, version=__version__,
                           csp=CONTENT_SECURITY_POLICY)


def write_html(report: Report, out: TextIO, painter: ChartPainter | None = None) -> None:
    out.write(render_html(report, painter))
    out.flush()
