"""The sample outputs in README.md and docs/*.md, checked against the commands that print them.

A sample is a fenced block whose first line is ``$ txdiag ...`` (a shell command, run from the
repository root with this checkout's ``txdiag`` first on PATH, 80 columns, no colour) followed
by what it prints on stdout. A last line ``...`` means "the rest is left out"; without it the
output must match to the end. Trailing spaces are ignored.

Regenerate every sample from the real commands::

    python -m tests.samples --update     # or: TXDIAG_UPDATE_GOLDEN=1 pytest tests/test_docs.py
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
WIDTH = 80
ELLIPSIS = "..."
_FENCE = re.compile(r"^```[^\n]*\n(\$ txdiag [^\n]*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Sample:
    file: Path
    command: str
    """The shell command, without the ``$ ``."""
    shown: list[str]
    """The output lines the document shows."""
    cut: bool
    """The document leaves the rest out (its block ends with ``...``)."""
    span: tuple[int, int]
    """Where the block's output lines are in the file's text."""


def samples(path: Path) -> list[Sample]:
    found = []
    for match in _FENCE.finditer(path.read_text(encoding="utf-8")):
        lines = match.group(2).splitlines()
        if not lines:
            continue  # a command shown without its output is not a sample
        cut = lines[-1] == ELLIPSIS
        found.append(Sample(path, match.group(1)[2:], lines[:-1] if cut else lines, cut,
                            match.span(2)))
    return found


def run(command: str) -> list[str]:
    """What ``command`` prints on stdout, as the document would show it."""
    bin_dir = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TXDIAG_", "LC_"))}
    env.update(PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", COLUMNS=str(WIDTH),
               NO_COLOR="1", LANG="C.UTF-8", XDG_CONFIG_HOME=str(ROOT / ".no-config"))
    proc = subprocess.run(["bash", "-c", command], cwd=ROOT, env=env, capture_output=True,
                          text=True, encoding="utf-8", timeout=120, check=False)
    return [line.rstrip() for line in proc.stdout.splitlines()]


def expected(sample: Sample, output: list[str]) -> list[str]:
    """The lines the document should show: the same number it shows now when it cuts."""
    return output[:len(sample.shown)] if sample.cut else output


def update(path: Path) -> bool:
    """Rewrite every sample of ``path`` from its command; whether anything changed."""
    text = path.read_text(encoding="utf-8")
    for sample in reversed(samples(path)):
        lines = expected(sample, run(sample.command))
        if sample.cut:
            lines.append(ELLIPSIS)
        start, end = sample.span
        text = text[:start] + "\n".join(lines) + "\n" + text[end:]
    changed = text != path.read_text(encoding="utf-8")
    if changed:
        path.write_text(text, encoding="utf-8")
    return changed


def main(argv: list[str]) -> int:
    if argv != ["--update"]:
        print(__doc__)
        return 2
    for path in FILES:
        if update(path):
            print(f"updated {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
