"""The JSON contract: shipped schemas, real outputs valid against them, every field documented."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from txdiag.cli.app import app
from txdiag.render.common import SCHEMA_VERSION

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "data" / "golden"
SCHEMAS = ROOT / "src" / "txdiag" / "schemas"
NAMES = ("diagnose", "summary", "check")
SUPPORTED = {
    "$schema", "$defs", "$ref", "title", "description", "type", "properties", "required",
    "additionalProperties", "items", "enum", "const", "minimum", "maximum", "format",
}


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SCHEMAS / f"{name}.schema.json").read_text("utf-8"))
    return data


def keywords(node: Any, under_properties: bool = False) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if not under_properties:
                yield key
            yield from keywords(value, key in ("properties", "$defs") and not under_properties)
    elif isinstance(node, list):
        for item in node:
            yield from keywords(item)


def property_names(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties":
                yield from value
            yield from property_names(value)
    elif isinstance(node, list):
        for item in node:
            yield from property_names(item)


@pytest.mark.parametrize("name", NAMES)
def test_schema_ships_with_the_package_and_uses_only_checked_keywords(name: str) -> None:
    from importlib import resources

    shipped = (resources.files("txdiag") / "schemas" / f"{name}.schema.json").read_text("utf-8")
    schema = json.loads(shipped)
    assert schema["$schema"].endswith("/2020-12/schema")
    assert schema["properties"]["schema_version"]["const"] == SCHEMA_VERSION
    assert schema["properties"]["command"]["const"] == name
    unsupported = set(keywords(schema)) - SUPPORTED
    assert not unsupported, f"the test checker would ignore {unsupported}"


@pytest.mark.parametrize("name", NAMES)
def test_every_schema_field_is_documented(name: str) -> None:
    docs = (ROOT / "docs" / "output.md").read_text(encoding="utf-8")
    section = re.search(rf"## `{name} --format json`(.*?)(?=\n## |\Z)", docs, re.S)
    assert section is not None, f"docs/output.md has no `{name} --format json` section"
    text = section.group(1)
    if name == "diagnose":  # the finding fields are documented in the jsonl section
        text += docs
    if name == "check":  # "totals, top_reasons, inputs: as in summary"
        summary = re.search(r"## `summary --format json`(.*?)(?=\n## )", docs, re.S)
        assert summary is not None
        text += summary.group(1)
    # A field counts as documented when its name is a word inside `code` in the section.
    words = {w for span in re.findall(r"`([^`]+)`", text) for w in re.findall(r"\w+", span)}
    missing = sorted(set(property_names(load(name))) - words)
    assert not missing, f"docs/output.md does not document {missing} for {name}"


def test_checker_finds_real_mistakes(check_schema: Callable[[Any, str], None]) -> None:
    data = json.loads((GOLDEN / "small.check.json").read_text(encoding="utf-8"))
    check_schema(data, "check")
    for break_it in (
        lambda d: d.pop("breaches"),
        lambda d: d.__setitem__("ok", "false"),
        lambda d: d["checks"][0].__setitem__("kind", "max_rates"),
        lambda d: d["totals"].__setitem__("records", -1),
        lambda d: d.__setitem__("surprise", 1),  # an undocumented field
        lambda d: d["checks"][0].__setitem__("window", {"start": "x"}),
    ):
        broken = json.loads(json.dumps(data))
        break_it(broken)
        with pytest.raises(AssertionError):
            check_schema(broken, "check")


def test_diagnose_json_matches_its_schema(check_schema: Callable[[Any, str], None],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(GOLDEN)
    result = CliRunner().invoke(app, ["diagnose", "small.jsonl", "-f", "json", "-q"],
                                catch_exceptions=False)
    data = json.loads(result.stdout)
    check_schema(data, "diagnose")
    # and each --format jsonl line is a finding of that schema
    lines = CliRunner().invoke(app, ["diagnose", "small.jsonl", "-f", "jsonl", "-q"],
                               catch_exceptions=False).stdout.splitlines()
    assert [json.loads(line) for line in lines] == data["findings"]


@pytest.mark.parametrize(("name", "golden"), [("summary", "small.summary.json"),
                                              ("check", "small.check.json")])
def test_golden_outputs_match_their_schema(name: str, golden: str,
                                           check_schema: Callable[[Any, str], None]) -> None:
    check_schema(json.loads((GOLDEN / golden).read_text(encoding="utf-8")), name)


def test_every_json_output_carries_schema_version(make_log: Callable[..., Path]) -> None:
    log = str(make_log(minutes=5))
    for args in (["diagnose", log], ["summary", log], ["check", log, "--max-rate", "system=50"],
                 ["watch", log, "--once"], ["explain", "51"]):
        result = CliRunner().invoke(app, [*args, "--format", "json"], catch_exceptions=False)
        assert json.loads(result.stdout)["schema_version"] == SCHEMA_VERSION, args
