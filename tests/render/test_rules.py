"""``rules list`` in a terminal: ids and reasons whole, one line a rule where it fits, the
channel's own rules first; golden files at the five widths (``TXDIAG_UPDATE_GOLDEN=1``)."""

from __future__ import annotations

import json

import pytest
from tests.render.test_table import WIDTHS, assert_fits, assert_golden, render
from typer.testing import CliRunner

from txdiag.cli.app import app


@pytest.mark.parametrize("width", WIDTHS)
def test_rules_list_keeps_ids_and_reasons_whole(width: int) -> None:
    out = render(width, "rules", "list", "--channel", "iso8583")
    assert_golden(f"rules-list-iso8583-{width}.txt", out)
    assert_fits(out, width)
    rows = json.loads(CliRunner().invoke(
        app, ["rules", "list", "--channel", "iso8583", "-f", "json"]).stdout)["rules"]
    lines = out.splitlines()
    words = set(out.split())
    for rule in rows:
        assert rule["id"] in words and rule["reason"] in words
    assert len(lines) <= 2 * len(rows) + 6
    if width >= 120:
        assert len(lines) <= len(rows) + 6  # one line a rule
    # The channel's own rules come before the inherited and generic ones.
    first = [line.split()[0] for line in lines if line.split()
             and line.split()[0] in {r["id"] for r in rows}]
    own = sum(1 for r in rows if r["channel"] == "iso8583")
    assert all(rule_id.startswith("iso8583.") for rule_id in first[:own])
    assert f"{len(rows)} rules: {own} of iso8583 first" in out
