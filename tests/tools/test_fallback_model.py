"""The statistical fallback experiment (tools/fallback_model.py): not shipped, kept measurable."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parent.parent.parent / "tools"
sys.path.insert(0, str(TOOLS))

from fallback_model import (  # noqa: E402
    FallbackModel,
    features,
    load_model,
    normalize,
    text_for,
    train,
)

from txdiag.vocabulary import Category  # noqa: E402

SYNTHETIC = [
    ("余额不足", "balance.insufficient_funds"),
    ("账户余额不足，请充值", "balance.insufficient_funds"),
    ("Insufficient funds", "balance.insufficient_funds"),
    ("insufficient balance in account", "balance.insufficient_funds"),
    ("连接超时", "network.read_timeout"),
    ("读取超时，请稍后查询", "network.read_timeout"),
    ("Read timed out", "network.read_timeout"),
    ("socket read timeout after 3000 ms", "network.read_timeout"),
    ("卡号无效", "card_binding.invalid_card_number"),
    ("Invalid card number", "card_binding.invalid_card_number"),
]


def test_normalize_and_features() -> None:
    assert normalize("  Ｔｉｍｅｏｕｔ  after 3000ms ") == "timeout after 0ms"
    feats = features("Read timeout")
    assert "w:timeout" in feats and "tim" in feats and " r" in feats
    assert features("   ") == []
    assert text_for("", "USER_BALANCE_NOT_ENOUGH") == "USER BALANCE NOT ENOUGH"
    assert text_for(None, "05") == ""
    assert text_for("余额不足", "NOTENOUGH") == "余额不足"


@pytest.mark.parametrize("mode", ["reason", "category"])
def test_synthetic_predicts_the_obvious_class(mode: str) -> None:
    model = train(SYNTHETIC, alpha=0.1, threshold=0.5, mode=mode)  # type: ignore[arg-type]
    for text, reason in [("余额不足哦", "balance.insufficient_funds"),
                         ("funds are insufficient", "balance.insufficient_funds"),
                         ("接口读取超时", "network.read_timeout")]:
        answer = model.predict(text)
        assert answer is not None and answer[0] == reason, (text, answer)
        assert 0.5 <= answer[1] <= 1.0


def test_below_threshold_returns_none() -> None:
    model = train(SYNTHETIC, alpha=0.1, threshold=0.5)
    assert model.predict("zzzz qqqq") is None  # no known feature at all
    ranked = model.rank("余额不足")
    assert ranked is not None
    strict = train(SYNTHETIC, alpha=0.1, threshold=min(1.0, ranked.confidence + 1e-9))
    assert strict.predict("余额不足") is None
    # An ambiguous text gets a low confidence under a high temperature.
    flat = train(SYNTHETIC, alpha=0.1, temperature=50.0, threshold=0.9)
    assert flat.predict("余额超时") is None


def test_round_trip() -> None:
    model = train(SYNTHETIC, alpha=0.1, threshold=0.7, length_power=0.5, mode="category")
    again = FallbackModel.from_json(json.loads(model.dumps()))
    assert again.to_json() == model.to_json()
    assert again.predict("余额不足") == model.predict("余额不足")
    with pytest.raises(ValueError):
        FallbackModel.from_json({"format": 1})


def test_a_written_model_loads_and_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    assert load_model(path) is None
    trained = train(SYNTHETIC, alpha=0.1, threshold=0.7, length_power=0.5, mode="category")
    path.write_text(trained.dumps(), encoding="utf-8")
    model = load_model(path)
    assert model is not None
    categories = {c.value for c in Category}
    assert all(reason.split(".", 1)[0] in categories for reason in model.classes)
    assert 0.5 <= model.threshold <= 1.0 and model.temperature > 0
    answer = model.predict("余额不足")
    assert answer is not None and answer[0].startswith("balance.")
    assert model.predict("") is None
