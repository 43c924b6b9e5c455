"""``--engine spark`` and :mod:`txdiag.spark` give the answers of the local engine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import txdiag.spark
from txdiag.aggregate import Summary
from txdiag.cli.app import app
from txdiag.exitcodes import ExitCode
from txdiag.fold import SummaryFold
from txdiag.pipeline import Pipeline, RunLedger
from txdiag.render.common import Presenter, summary_dict
from txdiag.rulebook import Rulebook
from txdiag.spark import SPLIT_BYTES, diagnose, plan, summarize
from txdiag.timeline import Timeline

from .conftest import SPLIT

RULES = """[pack]
id = "team"

[[rules]]
id = "team.risk"
reason = "system.internal_error"
messages = ["风控"]
"""


def run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def both(*args: str) -> tuple[Any, Any]:
    """The command run locally and on Spark."""
    return run(*args), run(*args, "--engine", "spark", "--master", "local[2]")


def test_the_plan_reads_the_big_file_in_ranges_and_groups_small_files(
        logs: list[str], rulebook: Rulebook) -> None:
    assert txdiag.spark.SPLIT_BYTES == SPLIT < SPLIT_BYTES
    tasks = plan(Pipeline(rulebook), logs).tasks
    ranges = [task for task in tasks if task.is_range]
    assert len(ranges) > 3 and {task.paths for task in ranges} == {(logs[0],)}
    assert [task.first for task in ranges] == [True] + [False] * (len(ranges) - 1)
    assert all(a.end == b.start for a, b in zip(ranges, ranges[1:], strict=False))
    whole = [task.paths for task in tasks if not task.is_range]
    assert [name for paths in whole for name in paths] == logs[1:]  # in order, each once
    assert len(whole) < len(logs) - 1  # small files share a task
    assert (logs[1],) in whole  # the gzip file, 8 times its size, is a task of its own


@pytest.mark.parametrize("options", [
    (),
    ("--since", "2026-11-11T01:00:00Z", "--until", "2026-11-11T04:30:00Z", "--bucket", "5m"),
    ("--lang", "zh", "--no-mask", "--top", "20"),
])
def test_summary_on_spark_is_the_local_summary(logs: list[str], options: tuple[str, ...]) -> None:
    local, spark = both("summary", *logs, "-f", "json", *options)
    assert local.exit_code == spark.exit_code == 0, spark.output
    assert spark.stdout == local.stdout
    data = json.loads(spark.stdout)
    # What the equality covers: totals, categories, reasons, codes, timeline, unreadable lines
    assert data["totals"]["records"] > 3000 and data["by_category"] and data["top_codes"]
    assert data["timeline"]["buckets"]
    unreadable = data["unreadable"]
    assert unreadable["total"] == 8 and len(unreadable["by_cause"]) >= 4
    assert [(e["source"], e["line"]) for e in unreadable["examples"]][:3] == [
        (logs[0], 4), (logs[0], 901), (logs[0], 2601)]
    assert spark.stderr == local.stderr  # the unreadable lines and the read lines too


def test_summary_table_with_a_rule_file_and_a_field_map(logs: list[str], tmp_path: Path) -> None:
    rules = tmp_path / "team.toml"
    rules.write_text(RULES, encoding="utf-8")
    local, spark = both("summary", *logs, "--rules", str(rules), "--map", "channel=nothing")
    assert local.exit_code == spark.exit_code == 0, spark.output
    assert spark.stdout == local.stdout
    assert "system.internal_error" in spark.stdout


def test_strict_stops_where_the_local_run_stops(logs: list[str]) -> None:
    local, spark = both("summary", *logs, "--strict", "-f", "json")
    assert local.exit_code == spark.exit_code == ExitCode.INPUT
    assert f"{logs[0]}:4: unreadable record" in spark.stderr
    assert spark.stdout == local.stdout and spark.stderr == local.stderr


def test_diagnose_writes_the_rows_of_the_local_run(logs: list[str], tmp_path: Path) -> None:
    local = run("diagnose", *logs, "-f", "jsonl")
    assert local.exit_code == 0
    out = tmp_path / "rows"
    spark = run("diagnose", *logs, "--engine", "spark", "--output", str(out))
    assert spark.exit_code == 0, spark.output
    assert spark.stdout == ""  # never through stdout
    written = [line for part in sorted(out.glob("part-*"))
               for line in part.read_text(encoding="utf-8").splitlines()]
    expected = local.stdout.splitlines()
    assert len(written) == len(expected) > 3000
    assert sorted(written) == sorted(expected)
    assert f"wrote {len(expected):,} rows to {out}" in spark.stderr
    lines = {json.loads(row)["source"]["line"] for row in written
             if json.loads(row)["source"]["file"] == logs[0]}
    assert max(lines) > 3900  # rows of the last range name their line in the file


def test_diagnose_writes_parquet(spark: Any, logs: list[str], tmp_path: Path) -> None:
    local = run("diagnose", *logs[1:], "-f", "jsonl", "-c", "network", "-c", "system")
    out = tmp_path / "rows.parquet"
    result = run("diagnose", *logs[1:], "--engine", "spark", "--output", str(out),
                 "--output-format", "parquet", "-c", "network", "-c", "system")
    assert result.exit_code == 0, result.output
    rows = spark.read.parquet(str(out)).collect()
    expected = [txdiag.spark.flat_row(line) for line in local.stdout.splitlines()]
    assert sorted(tuple(row) for row in rows) == sorted(expected)
    assert {row["category"] for row in rows} == {"network", "system"}


def test_an_input_error_on_an_executor_is_the_local_error(logs: list[str],
                                                          tmp_path: Path) -> None:
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(Path(logs[1]).read_bytes()[:-30])
    local, spark = both("summary", logs[3], str(cut), logs[4], "-f", "json")
    assert local.exit_code == spark.exit_code == ExitCode.INPUT
    assert spark.stdout == local.stdout
    assert json.loads(spark.stdout)["stopped"] == "input error"


def test_library_summarize_files(spark: Any, logs: list[str], rulebook: Rulebook) -> None:
    pipeline = Pipeline(rulebook)
    timeline = Timeline()
    summary = summarize(spark, logs, pipeline=pipeline, timeline=timeline)
    local, local_timeline, ledger = Summary(), Timeline(), RunLedger()
    SummaryFold(Pipeline(rulebook), local, local_timeline, ledger=ledger).run(logs)
    # (a library caller learns the inputs read from a fold of its own: compare the rest)
    assert summary_dict(summary, ledger.inputs, Presenter(), timeline=timeline) == (
        summary_dict(local, ledger.inputs, Presenter(), timeline=local_timeline))


def test_library_summarize_dataframes(spark: Any, logs: list[str], rulebook: Rulebook,
                                      tmp_path: Path) -> None:
    local = summary_dict(summarize(spark, logs[0], pipeline=Pipeline(rulebook)), [],
                         Presenter())
    # JSON Lines text, as spark.read.text gives it: the same records and unreadable lines
    text = spark.read.text(logs[0]).repartition(1)
    data = summary_dict(summarize(spark, text, pipeline=Pipeline(rulebook)), [], Presenter())
    for key in ("totals", "by_category", "top_reasons", "top_codes", "by_channel"):
        assert data[key] == local[key], key
    # Spark decodes the text before txdiag sees it: invalid UTF-8 is then invalid JSON
    causes = local["unreadable"]["by_cause"]
    causes["invalid_json"] += causes.pop("bad_encoding")
    assert data["unreadable"]["by_cause"] == causes
    # Records with a column per field, as spark.read.json gives them (in several partitions)
    clean = tmp_path / "clean.jsonl"
    clean.write_text(Path(logs[3]).read_text(encoding="utf-8").replace("nope\n", ""),
                     encoding="utf-8")
    frame = spark.read.json(str(clean)).repartition(3)
    expected = summary_dict(summarize(spark, [str(clean)], pipeline=Pipeline(rulebook)), [],
                            Presenter())
    got = summary_dict(summarize(spark, frame, pipeline=Pipeline(rulebook)), [], Presenter())
    for key in ("totals", "by_category", "by_channel", "retryable"):
        assert got[key] == expected[key], key


@pytest.mark.parametrize("kind", ["records", "text"])
def test_library_diagnose_adds_the_diagnosis_columns(spark: Any, logs: list[str],
                                                     tmp_path: Path, kind: str) -> None:
    rules = tmp_path / "team.toml"
    rules.write_text(RULES, encoding="utf-8")
    # Records with a column per field (CSV: every value text, as the local reader has it), or
    # JSON Lines as text (spark.read.json would turn an object in a column that also holds
    # text into JSON text: its schema is one per column, not per record)
    name = logs[2] if kind == "records" else logs[3]
    frame = (spark.read.option("header", True).csv(name) if kind == "records"
             else spark.read.text(name))
    rows = diagnose(frame.repartition(2), rules=[rules], lang="zh").collect()
    assert rows and set(frame.columns) < set(rows[0].asDict())
    local = run("diagnose", name, "-f", "jsonl", "--rules", str(rules), "--lang", "zh")
    expected = [(want["category"], want["reason"], want["retryable"],
                 want["evidence"]["level"], want["evidence"]["rule_id"], want["hint"],
                 want["action"]) for want in map(json.loads, local.stdout.splitlines())]
    got = [tuple(row)[len(frame.columns):] for row in rows]
    assert len(got) > 20 and sorted(got) == sorted(expected)
    assert any(reason == "system.internal_error" for _, reason, *_ in got)  # the rule file
    every = diagnose(frame, failures_only=False)
    assert every.count() == frame.count() > len(rows)


def test_library_reads_what_spark_cannot_parse_as_unreadable(spark: Any,
                                                             logs: list[str]) -> None:
    frame = spark.read.json(logs[3])
    summary = summarize(spark, frame)
    assert summary.unreadable_by_cause == {"invalid_json": 1}
    assert summary.records == 150
