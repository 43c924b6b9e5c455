"""The process's terminal state in one object, so commands never poke at ``sys`` directly."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from typing import TextIO

from txdiag.safety import mask_text, visible


def _isatty(stream: TextIO | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (ValueError, OSError):
        return False


def _json_errors() -> bool:
    """Whether the running command reports on stderr in JSON (``--format json``)."""
    from txdiag.cli.base import state  # at run time: the base module imports this one

    return state["json_errors"]


@dataclass
class Terminal:
    stdout: TextIO
    stderr: TextIO
    stdin_is_tty: bool
    stdout_is_tty: bool
    stderr_is_tty: bool
    stdin_missing: bool
    color: bool
    mask: bool = True
    json_lines: bool = False
    """Under ``--format json`` every stderr line is a JSON object: ``{"info": ...}`` for a
    progress or warning line, the error object for an error; never plain text among them."""

    @classmethod
    def from_env(cls, *, mask: bool = True) -> Terminal:
        stdout_tty = _isatty(sys.stdout)
        dumb = os.environ.get("TERM", "") == "dumb"
        no_color = "NO_COLOR" in os.environ and os.environ["NO_COLOR"] != ""
        return cls(
            stdout=sys.stdout,
            stderr=sys.stderr,
            stdin_is_tty=_isatty(sys.stdin),
            stdout_is_tty=stdout_tty,
            stderr_is_tty=_isatty(sys.stderr),
            stdin_missing=sys.stdin is None,
            color=stdout_tty and not dumb and not no_color,
            mask=mask,
            json_lines=_json_errors(),
        )

    def safe(self, text: str) -> str:
        """Untrusted text on its way to stderr: masked (unless --no-mask) and visible."""
        return visible(mask_text(text) if self.mask else text)

    def say(self, message: str) -> None:
        """A progress or warning line on stderr (never stdout, which carries the data)."""
        if self.json_lines:
            self.stderr.write(json.dumps({"info": message}, ensure_ascii=False) + "\n")
        else:
            self.stderr.write(f"txdiag: {message}\n")
        self.stderr.flush()

    def say_if_unmasked(self) -> None:
        """Under --no-mask, say so on stderr: the output will show personal data."""
        if not self.mask:
            self.say("masking is OFF (--no-mask): output shows personal data as it is")

    def error(self, message: str, hint: str | None, exit_code: int, *, as_json: bool) -> None:
        message, hint = self.safe(message), self.safe(hint) if hint else None
        if as_json:
            payload = {"error": message, "hint": hint, "exit_code": exit_code}
            self.stderr.write(json.dumps(payload, ensure_ascii=False) + "\n")
        else:
            self.stderr.write(f"txdiag: error: {message}\n")
            if hint:
                self.stderr.write(f"txdiag: hint: {hint}\n")
        self.stderr.flush()
