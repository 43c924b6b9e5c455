"""Concepts: groups of terms a message rule needs in one clause, in any order (txdiag.concepts)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from txdiag.classify import Classifier, message_key
from txdiag.concepts import TextFolding, parse_combination, term_pattern
from txdiag.errors import RulebookError
from txdiag.explain import explain
from txdiag.patterns import compile_pattern
from txdiag.rulebook import Rulebook, load_rulebook

RULES = """
[pack]
id = "t"

[char_folds]
"餘" = "余"
"額" = "额"

[[concepts]]
id = "balance"
terms = ["余额", "balance", "funds"]

[[concepts]]
id = "short"
negatable = true
terms = ["不足", "insufficient", "not enough"]

[[concepts]]
id = "bank"
terms = ["银行"]
exclude = ["银行卡"]

[[concepts]]
id = "busy"
negatable = true
terms = ["繁忙", "busy"]

[[concepts]]
id = "failed"
terms = ["失败", "failed"]

[[rules]]
id = "t.balance"
reason = "balance.insufficient_funds"
concepts = ["balance + short"]

[[rules]]
id = "t.bank_busy"
reason = "system.issuer_unavailable"
concepts = ["bank + busy"]

[[rules]]
id = "t.failed"
reason = "unknown.generic_failure"
concepts = ["failed"]
fallback = true

[[rules]]
id = "t.http"
reason = "system.internal_error"
http_status = ["500-599"]
"""


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Classifier:
    path = tmp_path_factory.mktemp("rules") / "concepts.toml"
    path.write_text(RULES, encoding="utf-8")
    taxonomy = Path(__file__).parent.parent / "src/txdiag/rulebook/data/taxonomy.toml"
    return Classifier(load_rulebook([taxonomy, path], shipped=False))


@pytest.mark.parametrize("message", [
    "余额不足",
    "账户余额不足，请充值",
    "您的余额已经不足以支付本单",         # words between
    "不足：余额",                         # the other order
    "insufficient funds",
    "Funds are not enough for this order",
    "餘額不足",                           # traditional characters, folded
    "ｉｎｓｕｆｆｉｃｉｅｎｔ ｂａｌａｎｃｅ",  # full-width letters, NFKC
    "InsufficientFunds",                 # CamelCase names read as words
])
def test_a_combination_matches_in_any_order_with_words_between(small: Classifier,
                                                                message: str) -> None:
    diagnosis = small.classify(message=message)
    assert diagnosis.reason == "balance.insufficient_funds", message
    assert diagnosis.evidence.level == "message"
    assert diagnosis.evidence.pattern == "concepts: balance + short"


@pytest.mark.parametrize("message", [
    "余额充足",                           # no predicate
    "余额正常，网络不足",                   # the two concepts in different clauses
    "balance ok. not enough memory",      # a full stop and a space end a clause
    "the balance is not insufficient",    # negated
    "余额并非不足",                         # negated (并非)
    "银行卡繁忙",                          # 银行 inside 银行卡 does not count
])
def test_what_must_not_match(small: Classifier, message: str) -> None:
    assert small.classify(message=message).reason == "unknown.no_match", message


def test_a_negation_elsewhere_does_not_undo_a_match(small: Classifier) -> None:
    diagnosis = small.classify(message="银行卡未过期，银行繁忙")
    assert diagnosis.reason == "system.issuer_unavailable"
    assert diagnosis.evidence.value == "银行 + 繁忙"


def test_the_evidence_names_the_terms_that_decided(small: Classifier) -> None:
    diagnosis = small.classify(message="您的余额已经不足以支付本单")
    assert diagnosis.evidence.value == "余额 + 不足"
    rule_test = small.all_candidates(message="您的余额已经不足以支付本单")
    assert [(c.rule.id, c.value) for c in rule_test] == [("t.balance", "余额 + 不足")]


def test_a_message_that_names_no_cause_decides_below_everything(small: Classifier) -> None:
    assert small.classify(message="交易失败").reason == "unknown.generic_failure"
    assert small.classify(message="交易失败", http_status=503).reason == "system.internal_error"
    decided = small.decide(message="交易失败", http_status=503)
    assert decided is not None and decided.rule.id == "t.http"
    decided = small.decide(message="交易失败")
    assert decided is not None and decided.level == "fallback_message"


def test_a_code_made_of_words_is_read_as_text(small: Classifier) -> None:
    diagnosis = small.classify(channel="nowhere", codes=(("code", "USER_BALANCE_NOT_ENOUGH"),))
    assert diagnosis.reason == "balance.insufficient_funds"
    assert diagnosis.evidence.level == "code_text"
    assert diagnosis.evidence.field == "code"


def test_fast_and_full_paths_agree(small: Classifier) -> None:
    for message in ("余额不足 order 1234567890", "银行繁忙", "交易失败", "nothing", "余额充足"):
        decided = small.decide(message=message)
        diagnosis = small.classify(message=message)
        assert (decided.rule.id if decided else None) == diagnosis.evidence.rule_id, message


def test_message_key_drops_what_changes_per_record() -> None:
    assert message_key("余额不足 order=2024111100001 trace=5f2a9c81e0b34d7a") == (
        "余额不足 order=00000000 trace=00000000")
    # Codes inside a text (errcode 40001, ERR_4711) and short numbers stay as they are.
    assert message_key("HTTP 504 errcode=40001 at 12:30") == "HTTP 504 errcode=40001 at 12:30"
    # Digits of other scripts are digits too (full-width, Arabic-Indic).
    assert message_key("订单１２３４５６７８失败") == "订单00000000失败"
    assert message_key("رقم ٠١٢٣٤٥٦٧٨٩") == "رقم 00000000"


_REFERENCE_VOLATILE = re.compile(
    r"\d{8,}|\b[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\b"
    r"|\b(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{16,}\b")


@given(st.text(alphabet="0123456789abcdefABCDEFgz-_ .１٣é", max_size=80))
def test_message_key_is_the_three_volatile_forms(text: str) -> None:
    # The pattern is said with a lookahead that lets the engine skip ahead: it must replace
    # exactly what the plain statement of the three forms replaces.
    assert message_key(text) == _REFERENCE_VOLATILE.sub("00000000", text)


def test_a_long_number_reads_alike_on_both_paths(rulebook: Rulebook) -> None:
    # A shipped pattern allows at most 8 characters between 连接 and 网关: an order number
    # there must not make summary (decide) and diagnose (classify) disagree.
    classifier = Classifier(rulebook)
    for message in ("连接支付123456789网关超时", "连接支付网关超时 order 12345678901234"):
        decided = classifier.decide(message=message)
        assert decided is not None
        assert decided.rule.id == classifier.classify(message=message).evidence.rule_id


@pytest.mark.parametrize(("message", "reason"), [
    ("java.lang.NullPointerException", "system.internal_error"),
    ("NoHttpResponseException", "network.connection_reset"),
    ("OutOfMemoryError", "system.internal_error"),
    ("java.net.ConnectException", "network.connection_refused"),
    ("ConnectionPoolTimeoutException", "network.connect_timeout"),
    ("InsufficientFunds", "balance.insufficient_funds"),
])
def test_exception_names_keep_their_patterns(rulebook: Rulebook, message: str,
                                             reason: str) -> None:
    # CamelCase is read as words by concepts only; patterns see the name as written.
    assert Classifier(rulebook).classify(message=message).reason == reason


@pytest.mark.parametrize(("text", "error"), [
    ("a + ", "empty part"), ("a + A", "not a concept id"), ("a + a", "twice"),
    ("a + b + c + d + e", "more than 4"),
])
def test_bad_combinations_are_refused(text: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        parse_combination(text)


def test_terms_are_literal_and_whole_words() -> None:
    pattern = compile_pattern(term_pattern("no"))
    assert pattern.search("no money") and not pattern.search("note this")
    assert compile_pattern(term_pattern("a.b (c)")).search("A.B (C)")
    assert not compile_pattern(term_pattern("a.b")).search("axb")
    spaced = compile_pattern(term_pattern("timed out"))
    assert spaced.search("ERR_CONNECTION_TIMED_OUT") and spaced.search("timed-out")


def test_folding_is_paid_only_by_texts_that_need_it() -> None:
    fold = TextFolding({"餘": "余"})
    plain = "余额不足，请稍后再试"
    assert fold(plain) is plain
    assert fold("餘額") == "余額"
    assert fold("ＡＢＣ１２") == "ABC12"
    dash = TextFolding({"-": "x", "額": "额"})
    assert dash("余-額") == "余x额"
    assert dash(plain) is plain  # (a "-" key must not turn into a character range)


def test_rule_files_with_too_much_for_re2_are_refused_by_validate(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from txdiag.cli.app import app  # (the command, as a user runs it)

    terms = ", ".join(f'"w{i:05d}xq{i * 7}"' for i in range(1000))
    body = "".join(f'[[concepts]]\nid = "c{k}"\nterms = [{terms}]\n'
                   f'[[rules]]\nid = "r{k}"\nreason = "system.busy"\nconcepts = ["c{k}"]\n'
                   for k in range(80))
    path = tmp_path / "big.toml"
    path.write_text('[pack]\nid = "big"\n' + body, encoding="utf-8")
    result = CliRunner().invoke(app, ["rules", "validate", str(path)])
    assert result.exit_code == 2
    assert "need more memory than RE2 allows" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("body", "error"), [
    ('[[concepts]]\nid = "x"\nterms = []\n', "at least one term"),
    ('[[concepts]]\nid = "x"\nterms = [" "]\n', "a term is blank"),
    ('[[concepts]]\nid = "x"\nterms = ["a"]\nexclude = [" "]\n', "'exclude': a term is blank"),
    ('[[concepts]]\nid = "x"\nterms = ["a,b"]\n', "could never match"),
    ('[[concepts]]\nid = "x"\nterms = ["a\\u001b[31m"]\n', "could never match"),
    ('[[concepts]]\nid = "x"\nterms = ["a"]\n[[concepts]]\nid = "x"\nterms = ["b"]\n',
     "defined twice"),
    ('[[rules]]\nid = "r"\nreason = "system.busy"\nconcepts = ["nope"]\n', "unknown concept"),
    ('[char_folds]\n"ab" = "c"\n', "one character"),
    ('[[rules]]\nid = "r"\nreason = "system.busy"\nhttp_status = ["500"]\nfallback = true\n',
     "fallback applies only"),
])
def test_rule_files_with_bad_concepts_are_refused(tmp_path: Path, body: str, error: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[pack]\nid = "bad"\n\n' + body, encoding="utf-8")
    with pytest.raises(RulebookError, match=error):
        load_rulebook([path])


def test_a_user_concept_replaces_the_shipped_one(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text('[pack]\nid = "mine"\n\n[[concepts]]\nid = "blacklist"\n'
                    'terms = ["禁止名单甲"]\n', encoding="utf-8")
    classifier = Classifier(load_rulebook([path]))
    assert classifier.classify(message="已列入禁止名单甲").reason == (
        "risk_control.blocked_by_risk_engine")
    assert classifier.classify(message="已列入黑名单").reason != (
        "risk_control.blocked_by_risk_engine")


def test_the_snapshot_keeps_concepts_and_folds(rulebook: Rulebook) -> None:
    again = Rulebook.from_snapshot(rulebook.snapshot())
    assert again.concepts == rulebook.concepts
    assert again.char_folds == rulebook.char_folds
    assert [r.concepts for r in again.rules] == [r.concepts for r in rulebook.rules]


# -- the shipped rulebook on the wording the accuracy issue names ---------------------------------

@pytest.mark.parametrize(("message", "reason"), [
    ("银行预留手机号与输入不一致", "card_binding.reserved_phone_mismatch"),
    ("手机号与银行卡预留不符", "card_binding.reserved_phone_mismatch"),
    ("您的网络好像不太给力，请稍后再试", "network.connection_reset"),
    ("该银行卡已被列入黑名单", "risk_control.blocked_by_risk_engine"),
    ("持卡人身份信息校验不通过", "card_binding.identity_mismatch"),
    ("餘額不足", "balance.insufficient_funds"),
    ("net::ERR_CONNECTION_TIMED_OUT", "network.connect_timeout"),
    ("账户可用金额不足", "balance.insufficient_funds"),
    ("手机号格式错误", "unknown.invalid_request"),          # the request, not the bank's record
    ("短信验证码发送失败", "system.downstream_unavailable"),  # the SMS gateway, not the customer
])
def test_everyday_wording(rulebook: Rulebook, message: str, reason: str) -> None:
    assert Classifier(rulebook).classify(message=message).reason == reason


def test_a_code_of_an_unknown_channel_does_not_beat_the_message(rulebook: Rulebook) -> None:
    classifier = Classifier(rulebook)
    diagnosis = classifier.classify(channel="xpay", codes=(("error_code", "2009"),),
                                    message="订单处理中，请稍后查询")
    assert diagnosis.reason == "unknown.pending"
    assert diagnosis.retryable.value == "query_first"
    # A number only one channel's table knows decides nothing for another channel...
    alone = classifier.classify(channel="xpay", codes=(("error_code", "2009"),))
    assert alone.reason == "unknown.no_match"
    # ... while a name known to one channel still does, and says it was inferred.
    named = classifier.classify(codes=(("code", "NOTENOUGH"),))
    assert (named.reason, named.evidence.level) == ("balance.insufficient_funds",
                                                    "inferred_code")


def test_explain_lists_a_codes_meanings_per_channel(rulebook: Rulebook) -> None:
    classifier = Classifier(rulebook)
    answer = explain(classifier, "05")
    assert answer.diagnosis.reason == "unknown.no_match"
    channels = {m.channel: m.diagnosis.reason for m in answer.meanings}
    assert channels["iso8583"] == "risk_control.issuer_declined"
    assert len(set(channels.values())) > 1
    one = explain(classifier, "05", "iso8583")
    assert one.meanings == () and one.diagnosis.reason == "risk_control.issuer_declined"
    agreed = explain(classifier, "51")
    assert agreed.meanings == ()
    assert (agreed.diagnosis.reason, agreed.diagnosis.evidence.level) == (
        "balance.insufficient_funds", "inferred_code")


def test_the_fast_path_decides_as_the_full_one_on_every_corpus_row(rulebook: Rulebook) -> None:
    from txdiag.accuracy import read_corpus

    corpus = sorted((Path(__file__).parent / "data" / "corpus").glob("*.csv"))
    classifier = Classifier(rulebook)
    checked = 0
    for row in read_corpus(corpus):
        channel = rulebook.canonical_channel(row.channel) if row.channel else None
        kwargs = {"channel": channel, "codes": (("code", row.code),) if row.code else (),
                  "message": row.message or None, "http_status": row.http_status}
        decided = classifier.decide(**kwargs)  # type: ignore[arg-type]
        diagnosis = classifier.classify(**kwargs)  # type: ignore[arg-type]
        assert (decided.rule.id if decided else None) == diagnosis.evidence.rule_id, row.where
        assert (decided.level if decided else "none") == diagnosis.evidence.level, row.where
        checked += 1
    assert checked >= 1500
