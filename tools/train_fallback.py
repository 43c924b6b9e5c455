"""Train the statistical fallback experiment (tools/fallback_model.py) and measure it.

    .venv/bin/python tools/train_fallback.py [--write FILE] [--mode M]

1. Trains only on the development half of tests/data/corpus/*.csv (``txdiag.accuracy.split_of``).
2. Chooses the smoothing, the temperature (and how it grows with the text's length) and the
   confidence threshold by 5-fold cross-validation inside the development half, folds grouped by
   source (a source's rows never straddle the training and the held-out part, as between the two
   halves): for each smoothing and length power the temperature minimizing the held-out
   log-loss, then the threshold (below), and of those the settings whose threshold lets the
   most held-out rows be answered right.
3. Prints the evaluation on the test half: on the rows that the current rulebook leaves
   ``unknown.no_match``, at several thresholds, how many the fallback answers, and how many of
   those are right, merely "unknown" (an ``unknown.generic_failure`` answer) or confidently wrong
   (``txdiag.accuracy.judge``); then the whole test half before and after.
4. With ``--write FILE``, writes the model, trained on the whole development half with the
   chosen settings, to FILE.
"""

from __future__ import annotations

import argparse
import math
import sys
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fallback_model import (  # noqa: E402
    FallbackModel,
    Mode,
    features,
    softmax,
    text_for,
    train,
)

from txdiag.accuracy import CorpusRow, Outcome, judge, read_corpus, score  # noqa: E402
from txdiag.classify import Classifier  # noqa: E402
from txdiag.rulebook import NO_MATCH_REASON, load_rulebook  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "corpus"
FOLDS = 5
ALPHAS = (0.01, 0.03, 0.1, 0.3)
LENGTH_POWERS = (0.0, 0.5, 1.0)
MIN_COUNT = 2
THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999)
MAX_WRONG_SHARE = 0.01
"""Threshold choice: the lowest threshold whose answers on held-out dev rows are at most 1 %
confidently wrong (and stay so at every higher threshold)."""
MIN_ANSWERED = 10


def text(row: CorpusRow) -> str:
    return text_for(row.message, row.code)


def fold_of(source: str) -> int:
    return zlib.crc32(("fold:" + source).encode("utf-8")) % FOLDS


def samples(rows: Sequence[CorpusRow]) -> list[tuple[str, str]]:
    return [(text(r), r.expected_reason) for r in rows if text(r)]


def fit(rows: Sequence[CorpusRow], alpha: float, mode: Mode, **kw: object) -> FallbackModel:
    return train(samples(rows), alpha=alpha, mode=mode, min_count=MIN_COUNT, **kw)  # type: ignore[arg-type]


@dataclass
class Held:
    """A held-out row: its out-of-fold log scores and the model that produced them."""

    row: CorpusRow
    model: FallbackModel
    scores: list[float] | None
    n_features: int


def out_of_fold(rows: Sequence[CorpusRow], alpha: float, mode: Mode) -> list[Held]:
    held: list[Held] = []
    for k in range(FOLDS):
        inside = [r for r in rows if fold_of(r.source) != k]
        model = fit(inside, alpha, mode)
        held.extend(Held(r, model, model.log_scores(text(r)), len(features(text(r))))
                    for r in rows if fold_of(r.source) == k and text(r))
    return held


def probs(h: Held, temperature: float, power: float) -> list[float]:
    assert h.scores is not None
    return softmax(h.scores, h.model.effective_temperature(h.n_features, temperature, power))


def nll(held: Sequence[Held], temperature: float, power: float) -> float:
    """Mean negative log-likelihood of the true reason (rows whose reason the fold never saw
    and rows with no known feature are left out: no temperature helps them)."""
    total, n = 0.0, 0
    for h in held:
        if h.scores is None or h.row.expected_reason not in h.model.classes:
            continue
        p = probs(h, temperature, power)[h.model.classes.index(h.row.expected_reason)]
        total -= math.log(max(p, 1e-12))
        n += 1
    return total / n if n else math.inf


def best_temperature(held: Sequence[Held], power: float) -> float:
    grid = [math.exp(i / 20) for i in range(-100, 141)]  # 0.0067 .. 1100
    return min(grid, key=lambda t: nll(held, t, power))


def answers(held: Sequence[Held], temperature: float, power: float, mode: Mode
            ) -> list[tuple[CorpusRow, str, float]]:
    out = []
    for h in held:
        if h.scores is None:
            continue
        ranked = h.model.rank_probabilities(probs(h, temperature, power), mode)
        out.append((h.row, ranked.reason, ranked.confidence))
    return out


def tally(answered: Sequence[tuple[CorpusRow, str, float]], threshold: float
          ) -> dict[Outcome, int]:
    counts: dict[Outcome, int] = {"right": 0, "unknown": 0, "wrong": 0}
    for row, reason, confidence in answered:
        if confidence >= threshold:
            counts[judge(row, reason)] += 1
    return counts


def pick_threshold(answered: Sequence[tuple[CorpusRow, str, float]]) -> float:
    """The lowest threshold at which, and above which, held-out answers are at most
    MAX_WRONG_SHARE wrong (thresholds answering fewer than MIN_ANSWERED rows don't count)."""
    grid = sorted({round(c, 4) for _, _, c in answered} | set(THRESHOLDS))
    chosen = 1.0
    for t in reversed(grid):
        c = tally(answered, t)
        n = sum(c.values())
        if n < MIN_ANSWERED:
            continue
        if c["wrong"] > MAX_WRONG_SHARE * n:
            break
        chosen = t
    return chosen


def table(title: str, answered: Sequence[tuple[CorpusRow, str, float]], total: int,
          thresholds: Sequence[float], out: Callable[[str], None]) -> None:
    out(f"{title} ({total} rows, {len(answered)} with a known feature)")
    out(f"  {'threshold':>9} {'answered':>8} {'right':>6} {'unknown':>7} {'wrong':>6} "
        f"{'wrong %':>7}")
    for t in thresholds:
        c = tally(answered, t)
        n = sum(c.values())
        share = f"{c['wrong'] / n:.1%}" if n else "-"
        out(f"  {t:>9.4g} {n:>8} {c['right']:>6} {c['unknown']:>7} {c['wrong']:>6} {share:>7}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", type=Path, metavar="FILE", help="write the model to FILE")
    parser.add_argument("--mode", choices=("reason", "category", "both"), default="both",
                        help="what the confidence is about (default: measure both)")
    parser.add_argument("--for-mode", choices=("reason", "category"), default="category",
                        help="the mode of the model written with --write")
    parser.add_argument("--threshold", type=float, default=None,
                        help="override the cross-validated threshold of the written model")
    args = parser.parse_args(argv)

    rows = list(read_corpus(sorted(CORPUS.glob("*.csv"))))
    dev = [r for r in rows if r.split == "dev"]
    test = [r for r in rows if r.split == "test"]
    classifier = Classifier(load_rulebook())
    scored = score(classifier, test)
    no_match = [s.row for s in scored if s.reason == NO_MATCH_REASON]
    dev_scored = score(classifier, dev)
    dev_no_match = {id(s.row) for s in dev_scored if s.reason == NO_MATCH_REASON}
    print(f"corpus: {len(dev)} dev rows ({len(samples(dev))} with text, "
          f"{len({r.expected_reason for r in dev})} reasons), {len(test)} test rows; "
          f"rulebook leaves {len(dev_no_match)} dev / {len(no_match)} test rows no_match")

    modes: list[Mode] = ["reason", "category"] if args.mode == "both" else [args.mode]
    helds = {alpha: out_of_fold(dev, alpha, "reason") for alpha in ALPHAS}
    calibrated = {(alpha, power): best_temperature(helds[alpha], power)
                  for alpha in ALPHAS for power in LENGTH_POWERS}
    chosen: dict[Mode, tuple[float, float, float, float]] = {}
    for mode in modes:
        print(f"\n=== mode: {mode} ===")
        best: tuple[int, float, float, float, float, float] | None = None
        for (alpha, power), temperature in calibrated.items():
            held = helds[alpha]
            loss = nll(held, temperature, power)
            cv_answers = answers(held, temperature, power, mode)
            hits = sum(judge(r, reason) == "right" for r, reason, _ in cv_answers)
            threshold = pick_threshold(cv_answers)
            right = tally(cv_answers, threshold)["right"]
            print(f"  cv alpha {alpha:<5} length power {power:<4} temperature "
                  f"{temperature:8.3f}  nll {loss:.3f}  top-1 right {hits}/{len(held)}  "
                  f"threshold {threshold:.4f} answers {right} right")
            if best is None or (right, -loss) > (best[0], -best[5]):
                best = (right, alpha, power, temperature, threshold, loss)
        assert best is not None
        _, alpha, power, temperature, threshold, _ = best
        held = helds[alpha]
        cv_answers = answers(held, temperature, power, mode)
        chosen[mode] = (alpha, power, temperature, threshold)
        print(f"  chosen: alpha {alpha}, length power {power}, temperature {temperature:.3f}, "
              f"threshold {threshold:.4g} (held-out dev answers <= {MAX_WRONG_SHARE:.0%} wrong)")
        grid = sorted(set(THRESHOLDS) | {threshold})
        table("dev, cross-validated, all rows", cv_answers, len(held), grid, print)
        table("dev, cross-validated, rows the rulebook leaves no_match",
              [a for a in cv_answers if id(a[0]) in dev_no_match],
              sum(id(h.row) in dev_no_match for h in held), grid, print)

        model = fit(dev, alpha, mode, temperature=temperature, threshold=threshold,
                    length_power=power)
        test_answers = [(r, a.reason, a.confidence) for r in no_match
                        if (a := model.rank(text(r))) is not None]
        table("TEST half, rows the rulebook leaves no_match", test_answers, len(no_match),
              grid, print)
        all_answers = [(r, a.reason, a.confidence) for r in test
                       if (a := model.rank(text(r))) is not None]
        table("test half, every row (the model alone, no rules)", all_answers, len(test),
              grid, print)

        before = {o: sum(s.outcome == o for s in scored) for o in ("right", "unknown", "wrong")}
        after = dict(before)
        for r, reason, confidence in test_answers:
            if confidence >= threshold:
                after["unknown"] -= 1
                after[judge(r, reason)] += 1
        n = len(scored)
        print(f"  test half at threshold {threshold:.4g}: right {before['right'] / n:.1%} -> "
              f"{after['right'] / n:.1%}, unknown {before['unknown'] / n:.1%} -> "
              f"{after['unknown'] / n:.1%}, confidently wrong {before['wrong'] / n:.1%} -> "
              f"{after['wrong'] / n:.1%}")
        for r, reason, confidence in sorted(test_answers, key=lambda a: -a[2]):
            if confidence >= min(threshold, 0.9) and judge(r, reason) != "right":
                print(f"    {judge(r, reason):<7} {confidence:.3f} {r.where} "
                      f"{text(r)[:50]!r}: expected {r.expected_reason}, fallback {reason}")

    if args.write:
        mode = args.for_mode
        if mode not in chosen:
            parser.error(f"--write --for-mode {mode} needs --mode {mode} or both")
        alpha, power, temperature, threshold = chosen[mode]
        if args.threshold is not None:
            threshold = args.threshold
        meta = {"trained_on": "tests/data/corpus/*.csv, dev half (txdiag.accuracy.split_of)",
                "rows": len(samples(dev)), "folds": FOLDS, "min_count": MIN_COUNT,
                "tool": "tools/train_fallback.py"}
        model = fit(dev, alpha, mode, temperature=temperature, threshold=threshold,
                    length_power=power, meta=meta)
        args.write.write_text(model.dumps() + "\n", encoding="utf-8")
        print(f"\nwrote {args.write}: {args.write.stat().st_size} bytes, "
              f"{len(model.counts)} features, {len(model.classes)} reasons, mode {mode}, "
              f"threshold {threshold:.4g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
