"""What ``txdiag report`` gathers record by record, besides the summary and the timeline.

Both are :class:`~txdiag.fold.Watch`es of the summary's fold: the fold counts every record as
``summary`` does, and hands over only the records whose outcome a watch wants.

- :class:`QueryFirst` (first pass): the failures whose outcome is unknown (``query_first``:
  the request may have reached the channel), counted with their amounts per channel;
- :class:`AffectedList` (second pass, only for ``--affected``): the failures of each incident
  window's category inside the window, written as CSV rows as they come.

No Typer, Rich, matplotlib or Jinja2 here.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, TextIO

from txdiag.aggregate import Summary, Target
from txdiag.normalize import Extracted
from txdiag.pipeline import Pipeline
from txdiag.render.present import Presenter
from txdiag.safety import neutralize_csv_cell
from txdiag.spikes import Spike
from txdiag.timeparse import parse_timestamp
from txdiag.vocabulary import Retryable, format_time

if TYPE_CHECKING:
    from txdiag.fold import Watch

QUERY_FIRST = Retryable.QUERY_FIRST.value
NO_CURRENCY = ""
SAMPLE_ROWS = 20
"""Affected transactions shown per incident window in the report (the CSV has them all)."""

AFFECTED_COLUMNS = ("incident", "time", "txn_id", "user_id", "channel", "amount", "currency",
                    "category", "reason", "hint")


def parse_amount(value: object) -> Decimal | None:
    """An amount as a finite Decimal, or None when there is none or it is not a number."""
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(value.strip() if value.__class__ is str else str(value))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None


@dataclass
class ChannelAmounts:
    """Query-first failures of one channel: how many, and their amounts by currency."""

    count: int = 0
    amounts: dict[str, Decimal] = field(default_factory=dict)
    """Total amount per currency (``""``: no currency given)."""
    without_amount: int = 0


class QueryFirst:
    """Counts the ``query_first`` failures and their amounts, per channel (a fold watch)."""

    fields = frozenset({"amount", "currency"})

    def __init__(self) -> None:
        self.by_channel: dict[str, ChannelAmounts] = {}

    def wants(self, target: Target) -> bool:
        verdict = target[1]
        return verdict is not None and verdict[2] == QUERY_FIRST

    def record(self, fields: Extracted, target: Target) -> None:
        entry = self.by_channel.get(target[0])
        if entry is None:
            entry = self.by_channel[target[0]] = ChannelAmounts()
        entry.count += 1
        amount = parse_amount(fields.amount)
        if amount is None:
            entry.without_amount += 1
            return
        currency = (fields.currency or NO_CURRENCY).upper()
        amounts = entry.amounts
        amounts[currency] = amounts[currency] + amount if currency in amounts else amount

    @property
    def count(self) -> int:
        return sum(entry.count for entry in self.by_channel.values())

    def ordered(self) -> list[tuple[str, ChannelAmounts]]:
        """Channels with the most query-first failures first (ties by name)."""
        return sorted(self.by_channel.items(), key=lambda item: (-item[1].count, item[0]))


@dataclass(frozen=True, slots=True)
class AffectedRow:
    """One affected transaction, masked and made visible for display and CSV."""

    incident: int
    time: str
    txn_id: str
    user_id: str
    channel: str
    amount: str
    currency: str
    category: str
    reason: str
    hint: str

    def cells(self) -> list[str]:
        return [str(self.incident), self.time, self.txn_id, self.user_id, self.channel,
                self.amount, self.currency, self.category, self.reason, self.hint]


class AffectedList:
    """The failures of each incident window's category inside that window (a fold watch).

    Every row goes to ``out`` as CSV (masked by ``presenter``, formula-neutralised) when one
    is given; the first :data:`SAMPLE_ROWS` of each window are kept for the report.
    """

    fields = frozenset({"txn_id", "timestamp", "amount", "currency", "user_id",
                        # what classifying needs: the hint is the deciding rule's
                        "channel", "codes", "message", "http_status", "latency_ms",
                        "status_for_rules"})

    def __init__(self, spikes: Sequence[Spike], pipeline: Pipeline, presenter: Presenter,
                 out: TextIO | None = None) -> None:
        self.spikes = list(spikes)
        self.categories = {spike.category for spike in spikes}
        self.pipeline = pipeline
        self.p = presenter
        self.zone = pipeline.normalizer.assume_tz
        self.counts = [0] * len(self.spikes)
        self.samples: list[list[AffectedRow]] = [[] for _ in self.spikes]
        self.writer = None
        if out is not None:
            self.writer = csv.writer(out, lineterminator="\n")
            self.writer.writerow(AFFECTED_COLUMNS)

    def wants(self, target: Target) -> bool:
        verdict = target[1]
        return verdict is not None and verdict[0] in self.categories

    def incident_of(self, category: str, moment: datetime | None) -> int | None:
        """The index of the incident window of ``category`` holding ``moment``, if any."""
        if moment is None:
            return None
        for index, spike in enumerate(self.spikes):
            if spike.category == category and spike.start <= moment < spike.end:
                return index
        return None

    def record(self, fields: Extracted, target: Target) -> None:
        verdict = target[1]
        assert verdict is not None
        category, reason, _ = verdict
        moment = parse_timestamp(fields.timestamp, self.zone)
        index = self.incident_of(category, moment)
        if index is None:
            return
        self.counts[index] += 1
        p = self.p
        # The deciding rule's hint (a rule may word its reason's hint for its own case).
        hint = self.pipeline.diagnose_fields(fields).hint.get(p.lang)
        amount = parse_amount(fields.amount)
        row = AffectedRow(
            incident=index + 1,
            time=format_time(moment),
            txn_id=p.text(fields.txn_id),
            user_id=p.text(fields.user_id),
            channel=p.text(target[0]),
            amount="" if amount is None else p.text(str(amount)),
            currency=p.text(fields.currency),
            category=category,
            reason=reason,
            hint=p.text(hint),
        )
        if len(self.samples[index]) < SAMPLE_ROWS:
            self.samples[index].append(row)
        if self.writer is not None:
            self.writer.writerow([neutralize_csv_cell(cell) for cell in row.cells()])


def read_again(pipeline: Pipeline, names: Sequence[str], watch: Watch) -> None:
    """Fold the inputs once more, for ``watch`` alone (the affected list, whose windows are
    known only after the first pass). The pass has an accounting of its own, left unread:
    the first pass counted the inputs, and reported their unreadable lines."""
    from txdiag.fold import SummaryFold

    SummaryFold(pipeline, Summary(mine_templates=False), watch=watch).run(names)
