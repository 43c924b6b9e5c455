"""The documented precedence (docs/rules.md), on a small rulebook made for it."""

from __future__ import annotations

from pathlib import Path

import pytest

from txdiag.classify import Classifier
from txdiag.rulebook import Rulebook, load_rulebook


@pytest.fixture(scope="module")
def classifier(mini_rulebook: Rulebook) -> Classifier:
    return Classifier(mini_rulebook)


@pytest.mark.parametrize(
    ("kwargs", "reason", "level", "rule_id"),
    [
        # channel-specific code beats everything else
        ({"channel": "alpha", "codes": (("code", "51"),), "message": "timed out",
          "http_status": 503}, "balance.insufficient_funds", "channel_code", "alpha.51"),
        # a channel whose name covers several code tables: the message first, then its code
        ({"channel": "delta", "codes": (("code", "51"),), "message": "timed out"},
         "network.read_timeout", "message", "msg.timeout"),
        ({"channel": "delta", "codes": (("code", "51"),), "message": "something new"},
         "balance.insufficient_funds", "channel_code", "delta.51"),
        # the same code means something else on another channel
        ({"channel": "gamma", "codes": (("code", "51"),)}, "system.internal_error",
         "channel_code", "gamma.51"),
        # a channel inherits its parent's codes
        ({"channel": "beta", "codes": (("code", "51"),)}, "balance.insufficient_funds",
         "channel_code", "alpha.51"),
        # without a channel an ambiguous code decides nothing...
        ({"codes": (("code", "51"),)}, "unknown.no_match", "none", None),
        # ...but an unambiguous one does
        ({"codes": (("code", "x1"),)}, "network.read_timeout", "inferred_code", "alpha.x1"),
        # a number one channel knows is that channel's own, unless others log its numbers bare
        ({"codes": (("code", "88"),)}, "unknown.no_match", "none", None),
        ({"codes": (("code", "77"),)}, "balance.insufficient_funds", "inferred_code",
         "epsilon.77"),
        ({"channel": "zeta", "codes": (("code", "77"),)}, "unknown.no_match", "none", None),
        # channel-independent code
        ({"channel": "gamma", "codes": (("code", "E500"),)}, "system.internal_error", "code",
         "any.e500"),
        # specific code first: sub_code decides before code
        ({"channel": "alpha", "codes": (("sub_code", "X1"), ("code", "51"))},
         "network.read_timeout", "channel_code", "alpha.x1"),
        # status rule before messages
        ({"status": "PENDING", "message": "risk"}, "unknown.pending", "status", "any.pending"),
        # channel message rules before generic ones
        ({"channel": "alpha", "message": "risk timed out"}, "risk_control.blocked_by_risk_engine",
         "message", "alpha.msg.risk"),
        # rule order decides between generic message rules, not position in the text
        ({"message": "风控系统超时"}, "network.read_timeout", "message", "msg.risk_timeout"),
        ({"message": "timed out after risk"}, "risk_control.blocked_by_risk_engine", "message",
         "msg.risk"),
        ({"message": "READ TIMED OUT"}, "network.read_timeout", "message", "msg.timeout"),
        # fallback codes lose to messages, win over nothing
        ({"channel": "alpha", "codes": (("code", "FAIL"),), "message": "timed out"},
         "network.read_timeout", "message", "msg.timeout"),
        ({"channel": "alpha", "codes": (("code", "FAIL"),)}, "system.internal_error",
         "fallback_code", "alpha.fail"),
        # http status, then latency
        ({"http_status": 502, "latency_ms": 60000}, "system.internal_error", "http_status",
         "http.5xx"),
        ({"latency_ms": 30000}, "network.read_timeout", "latency", "latency.slow"),
        ({"latency_ms": 29999}, "unknown.no_match", "none", None),
        ({"message": "something new"}, "unknown.no_match", "none", None),
    ],
)
def test_precedence(classifier: Classifier, kwargs: dict[str, object], reason: str, level: str,
                    rule_id: str | None) -> None:
    diagnosis = classifier.classify(**kwargs)  # type: ignore[arg-type]
    assert (diagnosis.reason, diagnosis.evidence.level, diagnosis.evidence.rule_id) == (
        reason, level, rule_id)
    # the summary's shortcut (levels worked out apart from the message) decides the same
    decided = classifier.decide(**kwargs)  # type: ignore[arg-type]
    assert (decided.rule.id if decided else None) == rule_id


def test_both_codes_kept_in_evidence(classifier: Classifier) -> None:
    d = classifier.classify(channel="alpha", codes=(("sub_code", "x1"), ("code", "51")))
    assert [(c.field, c.value) for c in d.evidence.codes] == [("sub_code", "x1"), ("code", "51")]
    assert d.evidence.field == "sub_code"


def test_unknown_shows_raw_code_and_guesses_nothing(classifier: Classifier) -> None:
    d = classifier.classify(channel="gamma", codes=(("code", "Q7"),), message="odd")
    assert d.category.value == "unknown"
    assert d.reason == "unknown.no_match"
    assert (d.evidence.field, d.evidence.value) == ("code", "Q7")


def test_coloured_message_is_classified_like_plain(classifier: Classifier) -> None:
    plain = classifier.classify(message="read timed out")
    coloured = classifier.classify(message="\x1b[31mread timed\x1b[0m out")
    assert coloured.reason == plain.reason == "network.read_timeout"


def test_memo_returns_same_answer(classifier: Classifier) -> None:
    first = classifier.classify(channel="alpha", codes=(("code", "51"),))
    second = classifier.classify(channel="alpha", codes=(("code", "51"),))
    assert first is second


PRECEDENCE_RULES = Path(__file__).parent / "data" / "rules" / "precedence.toml"


def _with_user_file(tmp_path: Path, text: str) -> Classifier:
    user = tmp_path / "user.toml"
    user.write_text('[pack]\nid = "user"\ntitle = "user"\nsource = "test"\n' + text,
                    encoding="utf-8")
    return Classifier(load_rulebook([PRECEDENCE_RULES, user], shipped=False))


def test_a_user_rule_replacing_a_channels_code_does_not_make_it_everyones(
        tmp_path: Path) -> None:
    # gamma.88 replaced by the user (same channel, same code): still one channel knows 88
    classifier = _with_user_file(tmp_path, '[[rules]]\nid = "user.88"\nchannel = "gamma"\n'
                                 'reason = "system.internal_error"\ncodes = ["88"]\n')
    assert classifier.classify(codes=(("code", "88"),)).reason == "unknown.no_match"
    assert classifier.decide(codes=(("code", "88"),)) is None


def test_a_channel_redeclared_without_its_flags_keeps_them(tmp_path: Path) -> None:
    classifier = _with_user_file(tmp_path, '[[channels]]\nid = "epsilon"\naliases = ["eps"]\n'
                                 '[[channels]]\nid = "delta"\naliases = ["del"]\n')
    assert classifier.classify(codes=(("code", "77"),)).evidence.rule_id == "epsilon.77"
    late = classifier.classify(channel="delta", codes=(("code", "51"),), message="timed out")
    assert late.evidence.rule_id == "msg.timeout"
    # said explicitly, a flag is switched off
    off = _with_user_file(tmp_path, '[[channels]]\nid = "delta"\nmessage_first = false\n')
    first = off.classify(channel="delta", codes=(("code", "51"),), message="timed out")
    assert first.evidence.rule_id == "delta.51"


def test_message_first_holds_for_the_channels_that_inherit_it(tmp_path: Path) -> None:
    classifier = _with_user_file(
        tmp_path, '[[channels]]\nid = "kappa"\ninherits = ["delta"]\n'
                  '[[rules]]\nid = "user.kappa.51"\nchannel = "kappa"\n'
                  'reason = "risk_control.blocked_by_risk_engine"\ncodes = ["51"]\n')
    kwargs = {"channel": "kappa", "codes": (("code", "51"),), "message": "timed out"}
    assert classifier.classify(**kwargs).evidence.rule_id == "msg.timeout"  # type: ignore[arg-type]
    decided = classifier.decide(**kwargs)  # type: ignore[arg-type]
    assert decided is not None and decided.rule.id == "msg.timeout"
    # without a message that matches, its own code comes before its parent's
    alone = classifier.classify(channel="kappa", codes=(("code", "51"),))
    assert alone.evidence.rule_id == "user.kappa.51"
