"""Helpers for the runbook tests: synthetic logs with known shapes, and a small schema checker.

Exposed as fixtures (the suite imports test modules with ``--import-mode=importlib``, so test
modules cannot import each other).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

START = datetime(2026, 11, 11, 0, 0, tzinfo=UTC)

# One iso8583 response code per category (checked against the shipped rulebook in a test).
CODES = {
    "balance": ("51", "balance.insufficient_funds"),
    "network": ("68", "network.gateway_timeout"),
    "card_binding": ("14", "card_binding.invalid_card_number"),
    "risk_control": ("59", "risk_control.suspected_fraud"),
    "system": ("96", "system.bank_error"),
}


def record(when: datetime | None, index: int, category: str | None) -> dict[str, Any]:
    """A success (category None) or a failure that the shipped rules put in ``category``."""
    data: dict[str, Any] = {"txn_id": f"T{index:08d}", "channel": "iso8583"}
    if when is not None:
        data["ts"] = when.isoformat().replace("+00:00", "Z")
    if category is None:
        data.update(status="success", resp_code="00")
    else:
        data.update(status="failed", resp_code=CODES[category][0])
    return data


def generate(
    *,
    minutes: int = 60,
    per_minute: int = 50,
    rates: Mapping[str, float] | None = None,
    spike: tuple[int, int, str, float] | None = None,
    seed: int = 7,
    start: datetime = START,
) -> Iterator[tuple[datetime, str | None]]:
    """``(time, category or None)`` per record, minute by minute, in time order.

    ``rates`` are per-category failure probabilities; ``spike = (first_minute, last_minute,
    category, rate)`` raises one category's rate over those minutes (inclusive).
    """
    rng = random.Random(seed)
    base = dict(rates or {"balance": 0.08, "network": 0.03, "system": 0.02})
    for minute in range(minutes):
        current = dict(base)
        if spike is not None and spike[0] <= minute <= spike[1]:
            current[spike[2]] = spike[3]
        for n in range(per_minute):
            when = start + timedelta(minutes=minute, seconds=60 * n / per_minute)
            roll = rng.random()
            category = None
            for name, rate in current.items():
                if roll < rate:
                    category = name
                    break
                roll -= rate
            yield when, category


def write_log(path: Path, rows: Sequence[tuple[datetime | None, str | None]]) -> Path:
    with path.open("w", encoding="utf-8") as out:
        for index, (when, category) in enumerate(rows):
            out.write(json.dumps(record(when, index, category)) + "\n")
    return path


@pytest.fixture
def make_log(tmp_path: Path) -> Callable[..., Path]:
    """``make_log(name, rows)`` or ``make_log(name, **generate_kwargs)``: a JSONL file."""

    def make(name: str = "app.jsonl", rows: Sequence[tuple[datetime | None, str | None]]
             | None = None, **kwargs: Any) -> Path:
        return write_log(tmp_path / name, rows if rows is not None else list(generate(**kwargs)))

    return make


# -- a JSON Schema checker for the keywords the shipped schemas use ---------------------------

SUPPORTED = {
    "$schema", "$defs", "$ref", "title", "description", "type", "properties", "required",
    "additionalProperties", "items", "enum", "const", "minimum", "maximum", "format",
}
_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def schema_errors(instance: Any, schema: Mapping[str, Any], root: Mapping[str, Any] | None = None,
                  path: str = "$", *, strict: bool = True) -> list[str]:
    """What is wrong with ``instance``. ``strict``: a key the schema does not declare is wrong
    too (the shipped schemas leave objects open, as fields may be added; the tests do not)."""
    root = root if root is not None else schema
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/$defs/")
        return schema_errors(instance, root["$defs"][name], root, path, strict=strict)
    errors: list[str] = []
    kinds = schema.get("type")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        if not any(_TYPES[k](instance) for k in kinds):
            return [f"{path}: {instance!r} is not {' or '.join(kinds)}"]
    if "const" in schema and instance != schema["const"]:
        errors.append(f"{path}: {instance!r} is not {schema['const']!r}")
    if "enum" in schema and instance not in schema["enum"]:
        errors.append(f"{path}: {instance!r} is not one of {schema['enum']}")
    if _TYPES["number"](instance):
        if "minimum" in schema and instance < schema["minimum"]:
            errors.append(f"{path}: {instance} < {schema['minimum']}")
        if "maximum" in schema and instance > schema["maximum"]:
            errors.append(f"{path}: {instance} > {schema['maximum']}")
    if isinstance(instance, dict):
        properties = schema.get("properties", {})
        errors += [f"{path}: missing {key!r}" for key in schema.get("required", [])
                   if key not in instance]
        extra = schema.get("additionalProperties")
        for key, value in instance.items():
            if key in properties:
                errors += schema_errors(value, properties[key], root, f"{path}.{key}",
                                        strict=strict)
            elif isinstance(extra, dict):
                errors += schema_errors(value, extra, root, f"{path}.{key}", strict=strict)
            elif extra is False or (strict and "properties" in schema):
                errors.append(f"{path}: {key!r} is not declared in the schema")
    if isinstance(instance, list) and "items" in schema:
        for index, item in enumerate(instance):
            errors += schema_errors(item, schema["items"], root, f"{path}[{index}]",
                                    strict=strict)
    return errors


def load_schema(name: str) -> dict[str, Any]:
    text = (resources.files("txdiag") / "schemas" / f"{name}.schema.json").read_text(
        encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@pytest.fixture
def check_schema() -> Callable[[Any, str], None]:
    """``check_schema(instance, "summary")`` fails the test with every schema error."""

    def check(instance: Any, name: str) -> None:
        errors = schema_errors(instance, load_schema(name))
        assert not errors, "\n".join(errors[:20])

    return check
