"""The pipeline: inputs -> raw records -> normalized fields -> diagnoses, as a stream.

>>> from txdiag.pipeline import Pipeline
>>> from txdiag.rulebook import load_rulebook
>>> pipeline = Pipeline(load_rulebook())
>>> obs = pipeline.observe({"txn_id": "T1", "status": "failed", "code": "51", "channel": "iso8583"})
>>> obs.diagnosis.reason
'balance.insufficient_funds'
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any

from txdiag.classify import Classifier
from txdiag.errors import InputError
from txdiag.formats import Template, read_records
from txdiag.http.options import HttpOptions
from txdiag.normalize import Extracted, FieldMap, Normalizer
from txdiag.readers import (
    InputFormat,
    KeyGuard,
    RawItem,
    ReadStats,
    Unreadable,
    UnreadableCause,
    note_truncation,
)
from txdiag.rulebook import Rulebook
from txdiag.sources import DEFAULT_MAX_LINE_BYTES, OpenedInput, open_input
from txdiag.timeparse import parse_timestamp

if TYPE_CHECKING:
    from txdiag.models import Diagnosis, Finding


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """How inputs are read."""

    input_format: InputFormat = InputFormat.AUTO
    delimiter: str | None = None
    """CSV's field delimiter; None: detected (``,``, ``;``, ``|`` or tab)."""
    encoding: str = "utf-8"
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES
    strict: bool = False
    records_path: str | None = None
    templates: Sequence[Template] = field(default_factory=tuple)
    http: HttpOptions = field(default_factory=HttpOptions)


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """Keep records with ``since <= timestamp < until``; a record without a time is dropped."""

    since: datetime | None = None
    until: datetime | None = None

    def __bool__(self) -> bool:
        return self.since is not None or self.until is not None

    def contains(self, moment: datetime | None) -> bool:
        if moment is None:
            return False
        if self.since is not None and moment < self.since:
            return False
        return self.until is None or moment < self.until


@dataclass(slots=True)
class Observation:
    """One readable record: its fields, and its diagnosis when it failed (``None`` if not)."""

    source: str
    line: int
    fields: Extracted
    diagnosis: Diagnosis | None


Event = Observation | Unreadable


@dataclass(slots=True)
class RunLedger:
    """The accounting of one run over its inputs (a :class:`Pipeline` holds none: it can
    serve several runs, and a second pass over the same inputs counts nothing twice)."""

    inputs: list[ReadStats] = field(default_factory=list)
    """Per input, what it held, in the order the inputs were read (filled while streaming)."""
    filtered_out: int = 0
    """Records left out by the time window (not counted as records)."""
    current: OpenedInput | None = None
    """The file being read, for progress reporting."""


class StrictError(InputError):
    """``--strict`` met an unreadable record (kept in :attr:`event`)."""

    def __init__(self, event: Unreadable) -> None:
        super().__init__(
            f"{event.source}:{event.line}: unreadable record ({event.cause.value}"
            + (f": {event.detail})" if event.detail else ")"),
            hint="drop --strict to count unreadable records and go on",
        )
        self.event = event


def strict_error(event: Unreadable) -> StrictError:
    """What ``--strict`` makes of the first unreadable record."""
    return StrictError(event)


def is_url(name: str) -> bool:
    return name.startswith(("http://", "https://"))


class Pipeline:
    """Wires reading, normalizing and classifying. Usable from Python without the CLI."""

    def __init__(
        self,
        rulebook: Rulebook,
        *,
        field_map: FieldMap | None = None,
        assume_tz: tzinfo = UTC,
        read_options: ReadOptions | None = None,
        constants: Mapping[str, str] | None = None,
        status_values: Mapping[str, str] | None = None,
        window: TimeWindow | None = None,
    ) -> None:
        self.rulebook = rulebook
        self.normalizer = Normalizer(rulebook, field_map, assume_tz=assume_tz,
                                     constants=constants, status_values=status_values)
        self.classifier = Classifier(rulebook)
        self.read_options = read_options or ReadOptions()
        self.window = window or TimeWindow()
        self.key_guard = KeyGuard(self.normalizer.field_map.decides_verdict)
        """Flags a JSON record giving a key that decides whether it failed twice."""

    def run(self, names: Iterable[str], ledger: RunLedger | None = None) -> Iterator[Event]:
        """Every record of every input, in order: observations and unreadables (what each
        input held, and what the time window left out, in ``ledger``). Record by record: for
        totals, :class:`~txdiag.fold.SummaryFold` reads the same inputs many records at once."""
        ledger = RunLedger() if ledger is None else ledger
        for name in names:
            yield from self.run_one(name, ledger)

    def run_one(self, name: str, ledger: RunLedger) -> Iterator[Event]:
        if is_url(name):
            # httpx loads only when a URL is read.
            from txdiag.http.client import read_url

            stats, items = read_url(name, self.read_options.http)
            yield from self.events(stats, items, ledger)
            return
        opened, stats, items = self.open(name, ledger)
        try:
            yield from self.events(stats, items, ledger)
            note_truncation(opened, stats)
        finally:
            opened.close()

    def open(self, name: str, ledger: RunLedger | None = None
             ) -> tuple[OpenedInput, ReadStats, Iterator[RawItem]]:
        """Open a file or ``-`` and start reading it: what :meth:`run_one` reads from (the
        file being read is ``ledger.current``)."""
        opts = self.read_options
        opened = open_input(name)
        try:
            stats, items = read_records(
                opened,
                input_format=opts.input_format,
                encoding=opts.encoding,
                max_line_bytes=opts.max_line_bytes,
                records_path=opts.records_path,
                templates=opts.templates,
                delimiter=opts.delimiter,
                guard=self.key_guard,
            )
        except BaseException:
            opened.close()
            raise
        if ledger is not None:
            ledger.current = opened
        return opened, stats, items

    def events(self, stats: ReadStats, items: Iterator[RawItem],
               ledger: RunLedger) -> Iterator[Event]:
        """Observe each raw item of one input (its ``stats`` added to ``ledger``); unreadables
        pass through, counted by the caller."""
        ledger.inputs.append(stats)
        event_of = self.event_of
        source = stats.name
        for item in items:
            event = event_of(item, source, ledger)
            if event is not None:
                yield event

    def event_of(self, item: RawItem, source: str, ledger: RunLedger) -> Event | None:
        """One raw item as an event: None when ``--since/--until`` leaves it out (counted in
        ``ledger.filtered_out``); an unreadable one under ``--strict`` is an
        :class:`InputError`."""
        if isinstance(item, Unreadable):
            if self.read_options.strict:
                raise strict_error(item)
            return item
        event = self.observe(item[1], source, item[0])
        if isinstance(event, Unreadable):
            if self.read_options.strict:
                raise strict_error(event)
            return event
        window = self.window
        if window and not window.contains(
            parse_timestamp(event.fields.timestamp, self.normalizer.assume_tz)
        ):
            ledger.filtered_out += 1
            return None
        return event

    def observe(self, data: Mapping[str, Any], source: str = "<python>", line: int = 0) -> Event:
        """Normalize and classify one raw record."""
        fields = self.normalizer.extract(data)
        if fields is None:
            return Unreadable(source, line, UnreadableCause.NO_USABLE_FIELDS,
                              "none of the known field names")
        diagnosis = self.diagnose_fields(fields) if fields.failed else None
        return Observation(source, line, fields, diagnosis)

    def diagnose_fields(self, fields: Extracted, *, message: str | None = None) -> Diagnosis:
        """The diagnosis of a record's fields (``message``: read instead of its message)."""
        return self.classifier.classify(
            channel=fields.channel,
            codes=fields.codes,
            message=fields.message if message is None else message,
            http_status=fields.http_status,
            latency_ms=fields.latency_ms,
            status=fields.status_for_rules,
        )

    def finding(self, observation: Observation) -> Finding:
        """The validated :class:`Finding` of a failed observation (built only when shown)."""
        from txdiag.models import Finding, SourceRef  # pydantic: only once rows are shown

        if observation.diagnosis is None:
            raise ValueError("a successful record has no finding")
        record = self.normalizer.to_record(
            observation.fields,
            SourceRef.model_construct(file=observation.source, line=observation.line),
        )
        return Finding.model_construct(record=record, diagnosis=observation.diagnosis)
