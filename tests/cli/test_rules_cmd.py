"""``txdiag rules``: list, show, test, validate, export, suggest; and user rule files."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from txdiag.cli.app import app
from txdiag.exitcodes import ExitCode
from txdiag.rulebook import Rule, load_rulebook
from txdiag.rulebook.tools import dumps_rulebook, export_rulebook, template_pattern

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "transactions.jsonl"


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def comparable(rule: Rule) -> dict[str, object]:
    data = dataclasses.asdict(rule)
    for key in ("origin", "user", "pack", "definition"):
        data.pop(key)
    return data


def test_an_unknown_channel_is_warned_about_with_close_names() -> None:
    runner = CliRunner()
    typo = runner.invoke(app, ["rules", "test", "51", "--channel", "isso8583"])
    assert typo.exit_code == 0
    assert "unknown channel 'isso8583'" in typo.stderr and "did you mean iso8583?" in typo.stderr
    other = runner.invoke(app, ["rules", "list", "--channel", "zzqx", "-f", "json"])
    assert "known channels: " in other.stderr and "wechatpay" in other.stderr
    known = runner.invoke(app, ["rules", "list", "--channel", "WeChatPay", "-f", "json"])
    assert "unknown channel" not in known.stderr


def test_list_filters_by_category_and_channel() -> None:
    rows = json.loads(run("rules", "list", "-c", "network", "-f", "json").stdout)["rules"]
    assert rows and {r["category"] for r in rows} == {"network"}
    rows = json.loads(run("rules", "list", "--channel", "weixin", "-f", "json").stdout)["rules"]
    assert {r["channel"] for r in rows} <= {"wechatpay", None}
    assert any(r["channel"] == "wechatpay" for r in rows)


def test_show_and_unknown_rule() -> None:
    result = run("rules", "show", "iso8583.51")
    assert "balance.insufficient_funds" in result.stdout and "余额不足" in result.stdout
    missing = run("rules", "show", "iso8583.5")
    assert missing.exit_code == ExitCode.USAGE
    assert "did you mean" in missing.stderr


def test_test_lists_every_match_and_the_winner() -> None:
    data = json.loads(run("rules", "test", "--code", "40004", "--channel", "alipay",
                          "--message", "买家余额不足", "-f", "json").stdout)
    ids = [m["rule_id"] for m in data["matches"]]
    assert ids[0] == "generic.insufficient_funds" and data["matches"][0]["wins"]
    assert "alipay.40004" in ids  # the generic code is kept, ranked last
    assert data["matches"][-1]["level"] == "fallback_code"
    assert "wins at precedence level" in data["why"]


def test_test_winner_equals_classification(rulebook: object) -> None:
    from txdiag.classify import Classifier

    classifier = Classifier(load_rulebook())
    for kwargs in ({"channel": "wechatpay", "codes": (("err_code", "SYSTEMERROR"),)},
                   {"message": "风控系统超时"}, {"http_status": 503}, {"latency_ms": 45000.0},
                   {"codes": (("code", "51"),), "message": "timed out"}):
        candidates = classifier.all_candidates(**kwargs)  # type: ignore[arg-type]
        assert candidates[0].rule.id == classifier.classify(**kwargs).evidence.rule_id  # type: ignore[arg-type]


def test_test_needs_something() -> None:
    assert run("rules", "test").exit_code == ExitCode.USAGE


def test_export_then_load_gives_back_the_same_rulebook(tmp_path: Path) -> None:
    original = load_rulebook()
    path = tmp_path / "all.toml"
    result = run("rules", "export", "-o", str(path))
    assert result.exit_code == 0
    again = load_rulebook([path], shipped=False)
    assert [comparable(r) for r in again.rules] == [comparable(r) for r in original.rules]
    assert again.reasons == original.reasons
    assert again.status_words() == original.status_words()
    assert again.global_success_codes() == original.global_success_codes()
    assert again.channels == original.channels


def test_channel_export_loads_alone(tmp_path: Path) -> None:
    path = tmp_path / "stripe.toml"
    path.write_text(dumps_rulebook(export_rulebook(load_rulebook(), channel="stripe")),
                    encoding="utf-8")
    rulebook = load_rulebook([path], shipped=False)
    assert {r.channel for r in rulebook.rules} == {"stripe", "card"}


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_user_rule_overrides_by_id_and_by_channel_code(tmp_path: Path) -> None:
    rules = write(tmp_path / "team.toml", """
[pack]
id = "team"

[[rules]]
id = "iso8583.05"
channel = "iso8583"
reason = "risk_control.suspected_fraud"
codes = ["05"]

[[rules]]
id = "team.51"
channel = "iso8583"
reason = "system.internal_error"
codes = ["51"]
""")
    out = json.loads(run("explain", "05", "--channel", "iso8583", "--rules", str(rules),
                         "-f", "json").stdout)
    assert out["reason"] == "risk_control.suspected_fraud"
    out = json.loads(run("explain", "51", "--channel", "iso8583", "--rules", str(rules),
                         "-f", "json").stdout)
    assert (out["reason"], out["evidence"]["rule_id"]) == ("system.internal_error", "team.51")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('[pack]\nid = "x"\n[[rules]]\nid = "x.1"\nreason = "nope.nope"\ncodes = ["1"]\n',
         "rule 'x.1' field 'reason'"),
        ('[pack]\nid = "x"\n[[rules]]\nid = "x.1"\nreason = "balance.insufficient_funds"\n'
         'messages = ["(?=a)b"]\n', "rule 'x.1' field 'messages'"),
        ('[pack]\nid = "x"\n[[rules]]\nid = "x.1"\nreason = "balance.insufficient_funds"\n'
         'codes = ["1"]\ncolour = "red"\n', "rule 'x.1' field 'colour': unknown field"),
        ('[pack]\nid = "x"\n[[rules]]\nid = "x.1"\n', "rule 'x.1' field 'reason'"),
        ("[pack\n", "not valid TOML"),
    ],
)
def test_validate_names_file_rule_and_field(tmp_path: Path, body: str, expected: str) -> None:
    path = write(tmp_path / "bad.toml", body)
    result = run("rules", "validate", str(path))
    assert result.exit_code == ExitCode.USAGE
    assert expected in result.stderr
    assert str(path) in result.stderr
    assert result.stderr.count("error:") == 1
    # the same file given to a diagnosing command fails the same way
    assert run("summary", str(EXAMPLE), "--rules", str(path)).exit_code == ExitCode.USAGE


def test_rules_files_from_config(tmp_path: Path) -> None:
    write(tmp_path / "team.toml", """
[pack]
id = "team"
[[rules]]
id = "team.erri"
reason = "system.internal_error"
messages = ['ERR_4711']
""")
    config = write(tmp_path / "config.toml", 'rules_files = ["team.toml"]\n')
    data = json.loads(run("explain", "ERR_4711 unexpected state", "--config", str(config),
                          "-f", "json").stdout)
    assert data["evidence"]["rule_id"] == "team.erri"


def test_suggest_writes_a_draft_that_validates_once_filled(tmp_path: Path) -> None:
    draft = tmp_path / "draft.toml"
    result = run("rules", "suggest", str(EXAMPLE), "--min-count", "2", "-o", str(draft))
    assert result.exit_code == 0
    text = draft.read_text(encoding="utf-8")
    assert "ERR_4711" in text and "FILL_IN" in text
    assert run("rules", "validate", str(draft)).exit_code == ExitCode.USAGE
    draft.write_text(text.replace("FILL_IN.reason", "system.internal_error"), encoding="utf-8")
    assert run("rules", "validate", str(draft)).exit_code == 0
    before = json.loads(run("summary", str(EXAMPLE), "-f", "json", "-q").stdout)
    after = json.loads(run("summary", str(EXAMPLE), "-f", "json", "-q", "--rules",
                           str(draft)).stdout)
    assert after["by_category"]["unknown"] < before["by_category"]["unknown"]


def test_template_pattern_escapes_and_matches() -> None:
    from txdiag.patterns import compile_pattern

    pattern = template_pattern("ERR_4711 order <id> failed (x) at <num> CNY")
    compiled = compile_pattern(pattern)
    assert compiled.search("ERR_4711 order T20261111000123 failed (x) at 12.50 CNY")
    assert not compiled.search("ERR_4712 order T1 failed (x) at 1 CNY")


def test_suggest_shows_log_text_with_control_characters_visible(tmp_path: Path) -> None:
    # A message carrying CR, BEL and a bidi override: the draft's comment lines must neither
    # drive the terminal nor stop being TOML.
    log = tmp_path / "log.jsonl"
    message = "vault said no\r\u202e\u0007 again"
    log.write_text("".join(json.dumps({"channel": "baitiao", "status": "failed",
                                       "err_msg": message}) + "\n" for _ in range(3)),
                   encoding="utf-8")
    result = run("rules", "suggest", str(log), "--min-count", "2")
    assert result.exit_code == 0
    assert not {"\r", "\u202e", "\u0007"} & set(result.stdout)
    import tomllib

    rules = tomllib.loads(result.stdout)["rules"]
    assert len(rules) == 1


def test_suggest_drafts_concepts_from_known_and_frequent_terms(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    lines = [{"channel": "baitiao", "status": "failed",
              "err_msg": f"银行卡 widget sprocket misaligned {n}"} for n in range(12345, 12349)]
    lines += [{"channel": "baitiao", "status": "failed", "err_msg": f"对账差异 {n}"}
              for n in range(3)]
    log.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    draft = tmp_path / "draft.toml"
    assert run("rules", "suggest", str(log), "--min-count", "2", "-o", str(draft)).exit_code == 0
    import tomllib

    data = tomllib.loads(draft.read_text(encoding="utf-8"))
    (concept,) = data["concepts"]
    assert concept["terms"][:3] == ["misaligned", "sprocket", "widget"]
    assert "对账差异" in concept["terms"]
    by_template = {tuple(r.get("concepts") or r.get("messages")): r for r in data["rules"]}
    assert ("card + draft_terms",) in by_template
    filled = draft.read_text(encoding="utf-8").replace("FILL_IN.reason", "system.internal_error")
    draft.write_text(filled, encoding="utf-8")
    assert run("rules", "validate", str(draft)).exit_code == 0
    after = json.loads(run("summary", str(log), "-f", "json", "-q", "--rules",
                           str(draft)).stdout)
    assert after["by_category"]["unknown"] == 0


def test_concepts_lists_terms_and_the_rules_that_use_them() -> None:
    table = run("rules", "concepts").stdout
    assert "reserved_phone: the phone number registered with the bank" in table
    assert "concepts.reserved_phone_mismatch" in table
    data = json.loads(run("rules", "concepts", "-f", "json").stdout)["concepts"]
    mismatch = next(c for c in data if c["id"] == "mismatch")
    assert mismatch["negatable"] and "不一致" in mismatch["terms"]
    assert "concepts.identity_mismatch" in mismatch["rules"]
    assert run("rules", "concepts", "-f", "markdown").stdout.startswith("| concept | title |")


CORPUS_HEADER = ("channel,code,message,http_status,expected_category,expected_reason,accepted,"
                 "lang,source\n")


def test_accuracy_on_a_small_corpus(tmp_path: Path) -> None:
    corpus = tmp_path / "c.csv"
    corpus.write_text(CORPUS_HEADER
                      + ",,余额不足,,balance,balance.insufficient_funds,,zh,a\n"
                      + ",,Read timed out,,network,network.read_timeout,,en,b\n"
                      + ",,余额不足,,network,network.read_timeout,,zh,c\n"
                      + ",4111111111111111,flux capacitor 13812345678,,system,system.busy,,en,d\n",
                      encoding="utf-8")
    data = json.loads(run("rules", "accuracy", str(corpus), "--show", "9", "-f", "json").stdout)
    assert data["rows"] == 4 and data["accuracy"] == 0.5
    assert data["confidently_wrong"] == 0.25 and data["unknown_faults"] == 0.25
    outcomes = {m["outcome"] for m in data["misses"]}
    assert outcomes == {"wrong", "unknown"}
    # "nothing matched" is not a claim of the unknown category: its precision stays whole
    assert data["categories"]["unknown"]["precision"] == 1.0
    assert data["categories"]["balance"]["precision"] == 0.5
    text = json.dumps(data)
    assert "4111111111111111" not in text and "13812345678" not in text
    csv_rows = run("rules", "accuracy", str(corpus), "--show", "9", "-f", "csv").stdout
    assert "figure,accuracy,0.5," in csv_rows and "4111111111111111" not in csv_rows
    assert "| accuracy | 0.5 |" in run("rules", "accuracy", str(corpus), "-f", "markdown").stdout


@pytest.mark.parametrize(("content", "error"), [
    ("a,b\n1,2\n", "missing columns"),
    (CORPUS_HEADER + ",,x,²,system,system.busy,,en,s\n", "c.csv:2: http_status"),
    (CORPUS_HEADER + ",,x,,system,,,en,s\n", "needs expected_reason and source"),
])
def test_accuracy_refuses_a_bad_corpus_naming_the_line(tmp_path: Path, content: str,
                                                       error: str) -> None:
    corpus = tmp_path / "c.csv"
    corpus.write_text(content, encoding="utf-8")
    result = run("rules", "accuracy", str(corpus))
    assert result.exit_code == ExitCode.INPUT
    assert error in result.output


def test_accuracy_reads_long_fields_and_refuses_other_encodings(tmp_path: Path) -> None:
    corpus = tmp_path / "c.csv"
    corpus.write_text(CORPUS_HEADER + ",," + "余额不足" * 50_000
                      + ",,balance,balance.insufficient_funds,,zh,s\n", encoding="utf-8")
    assert json.loads(run("rules", "accuracy", str(corpus), "-f", "json").stdout)["rows"] == 1
    corpus.write_bytes((CORPUS_HEADER + ",,余额不足,,balance,balance.insufficient_funds,,zh,s\n"
                        ).encode("gb18030"))
    result = run("rules", "accuracy", str(corpus))
    assert result.exit_code == ExitCode.INPUT and "not UTF-8" in result.output


def test_suggest_groups_what_record_by_record_grouping_gives(tmp_path: Path) -> None:
    # `rules suggest` reads through the fold (the summary's template groups): the drafts are
    # those of grouping every unexplained failure one by one, with and without a channel or
    # a code, on the corpus's real messages.
    import csv

    from txdiag.mining import TemplateMiner
    from txdiag.pipeline import Observation, Pipeline
    from txdiag.rulebook import NO_MATCH_REASON
    from txdiag.rulebook.tools import suggest_rules, suggestions_from

    log = tmp_path / "corpus.jsonl"
    with log.open("w", encoding="utf-8") as out:
        for index, row in enumerate(csv.DictReader(
                (ROOT / "tests" / "data" / "corpus" / "zh_wallets_aggregators.csv").open(
                    encoding="utf-8"))):
            record = {"txn_id": f"T{index}", "status": "failed"}
            if row["channel"] and index % 4:
                record["channel"] = row["channel"]
            if row["code"] and index % 3:
                record["code"] = row["code"]
            if row["message"]:
                record["msg"] = row["message"]
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    rulebook = load_rulebook()
    miner = TemplateMiner()
    for event in Pipeline(rulebook).run([str(log)]):
        if isinstance(event, Observation) and event.diagnosis is not None and (
                event.diagnosis.reason == NO_MATCH_REASON):
            miner.add(event.fields.channel, event.fields.error_code, event.fields.message)
    expected = suggest_rules(suggestions_from(miner.top(50), 1), rulebook)
    assert "channel = " in expected and expected.count("[[rules]]") > 5
    result = run("rules", "suggest", str(log), "--min-count", "1")
    assert result.exit_code == 0
    assert result.stdout == expected
