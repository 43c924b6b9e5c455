"""Shell completion: the script for each shell, and bash really completing with it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from txdiag.cli.app import app

BIN = Path(sys.executable).parent


def console_script() -> str:
    found = shutil.which("txdiag", path=str(BIN))
    if found is None:
        pytest.skip("txdiag console script not installed next to this Python")
    return found


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish", "powershell"])
def test_completion_prints_the_script_of_each_shell(shell: str) -> None:
    result = CliRunner().invoke(app, ["completion", shell], catch_exceptions=False)
    assert result.exit_code == 0
    assert "_TXDIAG_COMPLETE" in result.stdout and f"complete_{shell}" in result.stdout


def test_an_unknown_shell_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["completion", "tcsh"])
    assert result.exit_code == 2


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_completes_commands_and_options_with_the_script() -> None:
    script = console_script()
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}

    def complete(*words: str) -> list[str]:
        line = " ".join(f"'{w}'" for w in words)
        program = (f'eval "$({script} completion bash)"; COMP_WORDS=({line}); '
                   f'COMP_CWORD={len(words) - 1}; _txdiag_completion txdiag; '
                   'printf "%s\\n" "${COMPREPLY[@]}"')
        proc = subprocess.run(["bash", "-c", program], capture_output=True, text=True,
                              env=env, timeout=60, check=False)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.split()

    assert complete("txdiag", "sum") == ["summary"]
    assert "--format" in complete("txdiag", "summary", "--f")
    assert set(complete("txdiag", "rules", "")) >= {"list", "show", "test"}


def test_no_arguments_prints_help_and_exits_0() -> None:
    proc = subprocess.run([console_script()], capture_output=True, text=True, timeout=60,
                          check=False)
    assert proc.returncode == 0
    assert "Usage: txdiag" in proc.stdout and "error" not in proc.stderr
