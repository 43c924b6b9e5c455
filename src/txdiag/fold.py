"""The summary's fast path: fold many records at once, with exactly the result of one by one.

``summary`` needs, per record, only what decides its diagnosis (channel, status, codes, message,
HTTP status), and its time for the timeline. Real traffic repeats the same few hundred
combinations of deciding values, so the fold counts distinct combinations (the record's *key*)
and diagnoses each one once, instead of building an :class:`~txdiag.pipeline.Observation` per
record.

For JSON Lines, msgspec decodes each line of a 64 KiB chunk into a struct declaring every name
met so far (:class:`_JsonSchema`), and the deciding fields form the key, counted with
``Counter`` (all in C). What the per-record path decides line by line holds for a chunk that
passes, and a chunk that does not goes line by line through
:meth:`~txdiag.pipeline.Pipeline.event_of`, the plain path:

- **one object per line**: each line is decoded on its own, as ``json.loads`` would;
- **nothing unseen**: the struct forbids undeclared names, so a new name (a case variant of a
  field name too, or one spelt with escapes) fails the chunk; it is learnt and the chunk read
  again. Every value is decoded, so invalid UTF-8 anywhere fails the chunk as it fails
  ``json.loads``; so does anything msgspec and ``json.loads`` might read differently (NaN,
  huge numbers, lone surrogates, deep nesting);
- **types**: deciding fields accept strings, integers and null (an object where nested paths
  are declared); a float or a boolean there fails the chunk (``1``, ``1.0`` and ``true`` are
  equal keys in Python but not equal to the normalizer), as do objects and arrays elsewhere;
- **order**: two names for the same field at the same rank (``status`` and ``Status``) would
  need the record's key order, which a struct does not keep: the input then goes line by line;
- **what a key cannot tell**: a record whose key has no usable field (its transaction id may
  make it a record, or it is unreadable and needs its line number) is *dependent* and is
  observed on its own; a failure no rule before latency decides gets its own key when its
  latency reaches a latency rule;
- **time**: a chunk's timestamps are parsed by ``datetime.fromisoformat`` in one C-level pass;
  when the earliest and the latest fall in the same timeline bucket (and inside ``--since`` /
  ``--until``), so do all the others. Otherwise each record gets its own bucket.

CSV and TSV without quotes are split with ``str.split`` and keyed by their deciding columns;
every other input (and every chunk that fails a check) takes the per-record path, whose
observations enter the same ordered fold, so ties in the output are broken the same way.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, tzinfo
from functools import cache, partial
from itertools import compress, repeat
from operator import attrgetter, is_not, itemgetter, methodcaller, mul, truediv
from typing import TYPE_CHECKING, Any, Protocol

from txdiag.aggregate import NO_CHANNEL, NO_CODE, Summary, Target, Verdict, target_of, unknown_of
from txdiag.classify import Candidate, message_key
from txdiag.fields import DECIDING_FIELDS, FIELDS
from txdiag.formats import ItemBatch, read_json_document
from txdiag.normalize import (
    Extracted,
    Normalizer,
    minor_to_major,
    number_value,
    text_value,
    walk,
)
from txdiag.pipeline import Event, Observation, Pipeline, RunLedger, is_url
from txdiag.readers import (
    BOM,
    DelimitedRows,
    InputFormat,
    KeyGuard,
    RawItem,
    ReadStats,
    Unreadable,
    UnreadableCause,
    chunk_lines,
    decode_deeper,
    decode_lines,
    is_header_again,
    is_utf8,
    jsonl_chunk_lines,
    note_truncation,
)
from txdiag.sources import OpenedInput, iter_chunks
from txdiag.timeparse import in_range, parse_timestamp

if TYPE_CHECKING:
    from txdiag.models import Diagnosis
    from txdiag.timeline import Timeline

KEY_FIELDS = DECIDING_FIELDS
"""The fields that decide a record's diagnosis: what a key holds."""
DETAIL_FIELDS = frozenset({"txn_id", "latency_ms", "timestamp"})
"""Fields read per record but kept out of the key (nearly every record has its own value)."""

MAX_PENDING = 4096
"""Distinct keys counted before they are added to the summary (bounds memory)."""
MAX_KNOWN = 4096
"""Distinct keys whose outcome is remembered (bounds memory; a forgotten one is recomputed).
Traffic repeats a few hundred keys; the rest (a message with an order number in it) are seen
once, so a small bound costs little, and keeps memory flat whatever the size of the input."""
OPEN_BUCKETS = 4
"""Timeline buckets counted into at once (logs are nearly in time order)."""

_DEPENDENT: Any = ("dependent",)
"""The outcome of a key that does not decide alone: its records are observed one by one."""
_GONE: Any = ("gone",)
"""A dependent record that left the chunk (unreadable, or outside ``--since/--until``)."""


DIRECT_FIELDS: dict[str, Callable[[Any], Any] | None] = {
    spec.name: {"text": text_value, "number": number_value}.get(spec.kind)
    for spec in FIELDS if not spec.decides or spec.per_record}
"""Fields a watch may ask for that a JSON Lines chunk can hand over without normalizing the
record: each found under one name, and kept by :meth:`Normalizer.extract` as found (None) or
as text (an amount in fen: in yuan)."""


class Watch(Protocol):
    """Records a caller wants one by one while the fold counts them (``txdiag report``: the
    failures whose outcome is unknown, or those of an incident window).

    :meth:`wants` is asked once per distinct outcome (not per record); the fields of every
    record whose outcome it wants, inside ``--since/--until``, go to :meth:`record`. When
    all of :attr:`fields` are among :data:`DIRECT_FIELDS`, only they may be filled in (the
    rest of :class:`Extracted` left empty): a JSON Lines chunk then hands them over without
    normalizing each record.
    """

    fields: frozenset[str]
    """The fields of :class:`Extracted` that :meth:`record` reads."""

    def wants(self, target: Target) -> bool: ...

    def record(self, fields: Extracted, target: Target) -> None: ...


class Rows(Protocol):
    """Failures a caller writes one by one, in input order, while the fold counts every
    record (``txdiag diagnose``: :class:`~txdiag.render.writers.FindingFeed`).

    :meth:`wants` is asked once per distinct outcome. A record observed on its own goes to
    :meth:`observation` (which decides whether it is wanted); a record of a JSON Lines chunk
    whose outcome is wanted, inside ``--since/--until``, goes to :meth:`parts`: the fields
    that decided its outcome (the same object for every record with them), its diagnosis,
    and its own fields (:data:`ROW_FIELDS`; the others may be left empty). Once :attr:`full`
    is true nothing more is handed over.
    """

    full: bool

    def wants(self, target: Target) -> bool: ...

    def observation(self, observation: Observation) -> None: ...

    def parts(self, outcome: Extracted, diagnosis: Diagnosis, fields: Extracted, source: str,
              line: int) -> None: ...


class Tally(Protocol):
    """Every record's time and verdict, in input order, in batches (``txdiag check``:
    :class:`~txdiag.gate.Gate`). Records outside ``--since/--until`` are left out."""

    def add_verdicts(self, moments: Sequence[datetime | None],
                     verdicts: Sequence[Verdict | None]) -> None: ...


_ATTRIBUTES = {"error_message": "message"}
"""Fields whose :class:`Extracted` attribute has another name."""

ROW_FIELDS = frozenset(spec.name for spec in FIELDS if not spec.decides)
"""The fields of its own a record hands to :meth:`Rows.parts`."""
SHARED_ROW_FIELDS = ROW_FIELDS | {spec.name for spec in FIELDS if spec.per_record}
"""What a record hands over when its outcome is shared by records with other messages (the
outcome then holds none): its message too."""


class _Observed(tuple[Any, ...]):
    """A target that came from an observation: a key of its own in the ordered fold.

    It starts with a marker no decoded value can be, so it never equals a key made of a
    record's values (a tuple of four fields could otherwise look like a target).
    """

    __slots__ = ()

    @classmethod
    def of(cls, target: Target) -> _Observed:
        return cls((_OBSERVED, *target))

    @property
    def target(self) -> Target:
        return self[1], self[2], self[3], self[4]


_OBSERVED = object()


class _Banded(tuple[Hashable, int]):
    """A latency-sensitive key with the latency band of a record that reaches a rule."""

    __slots__ = ()


class SummaryFold:
    """Folds the inputs of a run into a :class:`Summary` (and a :class:`Timeline`).

    Events enter in input order and the summary sees distinct keys in order of first
    appearance, so what comes out is exactly what :meth:`Summary.add` per event gives.
    """

    def __init__(
        self,
        pipeline: Pipeline,
        summary: Summary,
        timeline: Timeline | None = None,
        *,
        on_unreadable: Callable[[Unreadable], None] | None = None,
        on_input: Callable[[ReadStats], None] | None = None,
        on_progress: Callable[[int], None] | None = None,
        fast: bool = True,
        jobs: int = 1,
        watch: Watch | None = None,
        rows: Rows | None = None,
        tally: Tally | None = None,
        ledger: RunLedger | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.ledger = RunLedger() if ledger is None else ledger
        """What the run read: its inputs, what the time window left out, the file being
        read."""
        self.summary = summary
        self.timeline = timeline
        self.on_unreadable = on_unreadable
        self.on_input = on_input
        self.on_progress = on_progress
        self.fast = fast
        self.jobs = 1 if watch is not None or rows is not None or tally is not None else jobs
        """Processes for a big JSON Lines file (see :mod:`txdiag.jobs`); one with a watch,
        rows or a tally, whose records must reach them in input order."""
        self.watch = watch
        self.rows = rows
        self.tally = tally
        self._row_outcomes: dict[Hashable, tuple[Extracted, Diagnosis] | None] = {}
        """Per known key, what :meth:`Rows.parts` is given for its records (None: not
        wanted)."""
        self.zone: tzinfo = pipeline.normalizer.assume_tz
        self.pending: Counter[Hashable] = Counter()
        self.known: dict[Hashable, Target] = {}
        self.dependent: set[Hashable] = set()
        self.latency_sensitive: set[Hashable] = set()
        """Keys whose failure no rule before latency decides: their outcome is the one for a
        latency below every latency rule; a record at or above one gets a banded key."""
        thresholds = pipeline.classifier.latency_thresholds
        self._lowest_latency = thresholds[0] if thresholds else math.inf
        self.watched: set[Hashable] = set()
        """Known keys whose outcome the watch wants."""
        self._buckets: dict[int, Counter[Hashable]] = {}
        """Keys counted per timeline bucket not yet added to the timeline, by the bucket's
        start (seconds since the epoch): a start stays inside its bucket at any later width."""
        self._keyspace: object | None = None
        """What made the keys known now (a JSON struct, a CSV header): a key is a tuple of
        values whose names it gives, so keys made by another mean other things."""
        self._message_free: dict[Hashable, Target | None] = {}
        """Per key with its message left out, the outcome of every record with that key
        whatever its message says (None: the message may matter): see :meth:`_share`."""

    # -- driving -----------------------------------------------------------------------------

    def run(self, names: Iterable[str]) -> None:
        """Fold every input; what was folded is in the summary even when this raises."""
        try:
            for name in names:
                self.read(name)
        finally:
            self.flush()

    def read(self, name: str) -> None:
        pipeline = self.pipeline
        if is_url(name) or not self.fast:
            self._events(pipeline.run_one(name, self.ledger))
            return
        opened, stats, items = pipeline.open(name, self.ledger)
        try:
            self.ledger.inputs.append(stats)
            if self.on_input is not None:
                self.on_input(stats)
            fmt = stats.format
            if splittable(pipeline, stats):
                ranges = None
                if self.jobs > 1:
                    from txdiag.jobs import plan

                    ranges = plan(opened, name, self.jobs)
                if ranges is not None:
                    from txdiag.jobs import fold_split

                    fold_split(self, name, stats, ranges)
                else:
                    self.fold_jsonl(opened, stats)
            elif fmt in (InputFormat.CSV, InputFormat.TSV) and _plain_field_map(pipeline):
                self._read_delimited(opened, stats, stats.delimiter)
            elif fmt in (InputFormat.LOGFMT, InputFormat.TEXT) and _plain_field_map(pipeline):
                # Records of strings: keyed per record, from their deciding values.
                _TextFold(self, stats.name).run(items)
            elif self.rows is not None or self.tally is not None:
                # JSON documents hand rows and verdicts over record by record (their records'
                # lines are the reader's to tell).
                self._items(items, stats.name)
            elif fmt == InputFormat.JSON and _JsonSchema.usable(pipeline, stats):
                self._read_json_document(opened, stats)
            else:
                self._items(items, stats.name)
            note_truncation(opened, stats)
        finally:
            opened.close()

    def _events(self, events: Iterator[Event]) -> None:
        ledger = self.ledger
        inputs = len(ledger.inputs)
        for event in events:
            if self.on_input is not None and len(ledger.inputs) > inputs:
                inputs = len(ledger.inputs)
                self.on_input(ledger.inputs[-1])
            self.add_event(event)
            if self.on_progress is not None:
                self.on_progress(1)

    def _items(self, items: Iterable[RawItem], source: str) -> None:
        event_of = partial(self.pipeline.event_of, ledger=self.ledger)
        progress = self.on_progress
        for item in items:
            event = event_of(item, source)
            if event is not None:
                self.add_event(event)
            if progress is not None:
                progress(1)

    # -- folding -----------------------------------------------------------------------------

    def add_event(self, event: Event) -> None:
        if isinstance(event, Unreadable):
            self.summary.add_unreadable(event)
            if self.on_unreadable is not None:
                self.on_unreadable(event)
            return
        target = target_of(event)
        self.pending[_Observed.of(target)] += 1
        if self.watch is not None and self.watch.wants(target):
            self.watch.record(event.fields, target)
        if self.rows is not None and not self.rows.full:
            self.rows.observation(event)
        if self.tally is not None:
            self.tally.add_verdicts([parse_timestamp(event.fields.timestamp, self.zone)],
                                    [target[1]])
        if self.timeline is not None:
            self.timeline.add_observation(event, self.zone)
        if len(self.pending) > MAX_PENDING:
            self.flush_pending()

    def outcome(self, key: Hashable) -> Target:
        if isinstance(key, _Observed):
            return key.target
        return self.known[key]

    def flush(self) -> None:
        """Everything counted so far into the summary and the timeline."""
        self.flush_bucket()
        self.flush_pending()

    def flush_pending(self) -> None:
        add = self.summary.add_outcome
        outcome = self.outcome
        for key, count in self.pending.items():
            channel, verdict, code, unknown = outcome(key)
            add(channel, verdict, code, count, unknown)
        self.pending.clear()

    def flush_bucket(self, keep: int = 0) -> None:
        """Add the counted buckets to the timeline, all but the ``keep`` latest."""
        buckets = self._buckets
        while len(buckets) > keep:
            start = next(iter(buckets))
            self._add_bucket(start, buckets.pop(start))

    def _add_bucket(self, start: int | None, counts: Counter[Hashable]) -> None:
        timeline = self.timeline
        if timeline is None:
            return
        outcome = self.outcome
        verdicts: Counter[tuple[Verdict | None, str]] = Counter()
        for key, count in counts.items():
            if not isinstance(key, _Observed):  # observed records were added one by one
                target = outcome(key)
                verdicts[(target[1], target[0])] += count
        moment = None if start is None else _from_epoch_seconds(start)
        add = timeline.add
        for (verdict, channel), count in verdicts.items():
            if verdict is None:
                add(moment, count=count)
            else:
                add(moment, verdict[0], verdict[1], count=count, channel=channel)

    def _in_bucket(self, start: int, counts: Mapping[Hashable, int]) -> None:
        bucket = self._buckets.get(start)
        if bucket is None:
            self.flush_bucket(keep=OPEN_BUCKETS - 1)
            bucket = self._buckets[start] = Counter()
        bucket.update(counts)

    def _fold(self, local: Counter[Hashable]) -> None:
        self.pending.update(local)
        if len(self.pending) > MAX_PENDING:
            self.flush_pending()

    def _begin(self, keyspace: object) -> None:
        """Before a batch keyed by ``keyspace`` (what gives its keys' values their names: a
        JSON struct, a CSV header): forget the outcomes of keys once there are many, or when
        they were made in another keyspace (after counting what used them)."""
        if len(self.known) >= MAX_KNOWN or keyspace is not self._keyspace:
            self.flush()
            self.known.clear()
            self.dependent.clear()
            self.latency_sensitive.clear()
            self.watched.clear()
            self._row_outcomes.clear()
            if keyspace is not self._keyspace:
                self._message_free.clear()
            self._keyspace = keyspace

    def _share(self, keys: list[Hashable], coarse_of: Callable[[Any], Hashable],
               mapping: Callable[[Hashable], Mapping[str, Any]],
               bare: Callable[[Hashable], Hashable] | None = None) -> list[Hashable]:
        """The keys of a batch with their message left out (``coarse_of``) where the message
        cannot change the outcome.

        A message holding an order number or a trace id makes nearly every key new, yet most
        failures are decided by a code or a status ranked above any message rule, and a
        success by its status or codes. Such records share the key without their message
        (its outcome worked out once, from ``mapping`` of it); only the others keep their
        whole key. A key without its message is shorter than a whole key: they never meet.
        Messages inside objects stay in the key (taking them out costs what a key costs),
        but not in what is remembered (``bare``)."""
        coarse: list[Hashable] = list(map(coarse_of, keys))
        memo = self._message_free
        known = self.known
        matters: set[Hashable] = set()
        for key in set(coarse):
            if key in known:
                continue
            if key in memo:
                target = memo[key]
            else:
                without = key if bare is None else bare(key)
                if without in memo:
                    target = memo[without]
                else:
                    target = self._outcome_without_message(mapping(without))
                if len(memo) >= MAX_KNOWN:
                    memo.clear()
                memo[key] = memo[without] = target
            if target is None:
                matters.add(key)
            else:
                self._know(key, target)
        if not matters:
            return coarse
        return [whole if key in matters else key for key, whole in zip(coarse, keys, strict=True)]

    def _outcome_without_message(self, data: Mapping[str, Any]) -> Target | None:
        """The target of every record with these deciding fields and any message, or None
        when a message may decide whether it failed or why (or the record is dependent)."""
        derived = self.pipeline.normalizer.derive(data)
        if derived is None:
            return None
        channel_id, codes, status, _, _, failed, for_rules = derived
        if status is None and not codes:
            return None  # the message may say whether it failed
        channel = channel_id or NO_CHANNEL
        code = codes[0][1] if codes else NO_CODE
        if not failed:
            return (channel, None, code, None)
        decided = self.pipeline.classifier.decided_before_message(
            channel=channel_id, codes=codes, status=for_rules)
        if decided is None:
            return None
        return (channel, self._verdict(decided), code, None)

    def _verdict(self, decided: Candidate | None) -> Verdict:
        """The verdict of a failure the candidate decides (None: no rule explains it)."""
        if decided is None:
            reason = self.pipeline.classifier.no_match_reason
            return ("unknown", reason.id, reason.retryable.value)
        rule = decided.rule
        return (rule.category.value, rule.reason, rule.retryable.value)

    def _remember(self, key: Hashable, data: Mapping[str, Any]) -> None:
        target, sensitive = self._outcome_of(data)
        if sensitive and "latency_ms" in self.pipeline.normalizer.constants:
            target = _DEPENDENT  # a constant latency: observe each record
        self._know(key, target)
        if target is _DEPENDENT:
            self.dependent.add(key)
        elif sensitive:
            self.latency_sensitive.add(key)

    def _know(self, key: Hashable, target: Target) -> None:
        self.known[key] = target
        if self.watch is not None and target is not _DEPENDENT and self.watch.wants(target):
            self.watched.add(key)

    def _outcome_of(self, data: Mapping[str, Any],
                    latency_ms: float | None = None) -> tuple[Target, bool]:
        """The target of every record with these deciding fields (or :data:`_DEPENDENT`),
        and whether a latency at or above a latency rule's would change it."""
        derived = self.pipeline.normalizer.derive(data)
        if derived is None:
            return _DEPENDENT, False  # a transaction id may still make it a record
        channel_id, codes, _, message, http_status, failed, for_rules = derived
        channel = channel_id or NO_CHANNEL
        code = codes[0][1] if codes else NO_CODE
        if not failed:
            return (channel, None, code, None), False
        classifier = self.pipeline.classifier
        decided = classifier.decide(channel=channel_id, codes=codes, message=message,
                                    http_status=http_status, latency_ms=latency_ms,
                                    status=for_rules)
        sensitive = latency_ms is None and classifier.latency_can_matter(decided)
        verdict = self._verdict(decided)
        # A failure no rule explains: its message template, once per key (not per record).
        unknown = unknown_of(verdict, message) if self.summary.mine_templates else None
        return (channel, verdict, code, unknown), sensitive

    def _band_latencies(self, keys: list[Hashable], records: Sequence[Any],
                        latency_of: Callable[[Any], Any],
                        data: Callable[[Hashable], Mapping[str, Any]]) -> bool:
        """Give the records of latency-sensitive keys whose latency reaches a latency rule a
        key of their own (the key and the latency band). True when ``keys`` changed."""
        sensitive = self.latency_sensitive
        chosen = list(map(latency_of, compress(records, map(sensitive.__contains__, keys))))
        lowest = self._lowest_latency
        if all((number := number_value(value)) is None or number < lowest for value in chosen):
            return False
        thresholds = self.pipeline.classifier.latency_thresholds
        changed = False
        for index, key in enumerate(keys):
            if key not in sensitive:
                continue
            number = number_value(latency_of(records[index]))
            if number is None or number < lowest:
                continue
            banded = _Banded((key, bisect_right(thresholds, number)))
            if banded not in self.known:
                self._know(banded, self._outcome_of(data(key), number)[0])
            keys[index] = banded
            changed = True
        return changed

    def _picked(self, keys: Sequence[Hashable],
                local: Mapping[Hashable, int]) -> tuple[list[int], list[Hashable]] | None:
        """Which records of a batch the watch wants (their index in the batch, and key),
        before observing dependent records changes ``keys``; given to it by :meth:`_deliver`
        once the batch is folded (records observed one by one reach it when observed)."""
        if self.watch is None or not self.watched:
            return None
        wanted = self.watched.intersection(local)
        if not wanted:
            return None
        mask = list(map(wanted.__contains__, keys))
        return list(compress(range(len(keys)), mask)), list(compress(keys, mask))

    def _deliver(self, picked: tuple[list[int], list[Hashable]] | None,
                 record_of: Callable[[int], Mapping[str, Any]],
                 fields_of: Callable[[int], Extracted | None] | None = None) -> None:
        """The fields of the picked records to the watch (inside ``--since/--until``):
        ``fields_of`` a record's fields the watch asked for, else the whole record
        normalized."""
        if picked is None or self.watch is None:
            return
        record = self.watch.record
        window = self.pipeline.window
        if fields_of is None:
            extract = self.pipeline.normalizer.extract
            fields_of = lambda index: extract(record_of(index))  # noqa: E731
        indices, keys = picked
        for index, target in zip(indices, map(self.known.__getitem__, keys), strict=True):
            fields = fields_of(index)
            if fields is None or (window and not window.contains(
                    parse_timestamp(fields.timestamp, self.zone))):
                continue
            record(fields, target)

    def _direct_fields(self) -> frozenset[str] | None:
        """The fields a chunk may hand the watch directly (its own and, with
        ``--since/--until``, the time), or None when they are not all direct."""
        assert self.watch is not None
        fields = self.watch.fields | ({"timestamp"} if self.pipeline.window else set())
        return frozenset(fields) if fields <= DIRECT_FIELDS.keys() else None

    def _write_rows(self, rows: Rows, keys: Sequence[Hashable],
                    observed: Mapping[int, Observation],
                    mapping: Callable[[Hashable], Mapping[str, Any]],
                    fields_of: Callable[[int], Extracted | None], first_line: int,
                    source: str, lines: Sequence[int] | None = None) -> None:
        """Hand a chunk's wanted failures to ``rows`` in input order: ``keys`` are the
        records' keys before dependent ones were observed (``observed``, by index); a
        record's line is ``first_line`` on, or ``lines[index]``."""
        outcomes = self._row_outcomes
        wanted = set()
        for key in set(keys):
            if key in outcomes:
                if outcomes[key] is not None:
                    wanted.add(key)
            elif self._row_outcome(key, rows, mapping) is not None:
                wanted.add(key)
        indices: Iterable[int] = compress(range(len(keys)), map(wanted.__contains__, keys))
        if observed:
            indices = sorted([*indices, *observed])
        window = self.pipeline.window
        zone = self.zone
        for index in indices:
            event = observed.get(index)
            if event is not None:
                rows.observation(event)
            else:
                fields = fields_of(index)
                if fields is None or (window and not window.contains(
                        parse_timestamp(fields.timestamp, zone))):
                    continue
                outcome, diagnosis = outcomes[keys[index]]  # type: ignore[misc]
                rows.parts(outcome, diagnosis, fields, source,
                           first_line + index if lines is None else lines[index])
            if rows.full:
                return

    def _tally(self, tally: Tally, keys: Sequence[Hashable], observed: Mapping[int, Observation],
               stamps: Sequence[Any] | None) -> None:
        """Give ``tally`` a chunk's records in input order: ``keys`` (and ``stamps``) as
        before dependent records were observed (``observed``, by index; the others of them
        are left out, as :meth:`_observe_dependent` leaves them)."""
        zone = self.zone
        known = self.known
        dependent = self.dependent
        moments: list[datetime | None]
        verdicts: list[Verdict | None]
        if not observed and dependent.isdisjoint(keys):
            indices: Sequence[int] = range(len(keys))
            moments = _moments(stamps, zone) if stamps is not None else [None] * len(keys)
            verdicts = [known[key][1] for key in keys]
        else:
            indices = [index for index, key in enumerate(keys)
                       if key not in dependent or index in observed]
            fast = [index for index in indices if index not in observed]
            moment_of = dict(zip(fast, _moments([stamps[index] for index in fast], zone)
                                 if stamps is not None else [None] * len(fast), strict=True))
            moments, verdicts = [], []
            for index in indices:
                event = observed.get(index)
                if event is not None:
                    moments.append(parse_timestamp(event.fields.timestamp, zone))
                    verdicts.append(target_of(event)[1])
                else:
                    moments.append(moment_of[index])
                    verdicts.append(known[keys[index]][1])
        window = self.pipeline.window
        if window:
            kept = [index in observed or window.contains(moment)
                    for index, moment in zip(indices, moments, strict=True)]
            moments = list(compress(moments, kept))
            verdicts = list(compress(verdicts, kept))
        tally.add_verdicts(moments, verdicts)

    def _row_outcome(self, key: Hashable, rows: Rows,
                     mapping: Callable[[Hashable], Mapping[str, Any]]
                     ) -> tuple[Extracted, Diagnosis] | None:
        """What the records of a known key give :meth:`Rows.parts` (None: not wanted): the
        deciding fields as the record's would be, and the diagnosis of the key's latency
        band."""
        target = self.known.get(key)
        found: tuple[Extracted, Diagnosis] | None = None
        if target is not None and target is not _DEPENDENT and rows.wants(target):
            base, latency = key, None
            if isinstance(key, _Banded):
                base = key[0]
                latency = self.pipeline.classifier.latency_thresholds[key[1] - 1]
            fields = self.pipeline.normalizer.extract(mapping(base))
            if fields is not None and fields.failed:
                fields.latency_ms = latency
                found = fields, self._diagnosis(fields)
        self._row_outcomes[key] = found
        return found

    def _diagnosis(self, fields: Extracted) -> Diagnosis:
        """:meth:`Pipeline.diagnose_fields`, remembered per message template: when a rule
        decides, the classifier sees a message only through :func:`message_key` (an order
        number in it does not make it new), so the diagnosis is that of the keyed message.
        (A failure no rule explains shows its message itself: it is diagnosed as it is.)"""
        message = fields.message
        classifier = self.pipeline.classifier
        if message and classifier.decide(
                channel=fields.channel, codes=fields.codes, message=message,
                http_status=fields.http_status, latency_ms=fields.latency_ms,
                status=fields.status_for_rules) is not None:
            return self.pipeline.diagnose_fields(fields, message=message_key(message))
        return self.pipeline.diagnose_fields(fields)

    # -- time --------------------------------------------------------------------------------

    def _place(self, keys: list[Hashable], stamps: list[Any] | None,
               local: Counter[Hashable]) -> Counter[Hashable]:
        """Apply ``--since/--until`` and the timeline to a chunk's records (``local`` counts
        ``keys``); what stays, counted. Observed records (``_Observed`` keys) are already
        placed and only pass through."""
        window = self.pipeline.window
        timeline = self.timeline
        if timeline is None and not window:
            return local
        span = _span(stamps, self.zone) if stamps is not None else None
        if span is not None and window and not (
                window.contains(span[0]) and window.contains(span[1])):
            if (window.since is not None and span[1] < window.since) or (
                    window.until is not None and span[0] >= window.until):
                kept: Counter[Hashable] = Counter(
                    {key: count for key, count in local.items() if isinstance(key, _Observed)})
                self.ledger.filtered_out += len(keys) - sum(kept.values())
                return kept
            span = None
        if span is not None:
            if timeline is not None:
                width = timeline.width
                bucket = math.floor(span[0].timestamp() / width)
                if bucket == math.floor(span[1].timestamp() / width):
                    self._in_bucket(bucket * width, local)
                else:
                    self._place_each(keys, span[2])
            return local
        # One by one, exactly as the per-record path: every value through parse_timestamp.
        zone = self.zone
        moments = ([parse_timestamp(stamp, zone) for stamp in stamps] if stamps is not None
                   else [None] * len(keys))
        if window:
            kept_keys: list[Hashable] = []
            kept_moments: list[datetime | None] = []
            for key, moment in zip(keys, moments, strict=True):
                if isinstance(key, _Observed) or window.contains(moment):
                    kept_keys.append(key)
                    kept_moments.append(moment)
                else:
                    self.ledger.filtered_out += 1
            if len(kept_keys) != len(keys):
                local = Counter(kept_keys)
            keys, moments = kept_keys, kept_moments
        if timeline is not None:
            self._place_each(keys, moments)
        return local

    def _place_each(self, keys: Sequence[Hashable], moments: Sequence[datetime | None]) -> None:
        """Records whose times may fall in different buckets: counted per bucket (at the
        timeline's present width) and key."""
        timeline = self.timeline
        assert timeline is not None
        width = timeline.width
        floor = math.floor
        starts: list[int | None]
        if None in moments:
            starts = [None if moment is None else floor(moment.timestamp() / width) * width
                      for moment in moments]
        else:  # the same arithmetic as Timeline.add, in C-level passes
            seconds = map(datetime.timestamp, moments)  # type: ignore[arg-type]
            starts = list(map(mul, map(floor, map(truediv, seconds, repeat(width))),
                              repeat(width)))
        split: dict[int | None, Counter[Hashable]] = {}
        for (start, key), count in Counter(zip(starts, keys, strict=True)).items():
            counts = split.get(start)
            if counts is None:
                counts = split[start] = Counter()
            counts[key] = count
        for start, counts in split.items():
            if start is None:
                self._add_bucket(None, counts)
            else:
                self._in_bucket(start, counts)

    # -- JSON Lines --------------------------------------------------------------------------

    def fold_jsonl(self, opened: OpenedInput, stats: ReadStats, *, first: bool = True) -> None:
        """A JSON Lines input (``first``: it starts at the beginning of the file, where a BOM
        may stand)."""
        schema = _JsonSchema(self.pipeline.normalizer, self.pipeline.key_guard)
        max_line_bytes = self.pipeline.read_options.max_line_bytes
        name = opened.name
        for chunk in iter_chunks(opened, stats.lines, max_line_bytes=max_line_bytes):
            if chunk.skipped:
                self._items([Unreadable(name, chunk.first, UnreadableCause.LINE_TOO_LONG,
                                        f"longer than {max_line_bytes} bytes")], name)
                continue
            data = chunk.data
            if len(data) <= max_line_bytes and schema.enabled:
                body = data[3:] if first and data.startswith(BOM) else data
                if self._jsonl_chunk(schema, body, chunk.first, chunk.count, name):
                    first = False
                    continue
            first = self._jsonl_lines(data, chunk.first, stats, max_line_bytes, first)

    def _jsonl_chunk(self, schema: _JsonSchema, data: bytes, first_line: int, count: int,
                     source: str, lines: Callable[[], Sequence[int]] | None = None) -> bool:
        """Fold one chunk at once; False (nothing folded) when it must go line by line.
        ``lines`` gives the line of each record when they are not ``first_line`` on."""
        structs = schema.decode(data, count)
        if structs is None:
            return False
        self._begin(schema.layout)
        whole: list[Hashable] = schema.keys(structs)
        keys = whole
        # A row shows its message: rows share keys when each record's message can be picked
        # from it directly.
        own = None if self.rows is None else schema.direct(
            SHARED_ROW_FIELDS if schema.message_indexes else ROW_FIELDS)
        if schema.message_indexes and (self.rows is None or own is not None):
            keys = self._share(whole, schema.coarse_of, schema.mapping, schema.bare)
        local = Counter(keys)
        if schema.suspect(data, local):
            return False  # the per-line path decides which line gives a key twice
        known = self.known
        mapping: Callable[[Hashable], Mapping[str, Any]] = schema.mapping
        if self.rows is not None:
            mapping = cache(mapping)  # (a new key's fields serve its row too)
        for key in [key for key in local if key not in known]:
            self._remember(key, mapping(key))
        stamp_of = schema.stamp_of
        stamps = list(map(stamp_of, structs)) if stamp_of is not None and (
            self.timeline is not None or self.pipeline.window or self.tally is not None
        ) else None
        # Banding first: it keeps ``keys`` aligned with the structs, observing does not.
        if self.latency_sensitive and not self.latency_sensitive.isdisjoint(local) and (
                self._band_latencies(keys, structs, schema.latency_of, schema.mapping)):
            local = Counter(keys)
        direct = None if self.watch is None else schema.direct(self._direct_fields())
        if self.rows is not None and own is None:
            own = schema.direct(ROW_FIELDS)
        extract = self.pipeline.normalizer.extract
        if not self._settle(
                keys, local, stamps, source, first_line, lines=lines, mapping=mapping,
                record_of=lambda index: schema.record(structs[index]),
                observed_record_of=lambda index: schema.full_mapping(structs[index]),
                watched_fields_of=None if direct is None else (
                    lambda index: direct(structs[index])),
                row_fields_of=(lambda index: extract(schema.record(structs[index])))
                if own is None else (lambda index: own(structs[index]))):
            return False
        if self.on_progress is not None:
            self.on_progress(count)
        return True

    def _settle(self, keys: list[Hashable], local: Counter[Hashable],
                stamps: list[Any] | None, source: str, first_line: int, *,
                mapping: Callable[[Hashable], Mapping[str, Any]],
                record_of: Callable[[int], Mapping[str, Any]],
                row_fields_of: Callable[[int], Extracted | None],
                observed_record_of: Callable[[int], dict[str, Any]] | None = None,
                watched_fields_of: Callable[[int], Extracted | None] | None = None,
                lines: Callable[[], Sequence[int]] | None = None) -> bool:
        """What every batch reader does once its records are keyed (``keys``, counted in
        ``local``) and their keys' outcomes known: observe the records whose key does not
        decide alone, hand the watch its records, fold the counts into the summary and the
        timeline, and give the tally and the rows theirs, in input order. False (nothing
        folded) when the batch must go record by record.

        ``record_of`` gives a record's fields by its index in the batch (``observed_record_of``
        those observing needs, when other); ``watched_fields_of`` and ``row_fields_of`` the
        fields the watch asked for and those of a row; ``lines`` the records' lines when they
        are not ``first_line`` on; ``mapping`` the deciding fields of a key."""
        picked = self._picked(keys, local)
        feed = self.rows if self.rows is not None and not self.rows.full else None
        in_order = list(keys) if feed is not None or self.tally is not None else None
        in_stamps = None if self.tally is None or stamps is None else list(stamps)
        observed: dict[int, Observation] = {}
        if self.dependent and not self.dependent.isdisjoint(local):
            full = observed_record_of or record_of
            records = [(index, dict(full(index))) for index, key in enumerate(keys)
                       if key in self.dependent]
            if not self._observe_dependent(records, keys, stamps, first_line, source,
                                           lines=None if lines is None else lines(),
                                           events=observed):
                return False
            local = Counter(keys)
        self._deliver(picked, record_of, watched_fields_of)
        self._fold(self._place(keys, stamps, local))
        if self.tally is not None and in_order is not None:
            self._tally(self.tally, in_order, observed, in_stamps)
        if feed is not None and in_order is not None:
            self._write_rows(feed, in_order, observed, mapping, row_fields_of, first_line,
                             source, None if lines is None else lines())
        return True

    def _observe_dependent(self, records: list[tuple[int, dict[str, Any]]],
                           keys: list[Hashable], stamps: list[Any] | None, first_line: int,
                           source: str, *, lines: Sequence[int] | None = None,
                           events: dict[int, Observation] | None = None) -> bool:
        """Observe, one by one, the records (index in the chunk, fields) whose key does not
        decide alone, and put their outcome in ``keys`` in their place (and the observations
        in ``events``, by index). False when the chunk must go line by line: under
        ``--strict`` one of them is unreadable, and the records before it must be counted but
        not those after."""
        pipeline = self.pipeline
        if pipeline.read_options.strict and any(
                pipeline.normalizer.extract(record) is None for _, record in records):
            return False
        unreadable: list[Unreadable] = []
        observed = False
        for index, record in records:
            line = lines[index] if lines is not None else first_line + index
            event = pipeline.event_of((line, record), source, self.ledger)
            if isinstance(event, Observation):
                target = target_of(event)
                keys[index] = _Observed.of(target)
                if events is not None:
                    events[index] = event
                if self.watch is not None and self.watch.wants(target):
                    self.watch.record(event.fields, target)
                observed = True
                if self.timeline is not None:
                    self.timeline.add_observation(event, self.zone)
            else:
                keys[index] = _GONE
                if isinstance(event, Unreadable):
                    unreadable.append(event)
        gone = [index for index, key in enumerate(keys) if key is _GONE]
        for index in reversed(gone):
            del keys[index]
            if stamps is not None:
                del stamps[index]
        if stamps is not None and observed:
            # Observed records are placed already; lend them a neighbour's time so that the
            # chunk's span stays that of the others.
            other = next((stamp for key, stamp in zip(keys, stamps, strict=True)
                          if not isinstance(key, _Observed)), None)
            for index, key in enumerate(keys):
                if isinstance(key, _Observed):
                    stamps[index] = other
        for event in unreadable:
            self.add_event(event)
        return True

    def _read_json_document(self, opened: OpenedInput, stats: ReadStats) -> None:
        """A JSON document: the reader cuts its records in batches, each folded as a chunk
        of JSON Lines is; what a batch gives back is read value by value (the plain path)."""
        schema = _JsonSchema(self.pipeline.normalizer, self.pipeline.key_guard)
        name = opened.name

        def take(batch: ItemBatch) -> Iterable[RawItem] | None:
            if schema.enabled and self._jsonl_chunk(schema, batch.data, batch.first_line,
                                                    batch.count, name, batch.lines):
                return ()
            return None

        options = self.pipeline.read_options
        self._items(read_json_document(opened, stats, options.max_line_bytes,
                                       options.records_path, self.pipeline.key_guard,
                                       take=take), name)

    def _jsonl_lines(self, data: bytes, first_line: int, stats: ReadStats, max_line_bytes: int,
                     first: bool) -> bool:
        """A chunk line by line, through ``json.loads`` (the plain path); the BOM flag after."""
        state = [first]
        self._items(jsonl_chunk_lines(data, first_line, stats, max_line_bytes, state,
                                      self.pipeline.key_guard), stats.name)
        return state[0]

    # -- CSV and TSV -------------------------------------------------------------------------

    def _read_delimited(self, opened: OpenedInput, stats: ReadStats, delimiter: str) -> None:
        """CSV/TSV: chunks of plain lines at once once the header is known and no quoted
        field is open; everything else line by line through the plain reader's rows."""
        name = stats.name
        rows = DelimitedRows(name, stats, delimiter, self.pipeline.key_guard)
        fast = _DelimitedFold(self, stats, delimiter)
        max_line_bytes = self.pipeline.read_options.max_line_bytes
        first = True
        for chunk in iter_chunks(opened, stats.lines, max_line_bytes=max_line_bytes):
            if chunk.skipped:
                self._items(rows.push(chunk.first, None, None), name)
                continue
            # (a header giving a deciding column twice: each row is checked by the plain reader)
            if rows.header is not None and rows.open is None and not rows.repeated and (
                    fast.fold(chunk, rows.header)):
                continue
            state = [first]
            self._items(_delimited_items(rows, chunk.data, chunk.first, stats, max_line_bytes,
                                         state), name)
            first = state[0]
        self._items(rows.finish(), name)


def _delimited_items(rows: DelimitedRows, data: bytes, first_line: int, stats: ReadStats,
                     max_line_bytes: int, state: list[bool]) -> Iterator[RawItem]:
    """A CSV/TSV chunk line by line through the plain reader's rows (lazily, for --strict)."""
    for number, raw in chunk_lines(data, first_line, stats, max_line_bytes, state):
        if raw is None:
            yield from rows.push(number, None, None)
            continue
        try:
            text = raw.decode(stats.encoding)
        except UnicodeDecodeError:
            yield from rows.push(number, None, raw)
        else:
            yield from rows.push(number, text, None)


class _DelimitedFold:
    """CSV/TSV chunks with no quote at all: ``str.split`` per line, keyed by deciding columns.

    Such a line is exactly what ``csv.reader`` would make of it (no quote, no CR, no NUL), and
    the header fixes the order of the columns, so a key (the deciding cells in header order)
    rebuilds the record's deciding fields exactly.
    """

    def __init__(self, fold: SummaryFold, stats: ReadStats, delimiter: str) -> None:
        self.owner = fold
        self.stats = stats
        self.delimiter = delimiter
        self._header: list[str] | None = None
        self._key_of: Callable[[list[str]], Hashable] = _no_key
        self._names: tuple[str, ...] = ()
        self._stamp: int | None = None
        self._stamps_by_row = False
        self._latency: int | None = None
        self._messages: list[int] = []
        """Positions of message columns in a key."""
        self._coarse_of: Callable[[Any], Hashable] = _no_key
        self._coarse_names: tuple[str, ...] = ()
        self.layout = object()
        """What the keys of the present header are keyed by."""

    def _prepare(self, header: list[str]) -> None:
        normalizer = self.owner.pipeline.normalizer
        key_columns, stamps, latencies = field_positions(header, normalizer.field_map.top)
        self._header = header
        self.layout = object()
        self._latency = latencies[0] if len(latencies) == 1 and (
            "latency_ms" not in normalizer.constants) else None
        self._names = tuple(header[index] for index in key_columns)
        top = normalizer.field_map.top
        self._messages = [position for position, name in enumerate(self._names)
                          if _field_of(top, name) == "error_message"]
        others = [position for position in range(len(self._names))
                  if position not in self._messages]
        self._coarse_of = _picker(others)
        self._coarse_names = tuple(self._names[position] for position in others)
        self._key_of = _picker(key_columns)
        # One timestamp column: its cell is the time. Several, or a constant: row by row.
        constant = "timestamp" in normalizer.constants
        self._stamp = stamps[0] if len(stamps) == 1 and not constant else None
        self._stamps_by_row = len(stamps) > 1 or constant

    def fold(self, chunk: Any, header: list[str]) -> bool:
        """Fold a chunk at once; False when it needs the plain reader."""
        if header is not self._header:
            self._prepare(header)
        data: bytes = chunk.data
        fold = self.owner
        pipeline = fold.pipeline
        if b'"' in data or b"\x00" in data or len(data) > pipeline.read_options.max_line_bytes:
            return False
        try:
            text = data.decode(self.stats.encoding)
        except UnicodeDecodeError:
            return False
        if text.endswith("\n"):
            text = text[:-1]
        if "\r" in text:
            text = text.replace("\r\n", "\n")
            if text.endswith("\r"):
                text = text[:-1]
            if "\r" in text:
                return False
        lines = text.split("\n")
        if len(lines) != chunk.count or not all(map(str.strip, lines)):
            return False
        rows = list(map(methodcaller("split", self.delimiter), lines))
        if set(map(len, rows)) != {len(header)} or "\ufeff" in text or any(
                is_header_again(row, header) for row in rows):
            return False
        fold._begin(self.layout)
        keys: list[Hashable] = list(map(self._key_of, rows))
        if self._messages:
            keys = fold._share(keys, self._coarse_of, self._mapping)
        local = Counter(keys)
        known = fold.known
        for key in [key for key in local if key not in known]:
            fold._remember(key, self._mapping(key))
        needs_time = fold.timeline is not None or bool(pipeline.window) or (
            fold.tally is not None)
        stamps: list[Any] | None = None
        if needs_time and self._stamps_by_row:
            stamps = [self._stamp_of_row(row) for row in rows]
        elif needs_time and self._stamp is not None:
            stamp = self._stamp
            stamps = [row[stamp] or None for row in rows]
        # Banding first: it keeps ``keys`` aligned with the rows, observing does not.
        if fold.latency_sensitive and not fold.latency_sensitive.isdisjoint(local) and (
                fold._band_latencies(keys, rows, self._latency_of, self._mapping)):
            local = Counter(keys)
        extract = pipeline.normalizer.extract
        if not fold._settle(
                keys, local, stamps, self.stats.name, chunk.first, mapping=self._mapping,
                record_of=lambda index: self._record(rows[index]),
                # (each row's own fields, its message among them: its outcome may be shared)
                row_fields_of=lambda index: extract(self._record(rows[index]))):
            return False
        if fold.on_progress is not None:
            fold.on_progress(chunk.count)
        return True

    def _mapping(self, key: Hashable) -> dict[str, Any]:
        """The deciding cells behind a key (or a key without its messages)."""
        assert isinstance(key, tuple)
        names = self._names if len(key) == len(self._names) else self._coarse_names
        return {name: value for name, value in zip(names, key, strict=True) if value}

    def _latency_of(self, row: list[str]) -> Any:
        if self._latency is not None:
            return row[self._latency] or None
        fields = self.owner.pipeline.normalizer.extract(self._record(row))
        return None if fields is None else fields.latency_ms

    def _record(self, row: list[str]) -> dict[str, str]:
        header = self._header
        assert header is not None
        return {name: value for name, value in zip(header, row, strict=True) if value != ""}

    def _stamp_of_row(self, row: list[str]) -> Any:
        fields = self.owner.pipeline.normalizer.extract(self._record(row))
        return None if fields is None else fields.timestamp


class _TextFold:
    """Records whose values are all strings (logfmt, text templates), folded in batches.

    The reader of the plain path parses the lines (it attaches continuation lines); each
    record's key is its shape's deciding values (the shape keeps their names and order).
    """

    BATCH = 512

    def __init__(self, fold: SummaryFold, source: str) -> None:
        self.owner = fold
        self.source = source
        self._plans: dict[tuple[str, ...], _TextPlan] = {}

    def run(self, items: Iterable[RawItem]) -> None:
        batch: list[tuple[int, dict[str, Any]]] = []
        for item in items:
            if isinstance(item, Unreadable):
                self._fold(batch)
                batch = []
                self.owner._items([item], self.source)
                continue
            batch.append(item)
            if len(batch) >= self.BATCH:
                self._fold(batch)
                batch = []
        self._fold(batch)

    def _plan(self, shape: tuple[str, ...]) -> _TextPlan:
        plan = self._plans.get(shape)
        if plan is None:
            if len(self._plans) >= MAX_KNOWN:
                self._plans.clear()
            plan = self._plans[shape] = _TextPlan(shape, self.owner.pipeline.normalizer)
        return plan

    def _fold(self, batch: list[tuple[int, dict[str, Any]]]) -> None:
        if not batch:
            return
        fold = self.owner
        fold._begin(self)
        plans = [self._plan(tuple(record)) for _, record in batch]
        keys: list[Hashable] = [(plan, plan.values(record))
                                for plan, (_, record) in zip(plans, batch, strict=True)]
        local = Counter(keys)
        known = fold.known
        for key in [key for key in local if key not in known]:
            fold._remember(key, _text_mapping(key))
        needs_time = fold.timeline is not None or bool(fold.pipeline.window) or (
            fold.tally is not None)
        stamps = [plan.stamp(record) for plan, (_, record) in zip(plans, batch, strict=True)
                  ] if needs_time else None
        if fold.latency_sensitive and not fold.latency_sensitive.isdisjoint(local) and (
                fold._band_latencies(keys, list(zip(plans, batch, strict=True)),
                                     _text_latency, _text_mapping)):
            local = Counter(keys)
        extract = fold.pipeline.normalizer.extract
        if not fold._settle(
                keys, local, stamps, self.source, 0, mapping=_text_mapping,
                record_of=lambda index: batch[index][1],
                row_fields_of=lambda index: extract(batch[index][1]),
                lines=lambda: [line for line, _ in batch]):
            fold._items(batch, self.source)
            return
        if fold.on_progress is not None:
            fold.on_progress(len(batch))


def field_positions(names: Sequence[str], top: Mapping[str, tuple[str, int]]
                    ) -> tuple[list[int], list[int], list[int]]:
    """Where the deciding fields, the timestamps and the latencies are among a record's names
    (a CSV header, or the keys of one shape of records), by the field map's names."""
    keys: list[int] = []
    stamps: list[int] = []
    latencies: list[int] = []
    for index, name in enumerate(names):
        slot = top.get(name) or top.get(name.lower())
        if slot is None:
            continue
        if slot[0] in KEY_FIELDS:
            keys.append(index)
        elif slot[0] == "timestamp":
            stamps.append(index)
        elif slot[0] == "latency_ms":
            latencies.append(index)
    return keys, stamps, latencies


class _TextPlan:
    """What the keys of one shape of string records mean to the summary."""

    def __init__(self, shape: tuple[str, ...], normalizer: Normalizer) -> None:
        keys, stamp_positions, latency_positions = field_positions(
            shape, normalizer.field_map.top)
        names = [shape[i] for i in keys]
        stamps = [shape[i] for i in stamp_positions]
        latencies = [shape[i] for i in latency_positions]
        self.names: tuple[str, ...] = tuple(names)
        self._getter: Callable[[dict[str, Any]], Any] = (
            itemgetter(*names) if len(names) > 1 else
            (lambda record: (record[names[0]],)) if names else (lambda record: ()))
        constants = normalizer.constants
        self._normalizer = normalizer
        self._stamp = stamps[0] if len(stamps) == 1 and "timestamp" not in constants else None
        self._latency = (latencies[0] if len(latencies) == 1 and "latency_ms" not in constants
                         else None)
        self._by_record = len(stamps) > 1 or "timestamp" in constants
        self._latency_by_record = len(latencies) > 1 or "latency_ms" in constants

    def values(self, record: dict[str, Any]) -> tuple[Any, ...]:
        values: tuple[Any, ...] = self._getter(record)
        return values

    def stamp(self, record: dict[str, Any]) -> Any:
        if self._stamp is not None:
            return record[self._stamp]
        if not self._by_record:
            return None
        fields = self._normalizer.extract(record)
        return None if fields is None else fields.timestamp

    def latency(self, record: dict[str, Any]) -> Any:
        if self._latency is not None:
            return record[self._latency]
        if not self._latency_by_record:
            return None
        fields = self._normalizer.extract(record)
        return None if fields is None else fields.latency_ms


def _text_latency(pair: tuple[_TextPlan, tuple[int, dict[str, Any]]]) -> Any:
    plan, (_, record) = pair
    return plan.latency(record)


def _text_mapping(key: Hashable) -> dict[str, Any]:
    """The deciding fields behind a key of :class:`_TextFold`, in the record's order."""
    assert isinstance(key, tuple)
    base = key[0]
    if isinstance(base, _TextPlan):
        plan, values = base, key[1]
    else:  # a banded key: (key, band)
        plan, values = base[0], base[1]
    return dict(zip(plan.names, values, strict=True))


def _plain_field_map(pipeline: Pipeline) -> bool:
    return not pipeline.normalizer.field_map.wild


# -- JSON Lines schema ---------------------------------------------------------------------------


class _JsonSchema:
    """The struct msgspec decodes JSON lines into, learnt from the data.

    It declares every top-level name met so far, so that nothing is skipped unseen: the
    deciding fields first (their values are the key), then transaction id, latency and
    timestamp fields (details), then all the others (decoded, so that msgspec checks their
    text is valid UTF-8 as ``json.loads`` would, and otherwise ignored). An object in a field
    with nested paths (``error: {...}``) gets a struct of its own, built the same way. A name
    not declared yet makes msgspec refuse the line; the name is learnt from the error (as
    msgspec decodes it, escapes included) and the chunk read again.
    """

    def __init__(self, normalizer: Normalizer, guard: KeyGuard | None = None) -> None:
        self.normalizer = normalizer
        self.field_map = normalizer.field_map
        self.guard = guard
        """Sends a chunk line by line when a line may give a deciding key twice."""
        self.key_names: list[str] = []
        self.detail_names: list[str] = []
        self.other_names: list[str] = []
        self.nested_extra: dict[tuple[str, ...], list[str]] = {}
        """Names met in nested objects beyond the field map's, by the path of the object."""
        self.enabled = True
        self._build()

    @staticmethod
    def usable(pipeline: Pipeline, stats: ReadStats) -> bool:
        field_map = pipeline.normalizer.field_map
        return (
            is_utf8(stats.encoding)
            and not field_map.wild
            and "timestamp" not in pipeline.normalizer.constants
            and _msgspec() is not None
        )

    def role(self, name: str) -> str:
        """``key``, ``detail`` or ``other`` (a field the summary does not use)."""
        field_map = self.field_map
        nested = field_map.nested_paths(name)
        if any(field in KEY_FIELDS or field in DETAIL_FIELDS for _, field, _ in nested):
            return "key"
        slot = field_map.top.get(name)
        if slot is None:
            slot = field_map.top.get(name.lower())
        if slot is None:
            return "other"
        if slot[0] in KEY_FIELDS:
            return "key"
        return "detail" if slot[0] in DETAIL_FIELDS else "other"

    def learn(self, error: Exception) -> bool:
        """Declare the name an "unknown field" error is about; False if it is not one."""
        found = _UNKNOWN_FIELD.fullmatch(str(error))
        if found is None:
            return False
        name, where = found.group(1), found.group(2)
        if _UNNAMEABLE.search(name) is not None:
            # msgspec cannot rename a field to a name holding \\, " or a control character:
            # such a file is read by the general per-line path instead.
            self.enabled = False
            return False
        if len(self.key_names) + len(self.detail_names) + len(self.other_names) >= MAX_NAMES:
            self.enabled = False  # names made of data (ids as keys): not a log's fixed fields
            return False
        if where is None or where == "$":
            role = self.role(name)
            names = {"key": self.key_names, "detail": self.detail_names}.get(
                role, self.other_names)
            if name in names:
                return False
            names.append(name)
        else:
            path = tuple(where.removeprefix("$.").split("."))
            extra = self.nested_extra.setdefault(path, [])
            if name in extra or not path or path[0] not in self.key_names:
                return False
            extra.append(name)
        self._build()
        return True

    def _build(self) -> None:
        msgspec = _msgspec()
        field_map = self.field_map
        top = field_map.top
        # Two names for the same field at the same rank (``status`` and ``Status``): which one
        # wins depends on their order in the record, which a struct does not keep.
        slots: dict[tuple[str, int], str] = {}
        stamps = 0
        for name in [*self.key_names, *self.detail_names]:
            slot = top.get(name) or top.get(name.lower())
            if slot is None:
                continue
            if slot[0] == "timestamp":
                stamps += 1
            if slot[0] != "error_code" and slots.setdefault(slot, name) != name:
                self.enabled = False
        if stamps > 1:
            self.enabled = False
        fields: list[tuple[str, Any, Any]] = []
        rename: dict[str, str] = {}
        for index, name in enumerate(self.key_names):
            nested = field_map.nested_paths(name)
            kind: Any = _LEAF
            if nested:
                paths = tuple(tuple(path) for path, _, _ in nested)
                kind = str | int | None | self._nested((name,), paths)
            fields.append((f"k{index}", kind, None))
            rename[f"k{index}"] = name
        for index, name in enumerate(self.detail_names):
            fields.append((f"d{index}", Any, None))
            rename[f"d{index}"] = name
        for index, name in enumerate(self.other_names):
            fields.append((f"o{index}", Any, None))
            rename[f"o{index}"] = name
        struct = msgspec.defstruct("Fields", fields, rename=rename, gc=False,
                                   forbid_unknown_fields=True)
        self._decode_one = msgspec.json.Decoder(struct).decode
        self.layout = object()
        """What the keys made by this struct are keyed by (a key of another struct, shorter or
        without its messages, may hold the same values)."""
        self._prefix = itemgetter(slice(0, len(self.key_names)))
        self._nested_names = [name for name in self.key_names if field_map.nested_paths(name)]
        self._verdict_indexes = [(index, name) for index, name in enumerate(self.key_names)
                                 if field_map.decides_verdict(name)]
        self.message_indexes = [
            index for index, name in enumerate(self.key_names)
            if not field_map.nested_paths(name)
            and _field_of(top, name) == "error_message"]
        """Where the keys hold a message (a plain value, not an object)."""
        others = [index for index in range(len(self.key_names))
                  if index not in self.message_indexes]
        self.coarse_of = _picker(others)
        """A key without its messages (see :meth:`SummaryFold._share`)."""
        self._coarse_names = [self.key_names[index] for index in others]
        # (a message never decides a verdict: a key without its messages holds every name
        # that does)
        self._coarse_verdicts = [(others.index(index), name)
                                 for index, name in self._verdict_indexes]
        # Objects (or plain values) that may hold a message, by their position in a key
        # without its messages: the paths to messages inside, and whether the value itself
        # is one when it is not an object.
        self._inner_messages: list[tuple[int, frozenset[tuple[str, ...]], bool]] = []
        for position, index in enumerate(others):
            name = self.key_names[index]
            inside = frozenset(tuple(path) for path, field, _ in field_map.nested_paths(name)
                               if field == "error_message")
            itself = _field_of(top, name) == "error_message"
            if inside or (itself and field_map.nested_paths(name)):
                self._inner_messages.append((position, inside, itself))
        self._parts: dict[Hashable, tuple[tuple[str, bool], ...]] = {}
        """What :meth:`_key_parts` found per key without its messages (for this struct: keys
        change with it)."""
        self._astuple = msgspec.structs.astuple
        self._asdict = msgspec.structs.asdict
        self._all_names = [*self.key_names, *self.detail_names, *self.other_names]
        self._attributes = [*(f"k{i}" for i in range(len(self.key_names))),
                            *(f"d{i}" for i in range(len(self.detail_names))),
                            *(f"o{i}" for i in range(len(self.other_names)))]
        self._direct: dict[frozenset[str], Callable[[Any], Extracted] | None] = {}
        stamp_names = [name for name in self.detail_names
                       if _field_of(top, name) == "timestamp"]
        self.stamp_of: Callable[[Any], Any] | None = (
            attrgetter(f"d{self.detail_names.index(stamp_names[0])}") if stamp_names else None)
        latency_names = sorted(
            (name for name in self.detail_names
             if _field_of(top, name) == "latency_ms"),
            key=lambda name: (top.get(name) or top[name.lower()])[1])
        getters = [attrgetter(f"d{self.detail_names.index(name)}") for name in latency_names]
        self._latency_of: Callable[[Any], Any] | None = None
        if len(getters) == 1:
            self._latency_of = getters[0]
        elif getters:
            self._latency_of = lambda struct_: next(
                (value for get in getters if (value := get(struct_)) is not None
                 and value != "" and not isinstance(value, dict)), None)

    def _nested(self, where: tuple[str, ...], paths: tuple[tuple[str, ...], ...]) -> Any:
        """A frozen struct for an object at ``where`` holding nested fields: the paths' next
        names (leaves, or deeper objects) and the other names met there (scalars: they are
        part of the key, and cannot matter)."""
        msgspec = _msgspec()
        heads: dict[str, list[tuple[str, ...]]] = {}
        for path in paths:
            heads.setdefault(path[0], []).append(path[1:])
        fields: list[tuple[str, Any, Any]] = []
        rename: dict[str, str] = {}
        for index, (head, rests) in enumerate(heads.items()):
            deeper = tuple(rest for rest in rests if rest)
            kind: Any = _LEAF
            if deeper:
                kind = str | int | None | self._nested((*where, head), deeper)
            fields.append((f"n{index}", kind, None))
            rename[f"n{index}"] = head
        for index, name in enumerate(self.nested_extra.get(where, ())):
            if name not in heads:
                fields.append((f"x{index}", _SCALAR, None))
                rename[f"x{index}"] = name
        return msgspec.defstruct("Nested", fields, rename=rename, frozen=True, gc=False,
                                 forbid_unknown_fields=True)

    def decode(self, data: bytes, count: int) -> list[Any] | None:
        """The chunk's structs, one per line, or None when it must go line by line."""
        lines = data.split(b"\n")
        if data.endswith(b"\n"):
            lines.pop()
        if len(lines) != count:
            return None
        while self.enabled:
            try:
                structs = decode_deeper(decode_lines, (self._decode_one, lines))
            except _msgspec().ValidationError as exc:
                if not self.learn(exc):
                    return None
            except (ValueError, RecursionError, TypeError):
                # msgspec's DecodeError and a UnicodeDecodeError are ValueErrors: the per-line
                # path finds and names the bad line.
                return None
            else:
                return structs
        return None

    def suspect(self, data: bytes, local: Mapping[Hashable, int]) -> bool:
        """Whether a line of the chunk (``data``, whose keys are counted in ``local``) may
        give a name deciding a verdict twice: :meth:`KeyGuard.suspect_chunk`."""
        if self.guard is None or not self._verdict_indexes:
            return False
        return self.guard.suspect_chunk(data, self._holding(local))

    def _holding(self, local: Mapping[Hashable, int]) -> Iterator[tuple[str, int, bool]]:
        """The names deciding a verdict and how many records hold a value under each (a null
        is not counted); then the names inside the objects under them, and how many of those
        objects hold each. Counted over the chunk's distinct keys without their messages,
        each one's names worked out once."""
        held: Counter[tuple[str, bool]] = Counter(
            {(name, True): 0 for _, name in self._verdict_indexes})
        parts_of = self._parts
        coarse_of = self.coarse_of
        whole_length = len(self.key_names)
        for key, count in local.items():
            assert isinstance(key, tuple)
            coarse = coarse_of(key) if len(key) == whole_length else key
            parts = parts_of.get(coarse)
            if parts is None:
                parts = self._key_parts(coarse)
            for part in parts:
                held[part] += count
        for (name, top), count in held.items():
            yield name, count, top

    def _key_parts(self, coarse: tuple[Any, ...]) -> tuple[tuple[str, bool], ...]:
        """The verdict names a key without its messages holds a value under (top-level),
        then the names set in the objects under them (nested)."""
        parts: list[tuple[str, bool]] = []
        for index, name in self._coarse_verdicts:
            value = coarse[index]
            if value is not None:
                parts.append((name, True))
                if isinstance(value, _Struct):
                    parts.extend((encoded, False) for encoded, item in zip(
                        value.__struct_encode_fields__, _astuple(value), strict=True)
                        if item is not None)
        if len(self._parts) >= MAX_KNOWN:
            self._parts.clear()
        found = self._parts[coarse] = tuple(parts)
        return found

    def keys(self, structs: list[Any]) -> list[Hashable]:
        """The key of every record: its deciding fields, in declaration order."""
        return list(map(self._prefix, map(self._astuple, structs)))

    def latency_of(self, struct: Any) -> Any:
        """A record's latency value as found (what ``latency_ms`` holds before numbers)."""
        return None if self._latency_of is None else self._latency_of(struct)

    def mapping(self, key: Hashable) -> dict[str, Any]:
        """The deciding fields of a key as a record would hold them (of a key without its
        messages, :attr:`coarse_of`, those it holds)."""
        assert isinstance(key, tuple)
        if len(key) != len(self.key_names):
            return self._named(self._coarse_names, key)
        return self._named(self.key_names, key)

    def bare(self, key: Hashable) -> Hashable:
        """A key without its messages (:attr:`coarse_of`) with the messages inside its
        objects left out too."""
        if not self._inner_messages:
            return key
        assert isinstance(key, tuple)
        values = list(key)
        for position, paths, itself in self._inner_messages:
            value = values[position]
            if isinstance(value, _Struct):
                values[position] = _without_paths(value, paths, ())
            elif itself:
                values[position] = None
        return tuple(values)

    def record(self, struct: Any) -> dict[str, Any]:
        """One decoded record with every field it holds (what a watched record needs)."""
        return self._named(self._all_names, self._astuple(struct))

    def direct(self, fields: frozenset[str] | None) -> Callable[[Any], Extracted] | None:
        """What makes the ``fields`` (of :data:`DIRECT_FIELDS`) of a decoded record, the way
        :meth:`Normalizer.extract` would; None when one of them may come from elsewhere than
        one top-level name (a nested path, a profile's constant, several names)."""
        if fields is None:
            return None
        if fields in self._direct:
            return self._direct[fields]
        made = self._make_direct(fields)
        self._direct[fields] = made
        return made

    def _make_direct(self, fields: frozenset[str]) -> Callable[[Any], Extracted] | None:
        field_map, constants = self.field_map, self.normalizer.constants
        top = field_map.top
        names = self._all_names
        parts: list[tuple[str, list[_Source]]] = []
        for wanted in sorted(fields):
            if wanted in constants:
                return None
            # (rank, index of the name, path inside its object or None), as the normalizer's
            # reader ranks its candidates
            found: list[tuple[int, int, tuple[str, ...] | None]] = []
            for index, name in enumerate(names):
                slot = top.get(name) or top.get(name.lower())
                if slot is not None and slot[0] == wanted:
                    found.append((slot[1], index, None))
                for path, field, rank in field_map.nested_paths(name):
                    if field == wanted:
                        found.append((rank, index, tuple(path)))
            found.sort(key=itemgetter(0))
            if len({rank for rank, _, _ in found}) != len(found):
                return None  # two names of one rank: the record's order would decide
            sources: list[_Source] = []
            for rank, index, inside in found:
                normal: Callable[[Any], Any] = DIRECT_FIELDS[wanted] or _same
                if wanted == "amount" and rank in field_map.minor_unit_ranks:
                    normal = minor_to_major
                sources.append((self._attributes[index], inside, normal))
            if sources:
                parts.append((wanted, sources))

        if not parts:
            return lambda struct: Extracted()
        return _compile_picker(parts)

    def _named(self, names: list[str], values: tuple[Any, ...]) -> dict[str, Any]:
        """The values that are set, by name, as ``json.loads`` gives them (only deciding
        fields hold structs)."""
        data = dict(compress(zip(names, values, strict=True), map(_is_set, values)))
        for name in self._nested_names:
            value = data.get(name)
            if isinstance(value, _Struct):
                data[name] = _plain(value)
        return data

    def full_mapping(self, struct: Any) -> dict[str, Any]:
        """Every field of one decoded record the summary uses (what a dependent record needs)."""
        values = self._asdict(struct)
        names = [*self.key_names, *self.detail_names]
        fields = [*(f"k{i}" for i in range(len(self.key_names))),
                  *(f"d{i}" for i in range(len(self.detail_names)))]
        return {name: _plain(values[field]) for name, field in zip(names, fields, strict=True)
                if values[field] is not None}


_Source = tuple[str, tuple[str, ...] | None, Callable[[Any], Any]]
"""Where a field may be found in a decoded record: the struct's attribute, the path inside
the object it holds (None: the value itself), and the conversion of what is found."""


def _compile_picker(parts: Sequence[tuple[str, Sequence[_Source]]]
                    ) -> Callable[[Any], Extracted]:
    """Straight-line code making the :class:`Extracted` of a decoded record from ``parts``:
    per field, the places that may hold it, by rank, each with its conversion; the first
    holding a value gives the field, as the normalizer's reader takes it (a value: not None,
    not "", not an object; at a path inside an object: not None, not ""). Attribute and field
    names are generated identifiers and the names of :data:`DIRECT_FIELDS`, never data; paths
    enter as constants."""
    lines = ["def make(s, isinstance=isinstance, dict=dict, walk=walk, Extracted=Extracted, "
             "plain=plain, Struct=Struct):"]
    constants: dict[str, Any] = {}

    def emit(sources: Sequence[_Source], number: int, rank: int, indent: str) -> None:
        if rank == len(sources):
            lines.append(f"{indent}f{number} = None")
            return
        attribute, path, normal = sources[rank]
        name = f"n{number}_{rank}"
        constants[name] = normal
        lines.append(f"{indent}v = s.{attribute}")
        if path is None:
            lines.append(f"{indent}if v is None or v == '' or isinstance(v, (dict, Struct)):")
        else:
            constants[f"p{number}_{rank}"] = path
            # (an object under a deciding name is decoded as a struct of its own)
            lines.append(f"{indent}v = walk(v, p{number}_{rank}) if isinstance(v, dict) "
                         f"else walk(plain(v), p{number}_{rank}) if isinstance(v, Struct) "
                         "else None")
            lines.append(f"{indent}if v is None or v == '':")
        emit(sources, number, rank + 1, indent + "    ")
        lines.append(f"{indent}else:")
        lines.append(f"{indent}    f{number} = {name}(v)")

    for number, (_, sources) in enumerate(parts):
        emit(sources, number, 0, "    ")
    given = ", ".join(f"{_ATTRIBUTES.get(wanted, wanted)}=f{number}"
                      for number, (wanted, _) in enumerate(parts))
    lines.append(f"    return Extracted({given})")
    lines[0] = lines[0][:-2] + "".join(f", {name}={name}" for name in constants) + "):"
    namespace: dict[str, Any] = {"Extracted": Extracted, "walk": walk, "plain": _plain,
                                 "Struct": _Struct, **constants}
    exec(compile("\n".join(lines), "<txdiag record fields>", "exec"), namespace)  # noqa: S102
    made: Callable[[Any], Extracted] = namespace["make"]
    return made


MAX_NAMES = 512
"""Distinct top-level names a JSON Lines input may have before the fast path stands aside."""
_UNNAMEABLE = re.compile(r'[\\"\x00-\x1f]')
_UNKNOWN_FIELD = re.compile(r"Object contains unknown field `(.*?)`(?: - at `(\$[^`]*)`)?",
                            re.DOTALL)
_LEAF: Any = str | int | None
"""What a deciding field may hold on the fast path: ``1``, ``1.0`` and ``true`` are equal
keys in Python but not the same values to the normalizer, so floats and booleans (and
objects and arrays, which are not hashable) send a chunk line by line."""
_SCALAR: Any = str | int | float | bool | None


_is_set = partial(is_not, None)


def _field_of(top: Mapping[str, tuple[str, int]], name: str) -> str:
    """The field a top-level name feeds (its own spelling first, then in lower case), or
    ``""``."""
    slot = top.get(name) or top.get(name.lower())
    return "" if slot is None else slot[0]


def _picker(positions: Sequence[int]) -> Callable[[Any], tuple[Any, ...]]:
    """What picks the items at ``positions`` of a sequence, as a tuple (``itemgetter`` gives
    a single item bare)."""
    if len(positions) > 1:
        return itemgetter(*positions)
    if positions:
        only = positions[0]
        return lambda row: (row[only],)
    return _no_key


def _no_key(_: Any) -> tuple[Any, ...]:
    return ()


def _same(value: Any) -> Any:
    """A field's value as found, or None where the normalizer counts it not found (None, an
    empty text, an object): the same test :class:`~txdiag.normalize.Normalizer` applies."""
    if value is None or value == "" or isinstance(value, dict):
        return None
    return value


@cache
def _msgspec() -> Any:
    try:
        import msgspec
    except ImportError:  # pragma: no cover - a declared dependency
        return None
    return msgspec


_Struct: Any = _msgspec().Struct if _msgspec() is not None else type(None)
_astuple: Any = _msgspec().structs.astuple if _msgspec() is not None else tuple


def _without_paths(value: Any, paths: frozenset[tuple[str, ...]], where: tuple[str, ...]) -> Any:
    """A decoded object with the values at ``paths`` (below ``where``) left out."""
    changes: dict[str, Any] = {}
    for attribute, name, item in zip(value.__struct_fields__, value.__struct_encode_fields__,
                                     _astuple(value), strict=True):
        path = (*where, name)
        if isinstance(item, _Struct):
            changes[attribute] = _without_paths(item, paths, path)
        elif item is not None and path in paths:
            changes[attribute] = None
    return _msgspec().structs.replace(value, **changes) if changes else value


def _plain(value: Any) -> Any:
    """A decoded value as ``json.loads`` gives it (objects back to dicts of what they hold)."""
    if isinstance(value, _Struct):
        names = value.__struct_encode_fields__
        values = _astuple(value)
        return {name: _plain(item) for name, item in zip(names, values, strict=True)
                if item is not None}
    return value


# -- time helpers --------------------------------------------------------------------------------

_fromisoformat = datetime.fromisoformat


def _from_epoch_seconds(seconds: int) -> datetime:
    from txdiag.timeline import from_epoch

    return from_epoch(seconds)


def _moments(stamps: Sequence[Any], zone: tzinfo) -> list[datetime | None]:
    """Every stamp as :func:`parse_timestamp` reads it (in one C-level pass when they are
    all ISO 8601 texts it reads as ``datetime.fromisoformat`` does)."""
    span = _span(stamps, zone) if stamps else None
    if span is not None:
        return list(span[2])
    return [parse_timestamp(stamp, zone) for stamp in stamps]


def _span(stamps: Sequence[Any],
          zone: tzinfo) -> tuple[datetime, datetime, list[datetime]] | None:
    """The earliest and latest of a chunk's times (and all of them) when every one is an ISO
    8601 text that :func:`parse_timestamp` reads exactly as ``datetime.fromisoformat`` does,
    in one zone offset from start to end; None otherwise (times go one by one)."""
    try:
        moments = list(map(_fromisoformat, stamps))
        if any(map(str.isdigit, stamps)):
            return None  # digits are an epoch to parse_timestamp
        low, high = min(moments), max(moments)
    except (TypeError, ValueError, OverflowError):
        return None
    if low.tzinfo is None:
        low, high = low.replace(tzinfo=zone), high.replace(tzinfo=zone)
        if low.utcoffset() != high.utcoffset() or (high - low).total_seconds() > 3600:
            return None  # a change of offset (DST) between them: order may not hold
        moments = list(map(methodcaller("replace", tzinfo=zone), moments))
    if not (in_range(low) and in_range(high)):
        return None  # parse_timestamp refuses some of them
    return low, high, moments


def splittable(pipeline: Pipeline, stats: ReadStats) -> bool:
    """Whether the fold reads this opened input as JSON Lines chunks, so that a byte range of
    it starting at a line folds on its own (:func:`txdiag.jobs.fold_range`)."""
    return stats.format == InputFormat.JSONL and _JsonSchema.usable(pipeline, stats)


__all__ = ["SummaryFold", "Target", "Watch", "splittable", "target_of"]
