"""Streaming writers of ``diagnose`` rows, one class per format, one interface."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from datetime import tzinfo
from json.encoder import encode_basestring
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from txdiag.aggregate import Summary
from txdiag.fields import FIELDS, FieldSpec
from txdiag.normalize import decimal_value, int_value, text_value
from txdiag.readers import ReadStats
from txdiag.render import OutputFormat
from txdiag.render.common import (
    completeness,
    finding_dict,
    inputs_list,
    partial_note,
    totals_dict,
)
from txdiag.render.data import Cell, CsvTable, MarkdownTable
from txdiag.render.present import (
    SCHEMA_VERSION,
    Presenter,
    diagnosis_dict,
    dumps,
    json_escape_unsafe,
)
from txdiag.safety import visible
from txdiag.timeparse import parse_timestamp
from txdiag.vocabulary import counted, format_time

if TYPE_CHECKING:
    from txdiag.aggregate import Target
    from txdiag.models import Diagnosis, Finding
    from txdiag.normalize import Extracted
    from txdiag.pipeline import Observation, Pipeline

MESSAGE_WIDTH = 60

CSV_COLUMNS = (
    "timestamp", "txn_id", "channel", "error_code", "error_message", "http_status", "category",
    "reason", "retryable", "hint", "action", "rule_id", "source",
)


__all__ = [
    "CSV_COLUMNS",
    "CsvWriter",
    "FindingFeed",
    "FindingRows",
    "FindingWriter",
    "JsonLinesWriter",
    "JsonWriter",
    "MarkdownWriter",
    "WritesFindings",
    "dumps",
    "finding_writer",
    "shorten",
]


class FindingWriter(Protocol):
    """Receives findings one by one, then the run's totals."""

    def write(self, finding: Finding) -> None: ...

    def write_observation(self, observation: Observation, pipeline: Pipeline) -> None:
        """A failed observation of ``pipeline``: the same as writing its finding."""

    def write_parts(self, outcome: Extracted, diagnosis: Diagnosis, fields: Extracted,
                    source: str, line: int, pipeline: Pipeline) -> None:
        """A failure handed over in parts: ``outcome`` holds the fields that decided it
        (status, channel, codes, message, HTTP status; shared by every record with them),
        ``fields`` the record's own (:data:`txdiag.fold.ROW_FIELDS`; its message, when the
        outcome holds none because records of many messages share it). The same as writing
        the observation of the record holding both."""

    def finish(self, summary: Summary, inputs: Sequence[ReadStats]) -> None: ...


def merged(outcome: Extracted, fields: Extracted) -> Extracted:
    """The fields of a record handed over in parts (:meth:`FindingWriter.write_parts`)."""
    own = {spec.name: getattr(fields, spec.name) for spec in FIELDS if not spec.decides}
    return replace(outcome, **own,
                   message=outcome.message if fields.message is None else fields.message)


class WritesFindings:
    """What writers that need the :class:`Finding` of an observation share."""

    def write(self, finding: Finding) -> None:
        raise NotImplementedError

    def write_observation(self, observation: Observation, pipeline: Pipeline) -> None:
        self.write(pipeline.finding(observation))

    def write_parts(self, outcome: Extracted, diagnosis: Diagnosis, fields: Extracted,
                    source: str, line: int, pipeline: Pipeline) -> None:
        from txdiag.pipeline import Observation

        self.write_observation(Observation(source, line, merged(outcome, fields), diagnosis),
                               pipeline)


class FindingFeed:
    """The failures a fold hands out (:class:`~txdiag.fold.SummaryFold`'s ``rows``), written
    by a :class:`FindingWriter` in input order: those of the wanted ``categories`` (None: all),
    the first ``limit`` of them (None: all). ``output`` makes the writer on first use, so that
    an input failing at once leaves the output empty."""

    def __init__(self, output: Callable[[], FindingWriter], pipeline: Pipeline, *,
                 categories: Collection[str] | None = None, limit: int | None = None) -> None:
        self.output = output
        self.pipeline = pipeline
        self.categories = None if categories is None else frozenset(categories)
        self.limit = limit
        self.shown = 0
        self.full = limit is not None and limit <= 0
        """No more rows are written (the limit is reached)."""

    def wants(self, target: Target) -> bool:
        """Whether records with this outcome are written (asked once per distinct outcome)."""
        verdict = target[1]
        return verdict is not None and (self.categories is None
                                        or verdict[0] in self.categories)

    def observation(self, observation: Observation) -> None:
        """A record observed on its own (written when it failed and is wanted)."""
        diagnosis = observation.diagnosis
        if diagnosis is None or self.full or (
                self.categories is not None and diagnosis.category not in self.categories):
            return
        self.output().write_observation(observation, self.pipeline)
        self._count()

    def parts(self, outcome: Extracted, diagnosis: Diagnosis, fields: Extracted, source: str,
              line: int) -> None:
        """A wanted failure in parts (:meth:`FindingWriter.write_parts`)."""
        if self.full:
            return
        self.output().write_parts(outcome, diagnosis, fields, source, line, self.pipeline)
        self._count()

    def _count(self) -> None:
        self.shown += 1
        if self.limit is not None and self.shown >= self.limit:
            self.full = True


def shorten(text: str, width: int = MESSAGE_WIDTH) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


_INFINITY = float("inf")


def _json(value: object) -> str:
    """One JSON value exactly as ``json.dumps`` writes it, for the types of a record's fields."""
    kind = value.__class__
    if kind is str:
        return encode_basestring(value)  # type: ignore[arg-type]
    if value is None:
        return "null"
    if kind is int:
        return int.__repr__(value)
    if kind is float and value == value and value not in (_INFINITY, -_INFINITY):
        return float.__repr__(value)
    return json.dumps(value, ensure_ascii=False)


_UNMASKED = re.compile(r"(?!.*(?:(?i:bearer|name|holder)|AKIA|ASIA|AKID|AIza|eyJ))"
                       r"(?:[A-Za-z][A-Za-z0-9]*|[A-Za-z0-9.]{0,10})")


def unmasked(text: str) -> bool:
    """A cheap pre-check: True when masking surely leaves ``text`` as it is (a test holds it
    to :func:`~txdiag.safety.mask.mask_text`). Personal data needs a run of at least eleven
    digits not glued to a letter, an ``@``, or a secret's separator or shape: ASCII letters
    and digits starting with a letter (an id such as ``T2026...``) hold none, and neither do
    ten letters, digits and dots (``u702254``, ``199.00``, ``333.0``)."""
    return _UNMASKED.fullmatch(text) is not None


_EXACT = 2**53
_PLAIN_AMOUNT = re.compile(r"(?:0|[1-9][0-9]{0,14})(?:\.[0-9]{1,6})?")


def _amount_text(value: object) -> str | None:
    """``str(decimal_value(value))``: an amount as a row shows it (a plain decimal text is
    already that text)."""
    if isinstance(value, str) and _PLAIN_AMOUNT.fullmatch(value) is not None:
        return value
    amount = decimal_value(value)
    return None if amount is None else str(amount)


_Fields = Callable[["Extracted", tzinfo, Callable[[str | None], str | None],
                   Callable[[float | int | None], float | str | None], Any], str]
"""Some fields of a row written from an :class:`Extracted` (the record, the zone of times
without one, the text masker, the number masker, the record's own value of the
:attr:`~txdiag.fields.FieldSpec.per_record` field): ``"name":value,`` each."""


def _compile_fields(fields: Sequence[FieldSpec], opening: str = "") -> _Fields:
    """The function writing ``fields`` of a row, generated from the field table as
    straight-line code (a row is written per failure): each value converted as
    :meth:`~txdiag.normalize.Normalizer.to_record` converts it and masked as the table says,
    the same text as :func:`~txdiag.render.common.record_dict`; a
    :attr:`~txdiag.fields.FieldSpec.per_record` field's value is the one ``given``. Names
    enter the code only as identifiers (checked) and string constants (``repr``)."""
    steps: list[str] = []
    parts: list[str] = []
    text = opening
    for index, spec in enumerate(fields):
        if not spec.name.isidentifier():
            raise ValueError(f"a field name must be an identifier: {spec.name!r}")
        value = "given" if spec.per_record else f"ex.{spec.name}"
        own = f"v{index}"
        text += f'"{spec.name}":'
        if spec.kind == "timestamp":
            steps.append(f"{own} = parse({value}, tz)")
            parts += [repr(text), f"J(when({own}) or None)"]
            text = f',"{spec.companion}":'
            parts += [repr(text), f'(J(data(plain({value}))) if {own} is None else "null")']
        elif spec.kind == "decimal":
            steps.append(f"{own} = amount({value})")
            parts += [repr(text), f'(J(data({own})) if {own} is not None else "null")']
        elif spec.kind == "integer":
            steps += [f"{own} = {value}",
                      f"if not ({own}.__class__ is int and -EXACT < {own} < EXACT):",
                      f"    {own} = whole({own})  # (a whole number up to 2**53 is itself)"]
            parts += [repr(text), f"J(number({own}))"]
        elif spec.masking == "number":
            parts += [repr(text), f"J(number({value}))"]
        else:
            parts += [repr(text), f"J(data({value}))"]
        text = ","
    parts.append(repr(text))
    source = "\n".join([
        "def write(ex, tz, data, number, given, J=J, parse=parse, when=when, plain=plain, "
        "amount=amount, whole=whole, EXACT=EXACT):",
        *(f"    {step}" for step in steps),
        f"    return ''.join(({', '.join(parts)},))"])
    namespace: dict[str, Any] = {
        "J": _json, "parse": parse_timestamp, "when": format_time, "plain": text_value,
        "amount": _amount_text, "whole": int_value, "EXACT": _EXACT}
    exec(compile(source, "<txdiag row fields>", "exec"), namespace)  # noqa: S102
    write: _Fields = namespace["write"]
    return write


def _row_parts(fields: Sequence[FieldSpec]) -> tuple[tuple[FieldSpec, ...], ...]:
    """The table split in three: the record's own fields before the deciding ones, the
    deciding ones (serialized once per outcome), the own fields after them."""
    decides = [spec.decides for spec in fields]
    first = decides.index(True)
    last = len(decides) - decides[::-1].index(True)
    if not all(decides[first:last]):
        raise ValueError("the deciding fields of the field table must be contiguous")
    return tuple(fields[:first]), tuple(fields[first:last]), tuple(fields[last:])


_OWN_BEFORE, _DECIDING, _OWN_AFTER = _row_parts(FIELDS)
_HEAD = _compile_fields(_OWN_BEFORE, "{")
_OUTCOME = _compile_fields(_DECIDING)
_TAIL = _compile_fields(_OWN_AFTER)
_OUTCOME_KEY = attrgetter(*(spec.name for spec in _DECIDING if not spec.per_record))
"""The deciding values an outcome holds for all its records: with the record's own value of
the per-record one, what the outcome's serialized text is kept under."""


class FindingRows:
    """Diagnose rows as compact JSON, straight from observations.

    Exactly ``dumps(finding_dict(pipeline.finding(observation), presenter))``, without building
    the :class:`Finding`: the record's fields are converted as
    :meth:`~txdiag.normalize.Normalizer.to_record` converts them and masked only when they may
    hold personal data (:func:`unmasked`), and the parts that are the same for every record
    with the same outcome (the deciding fields, the diagnosis) are serialized once per outcome.
    """

    MAX_KEPT = 4096

    def __init__(self, presenter: Presenter) -> None:
        self.p = presenter
        self._diagnoses: dict[int, tuple[Diagnosis, str]] = {}
        self._outcomes: dict[tuple[object, ...], str] = {}
        self._sources: dict[str, str] = {}

    def of_finding(self, finding: Finding) -> str:
        return dumps(finding_dict(finding, self.p))

    def of_observation(self, observation: Observation, assume_tz: tzinfo) -> str:
        diagnosis = observation.diagnosis
        if diagnosis is None:
            raise ValueError("a successful record has no finding")
        return self.of_parts(observation.fields, diagnosis, observation.fields,
                             observation.source, observation.line, assume_tz)

    def of_parts(self, outcome: Extracted, diagnosis: Diagnosis, ex: Extracted, source: str,
                 line: int, assume_tz: tzinfo) -> str:
        """The row of a failure handed over in parts (:meth:`FindingWriter.write_parts`)."""
        data, number = self._data, self._number
        message = outcome.message if ex.message is None else ex.message
        return (json_escape_unsafe(_HEAD(ex, assume_tz, data, number, None))
                + self._outcome(outcome, message, assume_tz)
                + json_escape_unsafe(_TAIL(ex, assume_tz, data, number, None))
                + self._diagnosis(diagnosis) + self._source(source) + f'{line}}}}}')

    def _data(self, value: str | None) -> str | None:
        """:meth:`Presenter.data`, with the masker skipped where it would change nothing."""
        if value is None or not self.p.mask or _UNMASKED.fullmatch(value) is not None:
            return value
        return self.p.data(value)

    def _number(self, value: float | int | None) -> float | str | None:
        """:meth:`Presenter.number`, likewise (a whole number of up to ten digits is no
        personal data)."""
        if value is None or not self.p.mask or (
                value.__class__ is int and 0 <= value < 10_000_000_000) or (
                value.__class__ is float and 0 <= value < 1e9 and value.is_integer()) or (
                _UNMASKED.fullmatch(str(value)) is not None):
            return value  # (fewer than eleven digits: no card, phone or ID number)
        return self.p.number(value)

    def _outcome(self, ex: Extracted, message: str | None, assume_tz: tzinfo) -> str:
        """The deciding fields (with this message), serialized and escaped, then a comma
        (once per outcome and message). Masked without the pre-check: a message is rarely
        a plain word, and the masker keeps what it has seen."""
        key = (_OUTCOME_KEY(ex), message)
        text = self._outcomes.get(key)
        if text is None:
            if len(self._outcomes) >= self.MAX_KEPT:
                self._outcomes.clear()
            text = self._outcomes[key] = json_escape_unsafe(
                _OUTCOME(ex, assume_tz, self.p.data, self.p.number, message))
        return text

    def _diagnosis(self, diagnosis: Diagnosis) -> str:
        """The diagnosis' fields, serialized and escaped, then a comma."""
        kept = self._diagnoses.get(id(diagnosis))
        if kept is not None and kept[0] is diagnosis:
            return kept[1]
        if len(self._diagnoses) >= self.MAX_KEPT:
            self._diagnoses.clear()
        text = dumps(diagnosis_dict(diagnosis, self.p))[1:-1] + ","
        # The diagnosis is kept with its text: its id cannot be reused while it is here.
        self._diagnoses[id(diagnosis)] = (diagnosis, text)
        return text

    def _source(self, name: str) -> str:
        text = self._sources.get(name)
        if text is None:
            if len(self._sources) >= self.MAX_KEPT:
                self._sources.clear()
            file = json_escape_unsafe(_json(self.p.data(name)))
            text = self._sources[name] = f'"source":{{"file":{file},"line":'
        return text


class JsonLinesWriter:
    def __init__(self, out: TextIO, presenter: Presenter) -> None:
        self.out = out
        self.p = presenter
        self.rows = FindingRows(presenter)

    def write(self, finding: Finding) -> None:
        self.out.write(self.rows.of_finding(finding) + "\n")

    def write_observation(self, observation: Observation, pipeline: Pipeline) -> None:
        self.out.write(self.rows.of_observation(observation, pipeline.normalizer.assume_tz)
                       + "\n")

    def write_parts(self, outcome: Extracted, diagnosis: Diagnosis, fields: Extracted,
                    source: str, line: int, pipeline: Pipeline) -> None:
        self.out.write(self.rows.of_parts(outcome, diagnosis, fields, source, line,
                                          pipeline.normalizer.assume_tz) + "\n")

    def finish(self, summary: Summary, inputs: Sequence[ReadStats]) -> None:
        self.out.flush()


class JsonWriter:
    """One JSON object, written incrementally: memory does not grow with the number of rows."""

    def __init__(self, out: TextIO, presenter: Presenter) -> None:
        self.out = out
        self.p = presenter
        self.rows = FindingRows(presenter)
        self.count = 0
        out.write(f'{{"schema_version":{SCHEMA_VERSION},"command":"diagnose",'
                  f'"lang":"{presenter.lang}","findings":[')

    def _row(self, row: str) -> None:
        self.out.write(("," if self.count else "") + "\n" + row)
        self.count += 1

    def write(self, finding: Finding) -> None:
        self._row(self.rows.of_finding(finding))

    def write_observation(self, observation: Observation, pipeline: Pipeline) -> None:
        self._row(self.rows.of_observation(observation, pipeline.normalizer.assume_tz))

    def write_parts(self, outcome: Extracted, diagnosis: Diagnosis, fields: Extracted,
                    source: str, line: int, pipeline: Pipeline) -> None:
        self._row(self.rows.of_parts(outcome, diagnosis, fields, source, line,
                                     pipeline.normalizer.assume_tz))

    def finish(self, summary: Summary, inputs: Sequence[ReadStats]) -> None:
        tail = {
            **completeness(summary),
            "shown": self.count,
            "totals": totals_dict(summary, inputs),
            "by_category": dict(summary.by_category),
            "inputs": inputs_list(inputs, self.p),
        }
        self.out.write("\n]," + dumps(tail)[1:] + "\n")
        self.out.flush()


def _row(finding: Finding, p: Presenter) -> list[Cell]:
    """A finding's cells, in the order of :data:`CSV_COLUMNS` (masked; made safe to show by
    the table they are written to)."""
    r, d = finding.record, finding.diagnosis
    return [
        format_time(r.timestamp) or p.data(r.timestamp_raw),
        p.data(r.txn_id),
        p.data(r.channel),
        p.data(r.error_code),
        p.data(r.error_message),
        p.number(r.http_status),
        d.category.value,
        d.reason,
        d.retryable.value,
        p.data(d.hint.get(p.lang)),
        p.data(d.action.get(p.lang)),
        d.evidence.rule_id,
        p.data(str(r.source)),
    ]


class CsvWriter(WritesFindings):
    def __init__(self, out: TextIO, presenter: Presenter) -> None:
        self.out = out
        self.p = presenter
        self.table = CsvTable(out, CSV_COLUMNS)

    def write(self, finding: Finding) -> None:
        self.table.row(_row(finding, self.p))

    def finish(self, summary: Summary, inputs: Sequence[ReadStats]) -> None:
        self.out.flush()


class MarkdownWriter(WritesFindings):
    HEADER = ("time", "txn id", "channel", "code", "message", "category", "reason", "hint")

    def __init__(self, out: TextIO, presenter: Presenter) -> None:
        self.out = out
        self.p = presenter
        self.table = MarkdownTable(out, self.HEADER)

    def write(self, finding: Finding) -> None:
        row = _row(finding, self.p)
        message = shorten(visible(row[4])) if isinstance(row[4], str) else row[4]
        self.table.row([row[0], row[1], row[2], row[3], message, row[6], row[7], row[9]])

    def finish(self, summary: Summary, inputs: Sequence[ReadStats]) -> None:
        self.out.write(
            f"\n{partial_note(summary)}{counted(summary.failures, 'failure')} in "
            f"{counted(summary.records, 'record')}"
            f" ({summary.unreadable} unreadable)\n"
        )
        self.out.flush()


def finding_writer(fmt: OutputFormat, out: TextIO, presenter: Presenter, *,
                   width: int | None = None, color: bool = False) -> FindingWriter:
    """The writer for a format (the table writer loads Rich on demand)."""
    if fmt is OutputFormat.TABLE:
        from txdiag.render.table import TableWriter

        return TableWriter(out, presenter, width=width, color=color)
    writers: dict[OutputFormat, type[JsonLinesWriter | JsonWriter | CsvWriter | MarkdownWriter]]
    writers = {
        OutputFormat.JSONL: JsonLinesWriter,
        OutputFormat.JSON: JsonWriter,
        OutputFormat.CSV: CsvWriter,
        OutputFormat.MARKDOWN: MarkdownWriter,
    }
    return writers[fmt](out, presenter)
