"""Start-up: ``txdiag explain`` loads only what a lookup needs, and decides as ``classify``.

No timings here (benchmarks/bench.py has them): what is checked is what gets imported.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from txdiag.classify import Classifier
from txdiag.errors import RulebookError
from txdiag.explain import explain
from txdiag.render.present import Presenter, diagnosis_dict
from txdiag.rulebook import Rulebook, cache, load_rulebook, read_rule_file, shipped_files

CORPUS = Path(__file__).resolve().parents[1] / "data" / "accuracy_corpus.csv"

# What a lookup must not load: pydantic at all (typer 0.29 and later import it: the pin in
# pyproject.toml), the models of records, diagnoses, rule files and the config file, the
# record pipeline, and the HTTP client.
HEAVY = ("pydantic", "httpx", "msgspec", "txdiag.models", "txdiag.config", "txdiag.rulebook.model",
         "txdiag.pipeline", "txdiag.normalize", "txdiag.aggregate", "txdiag.timeline",
         "txdiag.http.client", "txdiag.render.common", "txdiag.render.table")


def loaded_by(*args: str, tmp_path: Path) -> dict[str, object]:
    """Run ``txdiag ARGS`` in a fresh interpreter; which modules it had loaded at the end."""
    script = (
        "import json, sys\n"
        "from txdiag.cli.app import main\n"
        "try:\n"
        f"    main({list(args)!r})\n"
        "except SystemExit as exc:\n"
        "    code = exc.code\n"
        "sys.stdout.flush()\n"
        "print(json.dumps({'code': code, 'modules': sorted(sys.modules)}), file=sys.stderr)\n"
    )
    env = {"TXDIAG_CACHE_DIR": str(tmp_path / "cache"), "XDG_CONFIG_HOME": str(tmp_path),
           "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          env=env, timeout=120, check=False)
    report = json.loads(done.stderr.strip().splitlines()[-1])
    report["stdout"] = done.stdout
    return report


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_explain_loads_no_heavy_module(tmp_path: Path, fmt: str) -> None:
    for attempt in ("first run: the rulebook snapshot is made", "then read back"):
        report = loaded_by("explain", "51", "--format", fmt, tmp_path=tmp_path)
        assert report["code"] == 0, attempt
        assert "balance.insufficient_funds" in str(report["stdout"])
        modules = set(report["modules"])  # type: ignore[arg-type]
        if attempt == "then read back":
            assert not modules & set(HEAVY)
        assert ("rich" in modules) is (fmt == "table")
    assert list((tmp_path / "cache").glob("rulebook-*.json"))


def test_version_loads_no_command(tmp_path: Path) -> None:
    modules = set(loaded_by("--version", tmp_path=tmp_path)["modules"])  # type: ignore[arg-type]
    assert "typer" not in modules
    assert not any(m.startswith("txdiag.cli.commands") for m in modules)


def test_snapshot_gives_back_the_rulebook(rulebook: Rulebook) -> None:
    validated = Rulebook(shipped_files())
    again = Rulebook.from_snapshot(json.loads(json.dumps(validated.snapshot())))
    assert again.rules == validated.rules
    assert [r.id for r in again.rules] == [r.id for r in validated.rules]
    assert list(again.reasons.items()) == list(validated.reasons.items())
    assert list(again.channels.items()) == list(validated.channels.items())
    assert again.status_words() == validated.status_words()
    assert again.global_success_codes() == validated.global_success_codes()
    assert again.files == validated.files
    for rule in validated.rules:
        assert again.definition(again.rule(rule.id)) == rule.definition  # type: ignore[arg-type]
    # load_rulebook() is the snapshot's
    assert rulebook.rules == validated.rules


def _queries() -> list[tuple[str, str | None]]:
    rows = CORPUS.read_text("utf-8").splitlines()[1:]
    found: list[tuple[str, str | None]] = []
    for row in rows:
        cells = row.split(",")
        found.extend((cell, None) for cell in cells[:3] if cell)
    found += [("51", "iso8583"), ("51", "alipay"), ("ACQ.SYSTEM_ERROR", "alipay"), ("", None),
              ("  ", None), ("no such thing", "wechatpay"), ("\x1b[31m51", None),
              ("NOT_ENOUGH", "wechatpay"), ("4111111111111111", None)]
    return found


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_explain_query_decides_as_classify(rulebook: Rulebook, lang: str) -> None:
    classifier = Classifier(rulebook)
    presenter = Presenter(lang=lang)  # type: ignore[arg-type]
    queries = _queries()
    assert len(queries) > 300
    for query, channel in queries:
        text = query.strip()
        diagnosis = classifier.classify(
            channel=channel,
            codes=(("query", text),) if text and not any(c.isspace() for c in text) else (),
            message=text or None,
        )
        explanation = explain(classifier, query, channel).diagnosis
        assert diagnosis_dict(explanation, presenter) == diagnosis_dict(diagnosis, presenter)
        assert explanation.title == diagnosis.title


@pytest.mark.parametrize("damage", ['{"format": 1, "reasons": []}', "{not json", '[1, 2]'])
def test_a_damaged_snapshot_is_made_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          damage: str) -> None:
    monkeypatch.setenv("TXDIAG_CACHE_DIR", str(tmp_path))
    cache.read_snapshot.cache_clear()
    try:
        first = load_rulebook()
        [snapshot] = tmp_path.glob("rulebook-*.json")
        snapshot.write_text(damage, encoding="utf-8")
        cache.read_snapshot.cache_clear()
        again = load_rulebook()
        assert again.rules == first.rules
        assert json.loads(snapshot.read_text("utf-8"))["rules"]
    finally:
        cache.read_snapshot.cache_clear()


_REASON = """[pack]
id = "x"
[[reasons]]
id = "{id}"
title = {{ en = "t", zh = "t"{more} }}
description = {{ en = "d", zh = "d" }}
retryable = "yes"
hint = {{ en = "h", zh = "h" }}
action = {{ en = "a", zh = "a" }}
{extra}
"""


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (_REASON.format(id="Bad Id", more="", extra=""),
         "reason 'Bad Id' field 'id': String should match pattern"),
        (_REASON.format(id="foo.bar", more="", extra=""),
         "reason 'foo.bar' field 'id': category 'foo' is not one of balance"),
        (_REASON.format(id="balance.ok", more=', fr = "x"', extra=""),
         "reason 'balance.ok' field 'title.fr': unknown field (check the spelling)"),
        (_REASON.format(id="balance.ok", more="", extra='colour = "red"'),
         "reason 'balance.ok' field 'colour': unknown field (check the spelling)"),
        ('[pack]\nid = "x"\n[[channels]]\nid = "Bad Chan"\n',
         "channel 'Bad Chan' field 'id': String should match pattern"),
        ('[pack]\nid = "x"\n[[channels]]\nid = "ok"\nshade = 1\n',
         "channel 'ok' field 'shade': unknown field (check the spelling)"),
        ('[pack]\nid = "x"\n[[channels]]\ntitle = "no id"\n',
         "channel #1 field 'id': Field required"),
    ],
)
def test_reasons_and_channels_are_checked_as_before(tmp_path: Path, body: str,
                                                    expected: str) -> None:
    # Plain dataclasses now, validated by pydantic inside a rule file with the same messages.
    path = tmp_path / "bad.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(RulebookError) as raised:
        read_rule_file(path)
    assert expected in raised.value.message


def test_summary_builds_no_pydantic_record_model(tmp_path: Path) -> None:
    # The summary folds records without Record, Diagnosis or Finding models (issue 7):
    # importing them alone costs about a tenth of a second.
    log = tmp_path / "log.jsonl"
    log.write_text('{"channel":"iso8583","status":"failed","resp_code":"51"}\n'
                   '{"channel":"alipay","status":"success"}\n', encoding="utf-8")
    report = loaded_by("summary", str(log), "--format", "json", tmp_path=tmp_path)
    assert report["code"] == 0
    assert '"failures": 1' in str(report["stdout"])
    assert "txdiag.models" not in set(report["modules"])  # type: ignore[arg-type]


def test_only_the_shipped_rulebook_has_a_snapshot(tmp_path: Path) -> None:
    # A snapshot keeps no rule file: one of a rulebook with user rules would give back the
    # shipped definitions for `rules export`. It is refused instead.
    user = tmp_path / "mine.toml"
    user.write_text('[pack]\nid = "mine"\ntitle = "Mine"\n\n[[rules]]\nid = "mine.one"\n'
                    'reason = "system.busy"\ncodes = ["X1"]\n', encoding="utf-8")
    with pytest.raises(ValueError, match="shipped rulebook"):
        load_rulebook([user]).snapshot()


def test_only_report_loads_matplotlib_and_jinja2(tmp_path: Path) -> None:
    # The report's libraries load with `txdiag report` alone: not with `import txdiag`, not
    # with the other commands, nor when the report is written as Markdown. The page's charts
    # are drawn by a worker process (txdiag.report.painter), where matplotlib loads.
    log = tmp_path / "log.jsonl"
    log.write_text('{"ts":"2026-11-11T00:00:00Z","channel":"iso8583","status":"failed",'
                   '"resp_code":"51"}\n', encoding="utf-8")
    heavy = {"matplotlib", "jinja2"}
    for args in (("summary", str(log)), ("diagnose", str(log)), ("explain", "51"),
                 ("report", str(log), "--format", "markdown")):
        report = loaded_by(*args, tmp_path=tmp_path)
        assert report["code"] == 0, args
        assert not heavy & set(report["modules"]), args  # type: ignore[arg-type]
    page = tmp_path / "r.html"
    report = loaded_by("report", str(log), "-o", str(page), tmp_path=tmp_path)
    assert report["code"] == 0
    assert "jinja2" in set(report["modules"])  # type: ignore[arg-type]
    html = page.read_text("utf-8")
    assert html.startswith("<!DOCTYPE html>") and html.count("<svg") == 2
    done = subprocess.run([sys.executable, "-c", "import sys, txdiag, txdiag.report; "
                           "print(sorted(set(sys.modules) & {'matplotlib', 'jinja2'}))"],
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
