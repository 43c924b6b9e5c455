"""examples/runbook.sh, run with bash against the installed console script."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "examples" / "runbook.sh"
EXAMPLE = ROOT / "examples" / "transactions.jsonl"

pytestmark = pytest.mark.skipif(shutil.which("bash") is None or shutil.which("python3") is None,
                                reason="the runbook needs bash and python3")


def console_script() -> str:
    found = shutil.which("txdiag", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip("txdiag console script not installed next to this Python")
    return found


def runbook(tmp_path: Path, *args: str, **env: str) -> tuple[int, str, str, str]:
    """Run the script; PAGE_COMMAND appends each page to a file. Returns (code, out, err, pages)."""
    pages = tmp_path / "pages.txt"
    pager = tmp_path / "page"
    # one line per page: every argument followed by "|"
    pager.write_text(f'#!/bin/sh\nfor a; do printf "%s|" "$a"; done >> "{pages}"\n'
                     f'echo >> "{pages}"\n', encoding="utf-8")
    pager.chmod(pager.stat().st_mode | stat.S_IXUSR)
    proc = subprocess.run(
        ["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "TXDIAG": console_script(),
             "PAGE_COMMAND": f"{pager} --team payments", **env},
    )
    sent = pages.read_text(encoding="utf-8") if pages.exists() else ""
    return proc.returncode, proc.stdout, proc.stderr, sent


def test_the_script_is_executable_and_parses() -> None:
    assert SCRIPT.stat().st_mode & stat.S_IXUSR
    assert subprocess.run(["bash", "-n", str(SCRIPT)], check=False).returncode == 0
    shellcheck = shutil.which("shellcheck")
    if shellcheck:
        proc = subprocess.run([shellcheck, str(SCRIPT)], capture_output=True, text=True,
                              check=False)
        assert proc.returncode == 0, proc.stdout


def test_a_system_outage_breaches_prints_reasons_and_spikes_and_pages(
        tmp_path: Path, make_log: Callable[..., Path]) -> None:
    log = make_log(minutes=60, rates={"balance": 0.08, "system": 0.01},
                   spike=(40, 49, "system", 0.5))
    code, out, err, pages = runbook(tmp_path, str(log))
    assert code == 1, err
    assert "BREACH --max-rate system=5:" in out
    assert "system.bank_error" in out  # a top reason
    assert "system        2026-11-11T00:40:00Z to 2026-11-11T00:50:00Z" in out  # the spike
    (page,) = pages.splitlines()
    team, name, text, end = page.split("|")
    assert (team, name, end) == ("--team", "payments", "")  # PAGE_COMMAND's own arguments
    assert text.startswith(f"txdiag: {log}: system faults up to ")
    assert "in 2026-11-11T00:4" in text and "mostly system.bank_error" in text
    assert "PAGE:" not in err


def test_a_breach_that_is_not_system_does_not_page(
        tmp_path: Path, make_log: Callable[..., Path]) -> None:
    log = make_log(minutes=30, rates={"balance": 0.6, "system": 0.0})
    code, out, err, pages = runbook(tmp_path, str(log))
    assert code == 1, err
    assert "BREACH --max-rate failure=50:" in out
    assert "BREACH --max-rate system" not in out
    assert "spikes: none" in out
    assert pages == ""


def test_within_limits_is_one_line_and_exit_0(tmp_path: Path,
                                              make_log: Callable[..., Path]) -> None:
    log = make_log(minutes=30, rates={"balance": 0.1, "system": 0.01})
    code, out, err, pages = runbook(tmp_path, str(log), "10m")
    assert (code, pages) == (0, "")
    assert out.startswith("ok: 1500 transactions, ")
    assert out.endswith("; 3 windows judged, 0 too quiet to judge\n")
    assert len(out.splitlines()) == 1


def test_limits_come_from_the_environment(tmp_path: Path) -> None:
    code, _, _, pages = runbook(tmp_path, str(EXAMPLE), MAX_SYSTEM_PCT="90",
                                MAX_FAILURE_PCT="90")
    assert (code, pages) == (0, "")
    code, _, err, pages = runbook(tmp_path, str(EXAMPLE))
    assert code == 1 and "system faults up to" in pages and "PAGE:" not in err


def test_nothing_to_judge_is_exit_5(tmp_path: Path, make_log: Callable[..., Path]) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    code, _, err, _ = runbook(tmp_path, str(empty))
    assert code == 5 and "nothing to judge" in err
    quiet = make_log("quiet.jsonl", minutes=30, per_minute=1)
    assert runbook(tmp_path, str(quiet))[0] == 5


@pytest.mark.parametrize(("args", "code"), [(["{missing}"], 3), (["{log}", "soon"], 2)])
def test_txdiag_errors_pass_through(args: list[str], code: int, tmp_path: Path,
                                    make_log: Callable[..., Path]) -> None:
    names = {"missing": str(tmp_path / "missing.jsonl"), "log": str(make_log(minutes=5))}
    got, out, err, pages = runbook(tmp_path, *(a.format(**names) for a in args))
    assert got == code
    assert out == "" and pages == ""
    assert f'"exit_code": {code}' in err


def test_without_page_command_the_page_goes_to_stderr(tmp_path: Path) -> None:
    proc = subprocess.run(["bash", str(SCRIPT), str(EXAMPLE)], capture_output=True, text=True,
                          timeout=120, check=False,
                          env={**{k: v for k, v in os.environ.items() if k != "PAGE_COMMAND"},
                               "TXDIAG": console_script()})
    assert proc.returncode == 1
    assert "PAGE: txdiag: " in proc.stderr
