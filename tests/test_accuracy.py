"""Accuracy of the shipped rulebook on labelled corpora of real codes and messages.

Two corpora, for two purposes:

- tests/data/corpus/*.csv: what users meet. Real codes and messages from public channel
  documentation, SDKs and application logs, every row with its source, split by source into a
  development half (rules are written against it) and a test half (never looked at when
  writing rules; its figures are the ones to quote). The test prints both halves' figures.
- tests/data/accuracy_corpus.csv: the wording the first rulebook was written against, kept
  as a regression set: per-category precision and recall must stay at or above 0.95.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from txdiag.accuracy import Split, evaluate, read_corpus
from txdiag.classify import Classifier
from txdiag.models import Category
from txdiag.rulebook import Rulebook

CORPUS = Path(__file__).parent / "data" / "accuracy_corpus.csv"
REAL = sorted((Path(__file__).parent / "data" / "corpus").glob("*.csv"))
THRESHOLD = 0.95
# The test half's figures as they stand (docs/rules.md, "Measuring accuracy"): a change to the
# rulebook must not make them worse. The goal is 95% right, 1% confidently wrong and 3% of
# real faults unknown. (The floors went down when the corpus doubled with sources the rules had
# never met: the measure got harder, not the rules worse; see the closing notes of issue 12.)
FLOOR_RIGHT = 0.78
CEILING_WRONG = 0.071
CEILING_UNKNOWN = 0.15


def test_the_real_corpus_is_big_sourced_and_mostly_chinese(rulebook: Rulebook) -> None:
    rows = list(read_corpus(REAL))
    assert len(rows) >= 1500
    assert sum(r.lang == "zh" for r in rows) * 2 >= len(rows)
    for row in rows:
        assert row.source and row.expected_reason in rulebook.reasons, row.where
        for token in row.accepted:
            assert token in rulebook.reasons or token in {c.value for c in Category}, row.where
    halves = Counter(r.split for r in rows)
    assert min(halves.values()) >= 0.4 * len(rows), halves
    sources = {half: {r.source for r in rows if r.split == half} for half in halves}
    assert not sources["dev"] & sources["test"]
    assert len({r.expected_reason for r in rows}) >= 45


def test_figures_on_the_test_half(rulebook: Rulebook, capsys: pytest.CaptureFixture[str]) -> None:
    classifier = Classifier(rulebook)
    dev = evaluate(classifier, REAL, Split.DEV)
    test = evaluate(classifier, REAL, Split.TEST)
    with capsys.disabled():
        print("\n" + "\n".join(test.lines("test half (quote these)") + dev.lines("dev half")))
    assert test.accuracy >= FLOOR_RIGHT
    assert test.confidently_wrong <= CEILING_WRONG
    assert test.unknown_faults <= CEILING_UNKNOWN


def load_corpus() -> list[dict[str, str]]:
    with CORPUS.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def classify_row(classifier: Classifier, row: dict[str, str]) -> tuple[str, str]:
    rulebook = classifier.rulebook
    channel = rulebook.canonical_channel(row["channel"]) if row["channel"] else None
    diagnosis = classifier.classify(
        channel=channel,
        codes=(("code", row["code"]),) if row["code"] else (),
        message=row["message"] or None,
        http_status=int(row["http_status"]) if row["http_status"] else None,
    )
    return diagnosis.category.value, diagnosis.reason


def test_corpus_is_big_and_balanced() -> None:
    rows = load_corpus()
    assert len(rows) >= 300
    counts = Counter(row["expected_category"] for row in rows)
    assert set(counts) == {c.value for c in Category}
    for category in ("balance", "network", "card_binding", "risk_control", "system"):
        assert counts[category] >= 40, counts
    assert counts["unknown"] >= 25


def test_per_category_precision_and_recall(rulebook: Rulebook,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    classifier = Classifier(rulebook)
    rows = load_corpus()
    confusion: Counter[tuple[str, str]] = Counter()
    wrong: list[str] = []
    reasons_right = 0
    for row in rows:
        category, reason = classify_row(classifier, row)
        confusion[(row["expected_category"], category)] += 1
        reasons_right += reason == row["expected_reason"]
        if category != row["expected_category"] or reason != row["expected_reason"]:
            wrong.append(f"  {row['channel'] or '-'} {row['code'] or '-'} "
                         f"{row['message'][:50]!r} http={row['http_status'] or '-'}: expected "
                         f"{row['expected_reason']}, got {reason}")
    categories = [c.value for c in Category]
    report = ["confusion (rows expected, columns got):",
              "              " + " ".join(f"{c[:8]:>8}" for c in categories)]
    scores: dict[str, tuple[float, float]] = {}
    for expected in categories:
        report.append(f"  {expected:<12}" + " ".join(
            f"{confusion[(expected, got)]:>8}" for got in categories))
        true_positive = confusion[(expected, expected)]
        predicted = sum(confusion[(other, expected)] for other in categories)
        actual = sum(confusion[(expected, other)] for other in categories)
        scores[expected] = (true_positive / predicted if predicted else 1.0,
                            true_positive / actual if actual else 1.0)
    report += [f"  {c:<12} precision {p:.3f} recall {r:.3f}" for c, (p, r) in scores.items()]
    report.append(f"reason accuracy {reasons_right}/{len(rows)}; misclassified rows:")
    report += wrong or ["  none"]
    with capsys.disabled():
        print("\n" + "\n".join(report))
    low = {c: s for c, s in scores.items() if min(s) < THRESHOLD}
    assert not low, "\n".join(report)
