"""Documentation checked against the code, so neither can drift from the other."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import typer

from txdiag.cli.app import app
from txdiag.rulebook import Rulebook
from txdiag.rulebook.docs import taxonomy_markdown

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def all_docs() -> str:
    return "\n".join(p.read_text(encoding="utf-8")
                     for p in [ROOT / "README.md", *sorted(DOCS.glob("*.md"))])


def commands() -> Iterator[tuple[str, object]]:
    """Every leaf command as ("rules suggest", command)."""
    root = typer.main.get_command(app)

    def walk(prefix: str, group: object) -> Iterator[tuple[str, object]]:
        for name, command in sorted(group.commands.items()):  # type: ignore[attr-defined]
            path = f"{prefix} {name}".strip()
            if hasattr(command, "commands"):
                yield from walk(path, command)
            else:
                yield path, command

    yield from walk("", root)


def test_taxonomy_doc_is_generated_from_the_rulebook(rulebook: Rulebook) -> None:
    committed = (DOCS / "taxonomy.md").read_text(encoding="utf-8")
    assert committed == taxonomy_markdown(rulebook), (
        "docs/taxonomy.md is stale: run python -m txdiag.rulebook.docs > docs/taxonomy.md")


def test_every_reason_is_documented_and_used(rulebook: Rulebook) -> None:
    text = (DOCS / "taxonomy.md").read_text(encoding="utf-8")
    used = {rule.reason for rule in rulebook.rules}
    for reason in rulebook.reasons:
        assert f"`{reason}`" in text
        assert reason in used or reason == "unknown.no_match", f"{reason} has no rule"


def test_every_command_has_help_examples_and_docs() -> None:
    docs = all_docs()
    found = list(commands())
    assert {"diagnose", "summary", "explain", "rules list", "config init"} <= {n for n, _ in found}
    for name, command in found:
        assert (command.help or "").strip(), f"{name} has no help text"  # type: ignore[attr-defined]
        assert "Examples" in (command.epilog or ""), f"{name} has no examples"  # type: ignore[attr-defined]
        assert f"txdiag {name}" in docs, f"`txdiag {name}` is not in README.md or docs/"


def test_readme_starts_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```\n(.*?)```", readme, re.S)
    assert block is not None
    lines = [line for line in block.group(1).splitlines() if line.strip()]
    assert len(lines) == 2
    assert "txdiag summary examples/" in lines[0]
    assert "pytest" in lines[1]


def test_doc_samples_are_what_the_commands_print() -> None:
    """README and docs samples come from the real commands (tests/samples.py regenerates)."""
    import os

    from tests import samples

    found = [s for path in samples.FILES for s in samples.samples(path)]
    assert len(found) >= 2  # README's summary and the runbook's time view at least
    if os.environ.get("TXDIAG_UPDATE_GOLDEN"):
        for path in samples.FILES:
            samples.update(path)
        found = [s for path in samples.FILES for s in samples.samples(path)]
    for sample in found:
        output = samples.run(sample.command)
        where = f"{sample.file.name}: $ {sample.command}"
        assert [line.rstrip() for line in sample.shown] == samples.expected(sample, output), (
            f"{where} shows other output than the command prints; "
            "regenerate with python -m tests.samples --update")
        if sample.cut:
            assert len(output) > len(sample.shown), f"{where}: nothing left out after '...'"
