"""An experiment, not part of txdiag: a statistical fallback for messages no rule explains.

Tried for the accuracy issue and measured with ``tools/train_fallback.py``: below all rules it
answered 2 of the 127 test-half rows the rulebook left ``unknown.no_match`` (both right); on the
corpus grown to 4,368 rows, about 10 of 2,283 (all right: right 78.8% -> 79.2%), at about 0.4 ms
per new message. It was not shipped (docs/rules.md, "Measuring accuracy"). It stays here so
that the measurement can be repeated as the rulebook and the corpus grow.

The idea: rules always decide first; the model would be consulted only for what would otherwise
be ``unknown.no_match``. It is a multinomial naive Bayes classifier over character 1-3-grams of the
normalized message (NFKC, lower case, runs of digits collapsed to ``0``) plus, for Latin text,
whole word tokens. It predicts a reason id (``balance.insufficient_funds``) with a confidence
that is calibrated by temperature scaling (the temperature grows with the square root, or
another stored power, of the text's number of n-grams: naive Bayes is more overconfident the
longer the text), and answers only at or above the threshold stored
with the model: below it, :meth:`FallbackModel.predict` returns ``None``.

The model is data (JSON) written by ``tools/train_fallback.py --write FILE``, which trains on
the development half of the corpus only and picks the temperature and threshold by
cross-validation inside it.

In ``"category"`` mode the confidence of a fault answer is the probability of its *category*
(the summed probability of the category's reasons) and the answer is that category's most
probable reason; an ``unknown.*`` answer is always judged on the reason's own probability,
since for those the reason is what matters.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

FORMAT = 1
Mode = Literal["reason", "category"]

_DIGITS = re.compile(r"\d+")
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"[a-z][a-z']+")
_UNKNOWN = "unknown"


def normalize(text: str) -> str:
    """NFKC, lower case, digit runs collapsed to ``0``, whitespace collapsed to one space."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _DIGITS.sub("0", text)
    return _SPACE.sub(" ", text).strip()


def features(text: str, *, max_n: int = 3) -> list[str]:
    """Character 1..max_n-grams of the normalized text (space-padded), and ``w:`` word tokens."""
    norm = normalize(text)
    if not norm:
        return []
    padded = f" {norm} "
    out = [padded[i:i + n] for n in range(1, max_n + 1) for i in range(len(padded) - n + 1)
           if padded[i:i + n].strip()]
    out.extend(f"w:{word}" for word in _WORD.findall(norm))
    return out


def text_for(message: str | None, code: str | None = None) -> str:
    """What the model reads for a record: the message, else a code made of words.

    ``USER_BALANCE_NOT_ENOUGH`` reads as ``user balance not enough``; a numeric or opaque code
    (``05``, ``ACQ.SYSTEM_ERROR`` keeps its words) is channel-specific and gives nothing.
    """
    if message and message.strip():
        return message
    if code and re.search(r"[A-Za-z]{3}", code):
        return re.sub(r"[_.\-]+", " ", code)
    return ""


def category_of(reason: str) -> str:
    return reason.split(".", 1)[0]


@dataclass(frozen=True, slots=True)
class Ranked:
    """The best answer for a text before the threshold: reason, its confidence, its category."""

    reason: str
    confidence: float
    category: str


class FallbackModel:
    """Naive Bayes over n-gram counts, with a temperature and a threshold.

    ``counts`` maps a feature to ``{class index: count}``; everything else is derived at
    construction time.
    """

    def __init__(
        self,
        classes: Sequence[str],
        class_docs: Sequence[int],
        counts: Mapping[str, Mapping[int, int]],
        *,
        alpha: float = 0.1,
        temperature: float = 1.0,
        threshold: float = 0.9,
        mode: Mode = "reason",
        max_n: int = 3,
        length_power: float = 0.0,
        meta: Mapping[str, Any] | None = None,
    ) -> None:
        if not classes or len(classes) != len(class_docs):
            raise ValueError("fallback model: classes and class_docs must be non-empty, same size")
        if alpha <= 0 or temperature <= 0 or not 0.0 <= threshold <= 1.0:
            raise ValueError("fallback model: alpha and temperature > 0, threshold in [0, 1]")
        if mode not in ("reason", "category"):
            raise ValueError(f"fallback model: unknown mode {mode!r}")
        self.classes = tuple(classes)
        self.class_docs = tuple(class_docs)
        self.counts = {f: dict(c) for f, c in counts.items()}
        self.alpha = alpha
        self.temperature = temperature
        self.threshold = threshold
        self.mode: Mode = mode
        self.max_n = max_n
        self.length_power = length_power
        self.meta = dict(meta or {})
        k = len(self.classes)
        totals = [0] * k
        for per_class in self.counts.values():
            for index, count in per_class.items():
                if not 0 <= index < k:
                    raise ValueError(f"fallback model: class index {index} out of range")
                totals[index] += count
        vocabulary = len(self.counts) + 1
        self._denominator = [math.log(t + alpha * vocabulary) for t in totals]
        self._unseen = [math.log(alpha) - d for d in self._denominator]
        docs = sum(self.class_docs)
        self._prior = [math.log((d + 1) / (docs + k)) for d in self.class_docs]
        self._categories = tuple(category_of(c) for c in self.classes)

    # -- scoring ------------------------------------------------------------------------------

    def log_scores(self, text: str) -> list[float] | None:
        """Unnormalized log posterior per class; ``None`` if the text has no known feature."""
        scored = self._log_scores(text)
        return None if scored is None else scored[0]

    def _log_scores(self, text: str) -> tuple[list[float], int] | None:
        """The log scores and the text's number of features (known or not)."""
        feats = features(text, max_n=self.max_n)
        seen = [f for f in feats if f in self.counts]
        if not seen:
            return None
        scores = list(self._prior)
        for feature, n in Counter(seen).items():
            per_class = self.counts[feature]
            for i in range(len(scores)):
                count = per_class.get(i, 0)
                scores[i] += n * (math.log(count + self.alpha) - self._denominator[i]
                                  if count else self._unseen[i])
        return scores, len(feats)

    def effective_temperature(self, n_features: int, temperature: float | None = None,
                              length_power: float | None = None) -> float:
        base = self.temperature if temperature is None else temperature
        power = self.length_power if length_power is None else length_power
        return base * math.pow(max(n_features, 1), power)

    def probabilities(self, text: str, temperature: float | None = None) -> list[float] | None:
        """Calibrated class probabilities (softmax of the log scores over the temperature)."""
        scored = self._log_scores(text)
        if scored is None:
            return None
        scores, n_features = scored
        return softmax(scores, self.effective_temperature(n_features, temperature))

    def rank(self, text: str, *, temperature: float | None = None,
             mode: Mode | None = None) -> Ranked | None:
        """The best answer and its confidence, whatever the threshold."""
        probs = self.probabilities(text, temperature)
        if probs is None:
            return None
        return self.rank_probabilities(probs, mode or self.mode)

    def rank_probabilities(self, probs: Sequence[float], mode: Mode) -> Ranked:
        best = max(range(len(probs)), key=probs.__getitem__)
        if mode == "reason":
            return Ranked(self.classes[best], probs[best], self._categories[best])
        by_category: dict[str, float] = {}
        for category, p in zip(self._categories, probs, strict=True):
            by_category[category] = by_category.get(category, 0.0) + p
        category = max(by_category, key=by_category.__getitem__)
        if category == _UNKNOWN:
            return Ranked(self.classes[best], probs[best], self._categories[best])
        top = max((i for i, c in enumerate(self._categories) if c == category),
                  key=probs.__getitem__)
        return Ranked(self.classes[top], by_category[category], category)

    def predict(self, text: str) -> tuple[str, float] | None:
        """The reason id and its confidence, or ``None`` below the model's threshold."""
        ranked = self.rank(text)
        if ranked is None or ranked.confidence < self.threshold:
            return None
        return ranked.reason, ranked.confidence

    # -- (de)serialization --------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "kind": "multinomial-naive-bayes/char-ngrams",
            "mode": self.mode,
            "max_n": self.max_n,
            "length_power": self.length_power,
            "alpha": self.alpha,
            "temperature": self.temperature,
            "threshold": self.threshold,
            "classes": list(self.classes),
            "class_docs": list(self.class_docs),
            "meta": self.meta,
            # {feature: [[class index, count], ...]}: compact and order-stable.
            "counts": {f: [[i, n] for i, n in sorted(c.items())]
                       for f, c in sorted(self.counts.items())},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FallbackModel:
        try:
            if data["format"] != FORMAT:
                raise ValueError(f"fallback model: format {data['format']!r}, expected {FORMAT}")
            counts = {str(f): {int(i): int(n) for i, n in pairs}
                      for f, pairs in data["counts"].items()}
            return cls(
                [str(c) for c in data["classes"]],
                [int(d) for d in data["class_docs"]],
                counts,
                alpha=float(data["alpha"]),
                temperature=float(data["temperature"]),
                threshold=float(data["threshold"]),
                mode=data["mode"],
                max_n=int(data["max_n"]),
                length_power=float(data.get("length_power", 0.0)),
                meta=data.get("meta") or {},
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"fallback model: malformed ({exc!r})") from exc

    def dumps(self) -> str:
        return json.dumps(self.to_json(), ensure_ascii=False, separators=(",", ":"),
                          sort_keys=True)


def softmax(scores: Sequence[float], temperature: float = 1.0) -> list[float]:
    top = max(scores)
    exps = [math.exp((s - top) / temperature) for s in scores]
    total = sum(exps)
    return [e / total for e in exps]


def train(
    samples: Iterable[tuple[str, str]],
    *,
    alpha: float = 0.1,
    temperature: float = 1.0,
    threshold: float = 0.9,
    mode: Mode = "reason",
    max_n: int = 3,
    length_power: float = 0.0,
    min_count: int = 1,
    meta: Mapping[str, Any] | None = None,
) -> FallbackModel:
    """Fit naive Bayes on ``(text, reason id)`` pairs; features seen fewer than ``min_count``
    times in all are dropped (they keep the model small and carry little)."""
    class_index: dict[str, int] = {}
    class_docs: list[int] = []
    counts: dict[str, dict[int, int]] = {}
    for text, reason in samples:
        feats = features(text, max_n=max_n)
        if not feats:
            continue
        index = class_index.setdefault(reason, len(class_index))
        if index == len(class_docs):
            class_docs.append(0)
        class_docs[index] += 1
        for feature, n in Counter(feats).items():
            per_class = counts.setdefault(feature, {})
            per_class[index] = per_class.get(index, 0) + n
    if min_count > 1:
        counts = {f: c for f, c in counts.items() if sum(c.values()) >= min_count}
    return FallbackModel(list(class_index), class_docs, counts, alpha=alpha,
                         temperature=temperature, threshold=threshold, mode=mode,
                         max_n=max_n, length_power=length_power, meta=meta)


def load_model(path: Path) -> FallbackModel | None:
    """A model written by ``tools/train_fallback.py --write``; ``None`` when there is none."""
    try:
        text = path.read_text("utf-8")
    except OSError:
        return None
    return FallbackModel.from_json(json.loads(text))
