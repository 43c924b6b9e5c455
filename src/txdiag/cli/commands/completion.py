"""``txdiag completion bash|zsh|fish|powershell``: the shell completion script, on stdout.

The same script Typer's ``--show-completion`` prints, named explicitly (as ``gh completion``
and ``kubectl completion`` do), so it works without detecting the shell and can go into a
dotfile or a package's completion directory.
"""

from __future__ import annotations

from enum import StrEnum

import typer

from txdiag.cli.base import app, examples


class Shell(StrEnum):
    BASH = "bash"
    ZSH = "zsh"
    FISH = "fish"
    POWERSHELL = "powershell"


@app.command(epilog=examples(
    "txdiag completion bash > ~/.local/share/bash-completion/completions/txdiag",
    "txdiag completion zsh > \"${fpath[1]}/_txdiag\"",
    "txdiag completion fish > ~/.config/fish/completions/txdiag.fish",
    "eval \"$(txdiag completion bash)\"        # this shell only",
))
def completion(
    shell: Shell = typer.Argument(..., help="The shell to complete in.", show_default=False),
) -> None:
    """Print the shell completion script for commands, options and their values."""
    # What Typer's own --show-completion prints (typer.completion uses it; not re-exported).
    from typer._completion_shared import get_completion_script

    typer.echo(get_completion_script(prog_name="txdiag", complete_var="_TXDIAG_COMPLETE",
                                     shell=shell.value))
