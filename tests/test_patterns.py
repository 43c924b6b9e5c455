"""The RE2 engine for data patterns: order, case, Chinese text, bad input, bad patterns."""

from __future__ import annotations

import pytest

from txdiag.patterns import PatternSet, compile_pattern


def test_first_in_order_not_first_in_text() -> None:
    patterns = PatternSet(["timed out", "风控", "risk"])
    assert patterns.first("风控 check timed out") == (0, "timed out")
    assert [i for i, _ in patterns.all("RISK and 风控")] == [1, 2]


def test_case_insensitive_and_unicode() -> None:
    assert PatternSet(["insufficient funds"]).first("INSUFFICIENT Funds") is not None
    assert PatternSet(["余额不足"]).first("卡余额不足，请充值") == (0, "余额不足")


def test_lone_surrogates_do_not_crash() -> None:
    # what undecodable argv or file bytes become in Python strings
    assert PatternSet(["余额"]).first("\udce4 余额不足") == (0, "余额")


@pytest.mark.parametrize("pattern", ["(?=a)b", "(a)\\1", "a{2000}", "[", "x" * 2001])
def test_refused_patterns_say_why(pattern: str) -> None:
    with pytest.raises(ValueError, match="pattern"):
        compile_pattern(pattern)


def test_linear_time_on_a_classic_redos_pattern() -> None:
    # (a+)+$ takes exponential time in a backtracking engine on "aaaa...!"
    patterns = PatternSet(["(a+)+$"])
    assert patterns.first("a" * 50000 + "!") is None
