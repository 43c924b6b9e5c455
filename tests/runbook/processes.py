"""Helpers for tests that drive real txdiag processes."""

from __future__ import annotations

import os
import time
from pathlib import Path


def wait_until_open(pid: int, path: Path, timeout: float = 15.0) -> None:
    fds = Path(f"/proc/{pid}/fd")
    if not fds.is_dir():
        time.sleep(2)  # no /proc: give it time to start
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if any(os.readlink(fd) == str(path) for fd in fds.iterdir()):
                return
        except OSError:
            pass
        time.sleep(0.02)
    raise AssertionError(f"{path} was never opened")
