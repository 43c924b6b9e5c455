"""Unknown-failure templates: variable parts out, personal data masked, memory bounded."""

from __future__ import annotations

import pytest

from txdiag.mining import TemplateMiner, template_of


@pytest.mark.parametrize(
    ("message", "template"),
    [
        ("ERR_4711 order 88213 failed", "ERR_4711 order <num> failed"),
        ("ERR_4711 order T20261111000123 failed at 12.50 CNY",
         "ERR_4711 order <id> failed at <num> CNY"),
        ("用户13812345678的卡6222021234567890128余额不足，金额100元",
         "用户<masked>的卡<masked>余额不足，金额<num>元"),
        ("trace=5f2a9c1d8e7b6a54 upstream 'pay-core' said no",
         "trace=<hex> upstream <str> said no"),
        ("\x1b[31mred  alert\x1b[0m   42", "red alert <num>"),
    ],
)
def test_templates(message: str, template: str) -> None:
    assert template_of(message) == template


def test_miner_groups_counts_and_masks_examples() -> None:
    miner = TemplateMiner()
    for order in range(5):
        miner.add("baitiao", None, f"结算失败 order {90000 + order} phone 1381234567{order}")
    miner.add("baitiao", None, "something else")
    (channel, code, template, count, example), second = miner.top(5)
    assert (channel, code, count) == ("baitiao", None, 5)
    assert template == "结算失败 order <num> phone <masked>"
    assert "13812345670" not in example and "138****5670" in example
    assert second[3] == 1


def test_miner_memory_is_capped() -> None:
    miner = TemplateMiner(max_templates=10)
    for number in range(100):
        miner.add(None, f"E{number}", "x")
    assert len(miner.counts) == 10
    assert miner.overflow == 90 and miner.capped
