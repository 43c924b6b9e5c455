"""Renderers: every output format of every command, over the same result objects.

``diagnose`` output streams (:class:`FindingWriter`: one row at a time, totals at the end);
``summary`` and ``explain`` render a finished object. Rich is imported only by the table format.
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
