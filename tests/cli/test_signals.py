"""Signals in a real process: no worker traceback under --jobs, and results written whole
even when SIGTERM arrives again (or first) while they are written to a full pipe."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from txdiag.exitcodes import ExitCode

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "transactions.jsonl"

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


@pytest.fixture(scope="module")
def big_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 35 MB of JSON Lines: over the split size, several seconds for one process."""
    path = tmp_path_factory.mktemp("signals") / "big.jsonl"
    path.write_bytes(EXAMPLE.read_bytes() * 50)
    return path


def start(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "txdiag", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_jobs_2_interrupted_prints_no_worker_traceback(big_log: Path, signum: int,
                                                       start_method: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TXDIAG_START_METHOD", start_method)
    proc = start("summary", str(big_log), "-j", "2", "-f", "json")
    time.sleep(1.5)
    os.killpg(proc.pid, signum)  # as a terminal sends Ctrl-C: to the whole process group
    out, err = proc.communicate(timeout=120)
    expected = ExitCode.INTERRUPTED if signum == signal.SIGINT else ExitCode.TERMINATED
    assert proc.returncode in (expected, ExitCode.OK), err  # OK: it finished first
    assert b"Traceback" not in err, err.decode()
    if signum == signal.SIGTERM:
        # Held while the results are written; Ctrl-C there stops the writing, as a user
        # pressing it means (exit-codes.md).
        assert json.loads(out)["totals"]["records"] > 0


@pytest.mark.parametrize("signals", [1, 2, 3])
def test_sigterm_while_writing_to_a_full_pipe_keeps_the_json_whole(big_log: Path,
                                                                   signals: int) -> None:
    # summary -f json (with its time view) writes more than a pipe holds; nobody reads until
    # the signals were sent, so they arrive while reading or while the output is blocked.
    proc = start("summary", str(big_log), "-f", "json")
    time.sleep(3)
    for _ in range(signals):
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == ExitCode.TERMINATED, err
    document = json.loads(out)  # whole: not cut at 64 KiB
    assert document["totals"]["records"] > 0
    assert b"Traceback" not in err
