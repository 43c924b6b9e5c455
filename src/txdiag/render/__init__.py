"""Renderers: every output format of every command, over the same result objects.

``diagnose`` output streams (:class:`FindingWriter`: one row at a time, totals at the end);
``summary`` and ``explain`` render a finished object. The data formats (json, jsonl, csv,
markdown) of every command are written by one writer, :mod:`txdiag.render.data`; the table
format is each command's own, and only it imports Rich.
"""

from __future__ import annotations

from enum import StrEnum


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    JSONL = "jsonl"
    CSV = "csv"
    MARKDOWN = "markdown"


__all__ = ["OutputFormat"]
