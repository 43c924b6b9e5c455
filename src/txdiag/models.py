"""Typed result objects shared by the library, the renderers and the CLI.

These are the public shapes: a normalized :class:`Record`, the :class:`Diagnosis` of a failed
record, and :class:`Finding`, the pair of them. Records and findings are pydantic models so
that they validate, serialize to JSON and document themselves; the hot path avoids building
them per record and creates them only for rows that are shown (see :mod:`txdiag.normalize`).
The diagnosis is a plain dataclass (:mod:`txdiag.diagnosis`), re-exported here.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import AwareDatetime, BaseModel, ConfigDict

from txdiag.diagnosis import CodeValue, Diagnosis, Evidence
from txdiag.vocabulary import (
    LANGS,
    Category,
    Lang,
    LocalizedText,
    MatchLevel,
    Retryable,
    format_time,
)

__all__ = [
    "LANGS",
    "Category",
    "CodeValue",
    "Diagnosis",
    "Evidence",
    "Finding",
    "Lang",
    "LocalizedText",
    "MatchLevel",
    "Record",
    "Retryable",
    "SourceRef",
    "format_time",
]


class SourceRef(BaseModel):
    """Where a record came from: a file name (``<stdin>`` for a pipe, or a URL) and a line."""

    model_config = ConfigDict(frozen=True)

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


class Record(BaseModel):
    """A normalized transaction record. Unparseable optional values become ``None``, not errors."""

    model_config = ConfigDict(frozen=True)

    txn_id: str | None = None
    timestamp: AwareDatetime | None = None
    timestamp_raw: str | None = None
    status: str | None = None
    channel: str | None = None
    error_code: str | None = None
    error_codes: tuple[CodeValue, ...] = ()
    error_message: str | None = None
    http_status: int | None = None
    latency_ms: float | None = None
    amount: Decimal | None = None
    currency: str | None = None
    installments: int | None = None
    user_id: str | None = None
    source: SourceRef


class Finding(BaseModel):
    """A failed record and its diagnosis: one row of ``txdiag diagnose``."""

    model_config = ConfigDict(frozen=True)

    record: Record
    diagnosis: Diagnosis
