"""Process hygiene: signals, closed pipes, terminals without colour or UTF-8, narrow screens,
and the one exit-code table."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tests.runbook.processes import wait_until_open
from typer.testing import CliRunner

from txdiag.cli.app import app
from txdiag.exitcodes import ExitCode

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "transactions.jsonl"
POSIX = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals, FIFOs and ttys")


def console_script() -> str:
    found = shutil.which("txdiag", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip("txdiag console script not installed next to this Python")
    return found




# -- signals while reading ----------------------------------------------------------------------

def interrupt_while_reading(tmp_path: Path, args: list[str], sig: int) -> tuple[int, str, str]:
    """Start txdiag on a FIFO, feed it part of the example, then signal it mid-read."""
    fifo = tmp_path / "live.jsonl"
    os.mkfifo(fifo)
    proc = subprocess.Popen([console_script(), *args, str(fifo)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    # More than the 64 KiB sniffed for the format, so records are read and counted.
    data = b"".join(EXAMPLE.read_bytes().splitlines(keepends=True)[:1000])
    writer = open(fifo, "wb")  # noqa: SIM115  (kept open: the reader must not see the end)
    try:
        writer.write(data)
        writer.flush()
        wait_until_open(proc.pid, fifo)
        # the reader drains the pipe, then blocks waiting for more
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and _pipe_bytes(writer) > 0:
            time.sleep(0.02)
        wait_idle(proc.pid)
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=15)
    finally:
        writer.close()
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, stdout.decode(), stderr.decode()


def wait_idle(pid: int, timeout: float = 15.0) -> None:
    """Until the process stops using CPU (blocked on its input), from /proc; else a pause."""
    stat = Path(f"/proc/{pid}/stat")
    if not stat.exists():
        time.sleep(1)
        return

    def cpu() -> int:
        fields = stat.read_text().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks

    deadline = time.monotonic() + timeout
    last, still = cpu(), 0
    while time.monotonic() < deadline and still < 3:
        time.sleep(0.05)
        now = cpu()
        still = still + 1 if now == last else 0
        last = now


def _pipe_bytes(writer: Any) -> int:
    """Bytes still unread in a pipe (FIONREAD), or 0 where that cannot be asked."""
    try:
        import fcntl
        import termios

        buffer = bytearray(4)
        fcntl.ioctl(writer.fileno(), termios.FIONREAD, buffer)
        return int.from_bytes(buffer, sys.byteorder)
    except (ImportError, OSError):
        return 0


@POSIX
def test_ctrl_c_prints_the_partial_summary_and_exits_130(tmp_path: Path) -> None:
    code, stdout, stderr = interrupt_while_reading(
        tmp_path, ["summary", "--format", "json"], signal.SIGINT)
    assert code == ExitCode.INTERRUPTED
    data = json.loads(stdout)
    assert data["totals"]["records"] == 1000
    assert data["complete"] is False and data["stopped"] == "interrupted"
    assert "Traceback" not in stderr


@POSIX
def test_ctrl_c_marks_the_summary_table_partial(tmp_path: Path) -> None:
    code, stdout, _ = interrupt_while_reading(tmp_path, ["summary"], signal.SIGINT)
    assert code == ExitCode.INTERRUPTED
    assert stdout.startswith("INTERRUPTED (partial input): 1,000 records")


@POSIX
def test_ctrl_c_during_check_gives_an_incomplete_verdict(tmp_path: Path) -> None:
    code, stdout, stderr = interrupt_while_reading(
        tmp_path, ["check", "--max-rate", "failure=100", "--format", "json"], signal.SIGINT)
    assert code == ExitCode.INTERRUPTED
    verdict = json.loads(stdout)
    assert verdict["complete"] is False and verdict["ok"] is False
    assert verdict["exit_code"] == 130 and verdict["totals"]["records"] == 1000
    assert "Traceback" not in stderr


@POSIX
def test_sigterm_exits_143_cleanly_with_partial_results(tmp_path: Path) -> None:
    code, stdout, stderr = interrupt_while_reading(
        tmp_path, ["check", "--max-rate", "failure=100", "--format", "json"], signal.SIGTERM)
    assert code == ExitCode.TERMINATED
    assert json.loads(stdout)["exit_code"] == 143
    assert "Traceback" not in stderr


@POSIX
def test_sigterm_on_summary_table(tmp_path: Path) -> None:
    code, stdout, stderr = interrupt_while_reading(tmp_path, ["summary"], signal.SIGTERM)
    assert code == ExitCode.TERMINATED
    assert stdout.startswith("TERMINATED (partial input): 1,000 records")
    assert "Traceback" not in stderr


# -- closed pipes -------------------------------------------------------------------------------

@POSIX
@pytest.mark.parametrize("args", [
    ["check", str(EXAMPLE), "--max-rate", "system=1", "--window", "1m"],
    ["watch", str(EXAMPLE), "--once"],
    ["summary", str(EXAMPLE), "--format", "csv"],
])
def test_a_closed_pipe_is_silent(args: list[str]) -> None:
    command = " ".join(f"'{a}'" for a in [console_script(), *args])
    proc = subprocess.run(f"{command} | head -n 1", shell=True, capture_output=True,
                          timeout=60, check=False)
    assert len(proc.stdout.splitlines()) == 1
    assert b"Traceback" not in proc.stderr and b"BrokenPipe" not in proc.stderr
    assert b"Exception ignored" not in proc.stderr


# -- terminals ---------------------------------------------------------------------------------

def ascii_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "PYTHON"))}
    # A real C locale: no coercion to C.UTF-8 and no UTF-8 mode, so stdout is ASCII.
    return {**env, "LC_ALL": "C", "LANG": "C", "PYTHONCOERCECLOCALE": "0", "PYTHONUTF8": "0"}


@pytest.mark.parametrize("args", [
    ["summary", str(EXAMPLE)],
    ["diagnose", str(EXAMPLE), "-n", "20"],
    ["check", str(EXAMPLE), "--max-rate", "system=5", "--window", "5m"],
    ["watch", str(EXAMPLE), "--once"],
    ["explain", "51", "--channel", "iso8583", "--lang", "zh"],
])
def test_an_ascii_only_stdout_does_not_crash(args: list[str]) -> None:
    proc = subprocess.run([console_script(), *args], capture_output=True, timeout=60,
                          env=ascii_env(), check=False)
    assert proc.returncode in (ExitCode.OK, ExitCode.BREACH), proc.stderr
    assert b"Traceback" not in proc.stderr and b"UnicodeEncodeError" not in proc.stderr
    proc.stdout.decode("ascii")  # nothing the terminal cannot show: escapes instead


def test_a_chinese_argument_under_the_c_locale() -> None:
    # argv is decoded as ASCII there; the UTF-8 bytes the terminal sent are recovered.
    proc = subprocess.run([console_script(), "explain", "预留手机号不一致", "-f", "json"],
                          capture_output=True, timeout=60, env=ascii_env(), check=False)
    assert b"Traceback" not in proc.stderr
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["reason"] == "card_binding.reserved_phone_mismatch"


def test_time_view_falls_back_to_ascii_glyphs() -> None:
    proc = subprocess.run([console_script(), "summary", str(EXAMPLE), "-q"],
                          capture_output=True, timeout=60, env=ascii_env(), check=False)
    chart = proc.stdout.decode("ascii").split("Failures over time", 1)[1]
    system = next(line for line in chart.splitlines() if line.startswith("system"))
    assert "#" in system and "\\u" not in system


@pytest.mark.parametrize(("env", "blocks"), [
    ({"LC_ALL": "C", "LANG": "C"}, True),  # Python's UTF-8 mode: stdout is still UTF-8
    ({"PYTHONIOENCODING": "ascii"}, False),  # what docs/runbooks.md says to set instead
])
def test_sparklines_follow_the_output_encoding(env: dict[str, str], blocks: bool) -> None:
    """The glyphs are chosen by what stdout can encode, as docs/runbooks.md says."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "PYTHON"))}
    proc = subprocess.run([console_script(), "summary", str(EXAMPLE), "-q"],
                          capture_output=True, timeout=60, env={**base, **env}, check=False)
    chart = proc.stdout.decode("utf-8").split("Failures over time", 1)[1]
    system = next(line for line in chart.splitlines() if line.startswith("system"))
    assert ("█" in system) is blocks and ("#" in system) is not blocks


def on_pty(args: list[str], env: dict[str, str]) -> bytes:
    pty = pytest.importorskip("pty")
    master, slave = pty.openpty()
    proc = subprocess.Popen([console_script(), *args], stdout=slave, stderr=subprocess.DEVNULL,
                            env={**os.environ, "COLUMNS": "100", **env})
    os.close(slave)
    chunks: list[bytes] = []

    def pump() -> None:
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                return
            if not chunk:
                return
            chunks.append(chunk)

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    proc.wait(timeout=60)
    thread.join(timeout=5)
    os.close(master)
    return b"".join(chunks)


COLOUR = re.compile(rb"\x1b\[[0-9;]*m")


@POSIX
def test_colour_on_a_terminal_but_not_with_no_color_or_term_dumb() -> None:
    args = ["summary", str(EXAMPLE), "-q"]
    assert COLOUR.search(on_pty(args, {"TERM": "xterm-256color"}))
    assert not COLOUR.search(on_pty(args, {"TERM": "xterm-256color", "NO_COLOR": "1"}))
    assert not COLOUR.search(on_pty(args, {"TERM": "dumb"}))


# -- narrow screens ----------------------------------------------------------------------------

LONG_ID = "ORDER-2026-11-11-0123456789-ABCDEFGHIJ"


def test_forty_columns_fold_ids_never_cut(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    log = tmp_path / "narrow.jsonl"
    rows = [{"ts": f"2026-11-11T00:{m:02d}:{s:02d}Z", "txn_id": f"{LONG_ID}-{m}-{s}",
             "channel": "iso8583", "status": "failed" if s % 3 == 0 else "success",
             "resp_code": "96" if s % 3 == 0 else "00"} for m in range(30) for s in range(0, 60, 2)]
    log.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    monkeypatch.setenv("COLUMNS", "40")
    runner = CliRunner()
    for args in (["diagnose", str(log), "-n", "5"], ["summary", str(log)],
                 ["check", str(log), "--max-rate", "system=10", "--window", "5m"]):
        out = runner.invoke(app, [*args, "-q"], catch_exceptions=False).stdout
        assert all(len(line) <= 40 for line in out.splitlines()), (args, out)
        assert "…" not in out
    diagnosed = runner.invoke(app, ["diagnose", str(log), "-n", "5", "-q"],
                              catch_exceptions=False).stdout
    joined = "".join(line.strip() for line in diagnosed.splitlines())
    assert f"{LONG_ID}-0-0" in joined and f"{LONG_ID}-0-6" in joined


# -- the exit-code table -------------------------------------------------------------------------

def test_every_exit_code_is_in_the_one_table() -> None:
    text = (ROOT / "docs" / "exit-codes.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| (\d+) \| `(\w+)` \|", text, re.M))
    assert rows == {str(int(code)): code.name for code in ExitCode}
    assert set(rows) == {"0", "1", "2", "3", "4", "5", "70", "130", "143"}


@pytest.mark.parametrize(("args", "code"), [
    (["check", "{ok}", "--max-rate", "failure=100"], ExitCode.OK),
    (["check", "{ok}", "--max-rate", "failure=1"], ExitCode.BREACH),
    (["check", "{ok}", "--max-rate", "nonsense"], ExitCode.USAGE),
    (["check", "{missing}", "--max-rate", "failure=1"], ExitCode.INPUT),
    (["check", "{empty}", "--max-rate", "failure=1"], ExitCode.NO_RECORDS),
])
def test_check_exit_codes_through_the_real_entry_point(
        args: list[str], code: int, tmp_path: Path, make_log: Callable[..., Path]) -> None:
    """main(), not only the test runner: the codes a shell sees."""
    empty = tmp_path / "empty.jsonl"
    empty.write_text("", encoding="utf-8")
    names = {"ok": make_log(minutes=3), "missing": tmp_path / "missing", "empty": empty}
    proc = subprocess.run([console_script(), *(a.format(**names) for a in args), "-q"],
                          capture_output=True, timeout=60, check=False)
    assert proc.returncode == code, proc.stderr
