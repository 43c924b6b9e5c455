"""The field table is the one definition of a record field: every place that names, reads,
converts, masks or writes the fields agrees with it, and a field added to it reaches every
place derived from it."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap
from datetime import UTC
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from txdiag import fold, spark
from txdiag.cli.commands.lookup import LookupResult, lookup_dict
from txdiag.config import Profile, ProfileSettings, parse_config, parse_field_maps
from txdiag.errors import ConfigError, UsageError
from txdiag.fields import (
    DECIDING_FIELDS,
    FIELDS,
    FieldSpec,
    columns_markdown,
    field_names,
    fields_markdown,
    record_columns,
    record_schema,
)
from txdiag.models import CodeValue, Record, SourceRef
from txdiag.normalize import (
    DEFAULT_ALIASES,
    NORMALIZED_FIELDS,
    VERDICT_FIELDS,
    Extracted,
    FieldMap,
    Normalizer,
)
from txdiag.pipeline import Observation, Pipeline
from txdiag.render.common import Presenter, finding_dict, record_dict
from txdiag.render.writers import CSV_COLUMNS, FindingRows, dumps
from txdiag.rulebook import Rulebook

ROOT = Path(__file__).resolve().parents[1]
CARD = "6222021234567890128"
"""A card number (valid check digit): personal data wherever it turns up."""

# A value of each kind as a log holds it, and as a row writes it (unmasked).
LOGGED: dict[str, tuple[Any, Any]] = {
    "text": (" T2026 ", "T2026"),
    "number": ("12.5", 12.5),
    "integer": ("6", 6),
    "decimal": ("1,299.00", "1299.00"),
    "timestamp": ("2026-11-11 08:00:01", "2026-11-11T08:00:01Z"),
    "codes": ("E_TIMEOUT", "E_TIMEOUT"),
}
VALUES = {"status": ("FAILED", "FAILED"), "channel": ("stripe", "stripe")}
"""Fields whose value must mean something to the rulebook."""


def logged(spec: FieldSpec) -> tuple[Any, Any]:
    return VALUES.get(spec.name, LOGGED[spec.kind])


# -- every place agrees with the table ------------------------------------------------------


def test_the_table_is_well_formed() -> None:
    names = field_names()
    assert len(set(names)) == len(names)
    aliases = [alias for spec in FIELDS for alias in spec.aliases]
    assert len(set(aliases)) == len(aliases), "a log name feeds one field only"
    assert all(spec.aliases and spec.meaning for spec in FIELDS)
    assert all(spec.decides for spec in FIELDS if spec.verdict)


def test_normalize_reads_the_tables_names() -> None:
    assert field_names() == NORMALIZED_FIELDS
    assert {spec.name: spec.aliases for spec in FIELDS} == DEFAULT_ALIASES
    assert {spec.name for spec in FIELDS if spec.verdict} == VERDICT_FIELDS
    default = FieldMap.default()
    for spec in FIELDS:
        for rank, alias in enumerate(spec.aliases):
            if "." not in alias or alias.startswith("@"):
                assert default.top[alias] == (spec.name, rank)


def test_a_profile_and_map_name_exactly_the_tables_fields() -> None:
    settings = set(ProfileSettings.model_fields)
    assert set(Profile.model_fields) - settings == set(field_names())
    everything = {spec.name: [f"x.{spec.name}"] for spec in FIELDS}
    assert Profile.model_validate(everything).paths() == everything
    maps = parse_field_maps([f"{spec.name}=a.b" for spec in FIELDS])
    assert list(maps) == list(field_names())
    with pytest.raises(UsageError, match="unknown field"):
        parse_field_maps(["merchant=a"])
    with pytest.raises(ConfigError, match="unknown setting"):
        parse_config({"profiles": {"p": {"merchant": "a"}}}, "c.toml")
    with pytest.raises(ConfigError, match="unknown field"):
        parse_config({"profiles": {"p": {"constants": {"merchant": "a"}}}}, "c.toml")


def test_a_profile_is_written_as_it_is_read() -> None:
    config = parse_config({"profiles": {"p": {"constants": {"channel": "x"},
                                              "error_code": "code", "description": "d"}}},
                          "c.toml")
    written = config.model_dump(mode="json", exclude_none=True)["profiles"]["p"]
    assert list(written) == ["description", "error_code", "status_map", "constants",
                             "amount_minor_units"]


PYTHON_TYPES = {"text": "str", "number": "float", "integer": "int", "decimal": "Decimal",
                "timestamp": "AwareDatetime", "codes": "str"}


def test_the_record_model_holds_the_tables_fields() -> None:
    columns = list(record_columns(all_codes=True))
    assert list(Record.model_fields) == [*columns, "source"]
    for spec in FIELDS:
        annotation = str(Record.model_fields[spec.name].annotation)
        assert PYTHON_TYPES[spec.kind] in annotation, (spec.name, annotation)


def test_every_field_is_extracted_converted_and_written(rulebook: Rulebook) -> None:
    """A record carrying each field under its first name: every one arrives in the
    Extracted fields, the Record and the row, converted as the table's kind says."""
    data = {spec.aliases[0]: logged(spec)[0] for spec in FIELDS if "." not in spec.aliases[0]}
    normalizer = Normalizer(rulebook)
    for extracted in (normalizer.extract(data), normalizer.extract_generic(data)):
        assert extracted is not None and extracted.failed
        record = normalizer.to_record(extracted, SourceRef(file="f", line=1))
        row = record_dict(record, Presenter(mask=False))
        for spec in FIELDS:
            assert getattr(extracted, spec.name) is not None, spec.name
            assert row[spec.name] == logged(spec)[1], spec.name


def test_rows_from_observations_are_the_records_rows(rulebook: Rulebook) -> None:
    pipeline = Pipeline(rulebook)
    data = {spec.aliases[0]: logged(spec)[0] for spec in FIELDS if "." not in spec.aliases[0]}
    data["user_id"] = CARD
    observation = pipeline.observe(data, "f.jsonl", 3)
    assert isinstance(observation, Observation)
    for presenter in (Presenter(), Presenter(mask=False)):
        row = FindingRows(presenter).of_observation(observation, UTC)
        assert row == dumps(finding_dict(pipeline.finding(observation), presenter))
        keys = list(json.loads(row))
        columns = list(record_columns())
        assert keys[:len(columns)] == columns
    assert CARD not in FindingRows(Presenter()).of_observation(observation, UTC)


def _record(**values: Any) -> Record:
    return Record(source=SourceRef(file="api", line=1), **values)


def test_lookup_writes_the_record_as_diagnose_does_masked_alike(rulebook: Rulebook) -> None:
    """The ``lookup`` record is the ``diagnose`` row's record part plus every code: a card
    number in any field, numbers included, is masked in both."""
    record = _record(txn_id=CARD, http_status=int(CARD), latency_ms=float(CARD),
                     installments=int(CARD), amount=Decimal(CARD), user_id=CARD,
                     error_code=CARD, error_codes=(CodeValue("code", CARD),),
                     timestamp_raw=CARD)
    diagnosis = Pipeline(rulebook).classifier.classify(codes=(("code", CARD),))
    presenter = Presenter()
    looked_up = lookup_dict(LookupResult("q", "u", record, diagnosis, {}), presenter)["record"]
    from txdiag.models import Finding

    row = finding_dict(Finding(record=record, diagnosis=diagnosis), presenter)
    assert looked_up.pop("error_codes") == [{"field": "code", "value": presenter.data(CARD)}]
    assert looked_up == {key: row[key] for key in looked_up}
    assert list(looked_up) == list(record_columns())
    assert "6222021234567890128" not in json.dumps(looked_up)
    assert "890128" not in json.dumps(looked_up)
    assert lookup_dict(LookupResult("q", "u", record, diagnosis, {}),
                       Presenter(mask=False))["record"]["http_status"] == int(CARD)


def test_the_shipped_schema_has_the_tables_record_properties() -> None:
    schema = json.loads((ROOT / "src" / "txdiag" / "schemas" / "diagnose.schema.json")
                        .read_text("utf-8"))
    finding = schema["$defs"]["finding"]
    generated = record_schema()
    assert list(finding["properties"])[:len(generated)] == list(generated)
    assert {key: finding["properties"][key] for key in generated} == generated
    assert finding["required"][:len(generated)] == list(generated)


def test_the_docs_tables_are_generated_from_the_table() -> None:
    formats = (ROOT / "docs" / "formats.md").read_text("utf-8")
    output = (ROOT / "docs" / "output.md").read_text("utf-8")
    assert fields_markdown() in formats, (
        "docs/formats.md is stale: paste `python -m txdiag.fields formats` into it")
    assert columns_markdown() in output, (
        "docs/output.md is stale: paste `python -m txdiag.fields output` into it")


def test_the_fold_and_the_other_writers_agree_with_the_table() -> None:
    """The lists kept literal elsewhere (the fold's key fields and a record's own fields,
    the Parquet columns, the CSV columns) are the table's."""
    assert fold.KEY_FIELDS == DECIDING_FIELDS
    assert {spec.name for spec in FIELDS if not spec.decides} == fold.ROW_FIELDS
    assert set(fold.DIRECT_FIELDS) <= set(field_names())
    columns = list(record_columns())
    assert list(spark.FLAT_COLUMNS[:len(columns)]) == columns
    assert set(CSV_COLUMNS) & set(columns) == {"timestamp", "txn_id", "channel", "error_code",
                                               "error_message", "http_status"}
    extracted = {f.name for f in dataclasses.fields(Extracted)}
    assert all(hasattr(Extracted, name) or name in extracted for name in field_names())


# -- a field added to the table --------------------------------------------------------------

ADDED = textwrap.dedent("""
    import dataclasses, json
    from datetime import UTC

    import txdiag.fields as f

    f.FIELDS = (*f.FIELDS, f.FieldSpec("merchant_id", "text", ("merchant_id", "mch_id"),
                                       "the merchant"))

    from txdiag.config import Profile, parse_field_maps
    from txdiag.models import Record, SourceRef
    from txdiag.normalize import Extracted, FieldMap
    from txdiag.render.common import Presenter, record_dict
    from txdiag.render.writers import FindingRows
    from txdiag.rulebook import load_rulebook
    from txdiag.pipeline import Pipeline

    # The typed shapes get their attribute (what the agreement tests ask for).
    class MerchantRecord(Record):
        merchant_id: str | None = None

    @dataclasses.dataclass(slots=True)
    class MerchantExtracted(Extracted):
        merchant_id: str | None = None

    found = {
        "names": FieldMap.default().top["mch_id"],
        "profile": Profile(merchant_id="shop.id").paths(),
        "map": parse_field_maps(["merchant_id=shop.id"]),
        "schema": f.record_schema()["merchant_id"],
        "docs": [line for line in f.fields_markdown().splitlines() if "merchant" in line],
        "lookup": record_dict(MerchantRecord(merchant_id="m1", source=SourceRef(file="a", line=1)),
                              Presenter(), all_codes=True),
    }
    pipeline = Pipeline(load_rulebook())
    # (extract's compiled reader now returns the field too: its caller must take it)
    outcome = pipeline.normalizer.extract_generic({"status": "FAILED", "code": "E1"})
    own = MerchantExtracted(txn_id="T1", merchant_id="m1")
    row = FindingRows(Presenter()).of_parts(outcome, pipeline.diagnose_fields(outcome), own,
                                             "a", 1, UTC)
    found["row"] = list(json.loads(row))
    print(json.dumps(found))
""")


def test_a_field_added_to_the_table_reaches_every_place_derived_from_it() -> None:
    result = subprocess.run([sys.executable, "-c", ADDED], capture_output=True, text=True,
                            check=False, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["names"] == ["merchant_id", 1]
    assert found["profile"] == {"merchant_id": ["shop.id"]}
    assert found["map"] == {"merchant_id": ["shop.id"]}
    assert found["schema"] == {"type": ["string", "null"]}
    assert found["docs"] == ["| `merchant_id` | text |  | yes | `merchant_id`, `mch_id` |"]
    assert list(found["lookup"])[-2:] == ["user_id", "merchant_id"]
    assert found["lookup"]["merchant_id"] == "m1"
    assert found["row"].index("merchant_id") == found["row"].index("user_id") + 1
