"""How right the rulebook is on a labelled corpus of real codes and messages.

A corpus is CSV with the columns ``channel, code, message, http_status, expected_category,
expected_reason, accepted, lang, source`` (docs/rules.md, "Measuring accuracy"). ``accepted``
lists other answers that are also right (reason ids, or a bare category for any of its reasons);
``source`` says where the row comes from, and splits the corpus: every row of one source lands in
the same half (development or test), so that rules written against the development half are
measured on sources they were not written against.

The figures:

- **right**: the category is the label's or an accepted one; for a label of the ``unknown``
  category (pending, duplicate order, ...), the reason itself must be the label's or accepted;
- **unknown**: nothing matched (``unknown.no_match``), or only "it failed" was recognised
  (``unknown.generic_failure``), where the label names a cause;
- **confidently wrong**: any other answer: a diagnosis that sends the agent the wrong way.
"""

from __future__ import annotations

import csv
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from txdiag.rulebook import NO_MATCH_REASON
from txdiag.vocabulary import Category

if TYPE_CHECKING:
    from txdiag.classify import Classifier

COLUMNS = ("channel", "code", "message", "http_status", "expected_category", "expected_reason",
           "accepted", "lang", "source")
class Split(StrEnum):
    """The halves of a corpus, by source."""

    DEV = "dev"
    TEST = "test"
    ALL = "all"


Outcome = Literal["right", "unknown", "wrong"]
FAULTS = tuple(c.value for c in Category if c is not Category.UNKNOWN)
NOT_A_CAUSE = frozenset({NO_MATCH_REASON, "unknown.generic_failure"})
"""Answers that name no cause: wrong where a cause was expected, but not misleading."""


@dataclass(frozen=True, slots=True)
class CorpusRow:
    """One labelled code and/or message, and where it comes from."""

    channel: str
    code: str
    message: str
    http_status: int | None
    expected_reason: str
    accepted: tuple[str, ...]
    lang: str
    source: str
    where: str
    """``file:line``, for reports."""

    @property
    def expected_category(self) -> str:
        return self.expected_reason.split(".", 1)[0]

    @property
    def split(self) -> Literal["dev", "test"]:
        return split_of(self.source)


def split_of(source: str) -> Literal["dev", "test"]:
    """The half a source belongs to: stable across runs and machines (a CRC of its text)."""
    return "test" if zlib.crc32(source.strip().encode("utf-8")) % 2 else "dev"


MAX_FIELD = 1 << 20
"""The longest field a corpus row may hold (csv's default is 128 KiB)."""


def read_corpus(paths: Iterable[Path]) -> Iterator[CorpusRow]:
    """Rows of every corpus file; ``ValueError`` naming the file and line of a bad row."""
    csv.field_size_limit(max(csv.field_size_limit(), MAX_FIELD))
    for path in paths:
        where = str(path)
        try:
            with path.open(encoding="utf-8", newline="") as handle:
                reader = csv.DictReader(handle)
                missing = set(COLUMNS) - set(reader.fieldnames or ())
                if missing:
                    raise ValueError(f"{path}: missing columns {', '.join(sorted(missing))}")
                for row in reader:
                    where = f"{path}:{reader.line_num}"
                    yield _corpus_row(row, where)
        except UnicodeDecodeError as exc:
            raise ValueError(f"{where}: not UTF-8 ({exc.reason})") from None
        except csv.Error as exc:
            raise ValueError(f"{where}: {exc}") from None
        except OSError as exc:
            raise ValueError(f"{path}: cannot read: {exc.strerror}") from None


def _corpus_row(row: dict[str, str | None], where: str) -> CorpusRow:
    def cell(name: str) -> str:
        return (row.get(name) or "").strip()

    reason = cell("expected_reason")
    if "." not in reason or not cell("source"):
        raise ValueError(f"{where}: a row needs expected_reason and source")
    status = cell("http_status")
    if status and not (status.isascii() and status.isdigit()):
        raise ValueError(f"{where}: http_status {status[:20]!r} is not a number")
    return CorpusRow(
        channel=cell("channel"), code=cell("code"), message=row.get("message") or "",
        http_status=int(status) if status else None, expected_reason=reason,
        accepted=tuple(cell("accepted").split()), lang=cell("lang"), source=cell("source"),
        where=where,
    )


@dataclass(frozen=True, slots=True)
class Scored:
    row: CorpusRow
    reason: str
    category: str
    outcome: Outcome
    rule_id: str | None


def judge(row: CorpusRow, reason: str) -> Outcome:
    category = reason.split(".", 1)[0]
    if row.expected_category == Category.UNKNOWN.value:
        right = reason == row.expected_reason or reason in row.accepted or (
            category in row.accepted and reason != NO_MATCH_REASON)
    else:
        right = category == row.expected_category or reason in row.accepted or (
            category in row.accepted)
    if right:
        return "right"
    return "unknown" if reason in NOT_A_CAUSE else "wrong"


def score(classifier: Classifier, rows: Iterable[CorpusRow]) -> list[Scored]:
    rulebook = classifier.rulebook
    scored = []
    for row in rows:
        channel = rulebook.canonical_channel(row.channel) if row.channel else None
        diagnosis = classifier.classify(
            channel=channel,
            codes=(("code", row.code),) if row.code else (),
            message=row.message or None,
            http_status=row.http_status,
        )
        scored.append(Scored(row, diagnosis.reason, diagnosis.category.value,
                             judge(row, diagnosis.reason), diagnosis.evidence.rule_id))
    return scored


@dataclass
class Report:
    """The figures of one half (or all) of a corpus."""

    scored: Sequence[Scored]

    @property
    def rows(self) -> int:
        return len(self.scored)

    def share(self, outcome: Outcome, *, faults_only: bool = False) -> float:
        pool = [s for s in self.scored
                if not faults_only or s.row.expected_category in FAULTS]
        return sum(s.outcome == outcome for s in pool) / len(pool) if pool else 0.0

    @property
    def accuracy(self) -> float:
        return self.share("right")

    @property
    def confidently_wrong(self) -> float:
        return self.share("wrong")

    @property
    def unknown_faults(self) -> float:
        """Real faults (a label of the five fault categories) that nothing matched."""
        return self.share("unknown", faults_only=True)

    @property
    def reason_accuracy(self) -> float:
        hits = sum(s.reason == s.row.expected_reason or s.reason in s.row.accepted
                   for s in self.scored)
        return hits / self.rows if self.rows else 0.0

    def precision_recall(self) -> dict[str, tuple[float, float, int]]:
        """Per category: precision, recall and the number of rows labelled with it. For the
        ``unknown`` category, precision counts the answers that name a state (pending, already
        paid, ...): "nothing matched" and "it failed" are counted as unknown, not as a claim."""
        result = {}
        for category in (c.value for c in Category):
            labelled = [s for s in self.scored if s.row.expected_category == category]
            predicted = [s for s in self.scored
                         if s.category == category and s.reason not in NOT_A_CAUSE]
            hit_l = sum(s.outcome == "right" for s in labelled)
            hit_p = sum(s.outcome == "right" for s in predicted)
            result[category] = (hit_p / len(predicted) if predicted else 1.0,
                                hit_l / len(labelled) if labelled else 1.0, len(labelled))
        return result

    def lines(self, title: str, *, show: int = 0) -> list[str]:
        out = [f"{title}: {self.rows} rows; right {self.accuracy:.1%}, confidently wrong "
               f"{self.confidently_wrong:.1%}, real faults left unknown "
               f"{self.unknown_faults:.1%}; reason right {self.reason_accuracy:.1%}"]
        for category, (precision, recall, n) in self.precision_recall().items():
            out.append(f"  {category:<13} precision {precision:.3f}  recall {recall:.3f}  "
                       f"({n} rows)")
        for lang in sorted({s.row.lang for s in self.scored}):
            part = Report([s for s in self.scored if s.row.lang == lang])
            out.append(f"  lang {lang or '-':<5} {part.rows:>5} rows  right {part.accuracy:.1%}"
                       f"  wrong {part.confidently_wrong:.1%}")
        misses = [s for s in self.scored if s.outcome != "right"]
        for s in misses[:show]:
            r = s.row
            out.append(f"  {s.outcome:<7} {r.where} {r.channel or '-'} {r.code or '-'} "
                       f"{r.message[:60]!r}: expected {r.expected_reason}, got {s.reason} "
                       f"({s.rule_id or 'no rule'})")
        if len(misses) > show > 0:
            out.append(f"  ... and {len(misses) - show} more")
        return out


def evaluate(classifier: Classifier, paths: Iterable[Path], split: Split = Split.ALL) -> Report:
    rows = [r for r in read_corpus(paths) if split is Split.ALL or r.split == split.value]
    return Report(score(classifier, rows))
