"""``txdiag watch``: --once for scripts, and a real process following a file it is written to.

The process tests poll the output with short timeouts and never sleep for long: each waits for
what it expects to appear (a few hundred milliseconds on a slow machine).
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest
from tests.runbook.processes import wait_until_open
from typer.testing import CliRunner

from txdiag.cli.app import app
from txdiag.exitcodes import ExitCode

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "transactions.jsonl"


def run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


# -- --once ---------------------------------------------------------------------------------

def test_once_reads_to_the_end_and_prints_the_summary(make_log: Callable[..., Path]) -> None:
    log = make_log(minutes=30, spike=(25, 29, "system", 0.6))
    result = run("watch", str(log), "--once")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("1,500 records")
    assert "Failures over time" in result.stdout
    assert "system 2026-11-11T00:25:00Z to 2026-11-11T00:30:00Z (ongoing)" in " ".join(
        result.stdout.split())
    assert "watched" in result.stderr and "1,500 records" in result.stderr


def test_once_json_is_a_summary_with_a_fixed_bucket(
        make_log: Callable[..., Path], check_schema: Callable[[Any, str], None]) -> None:
    log = make_log(minutes=30, spike=(25, 29, "system", 0.6))
    result = run("watch", str(log), "--once", "--format", "json", "--bucket", "2m")
    data = json.loads(result.stdout)
    check_schema(data, "summary")
    assert data["totals"]["records"] == 1500
    assert data["timeline"]["bucket_seconds"] == 120
    (spike,) = data["spikes"]
    assert spike["category"] == "system" and spike["ongoing"] is True


def test_once_reads_csv_with_its_header_and_an_unfinished_last_line(tmp_path: Path) -> None:
    log = tmp_path / "export.csv"
    log.write_text("ts,txn_id,channel,status,resp_code\n"
                   "2026-11-11T00:00:01Z,A1,iso8583,failed,51\n"
                   "2026-11-11T00:00:02Z,A2,iso8583,success,00\n"
                   "2026-11-11T00:00:03Z,A3,iso8583,failed,96", encoding="utf-8")
    data = json.loads(run("watch", str(log), "--once", "-f", "json", "-q").stdout)
    assert data["totals"]["records"] == 3
    assert data["by_category"]["balance"] == 1 and data["by_category"]["system"] == 1
    assert data["inputs"][0]["format"] == "csv"


def test_once_on_an_empty_file_is_an_empty_summary(tmp_path: Path) -> None:
    log = tmp_path / "empty.jsonl"
    log.write_text("", encoding="utf-8")
    result = run("watch", str(log), "--once", "-f", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["totals"]["records"] == 0


@pytest.mark.parametrize(("args", "code", "words"), [
    (["-"], ExitCode.USAGE, "watch follows a file by name"),
    (["https://example.invalid/x"], ExitCode.USAGE, "watch follows a file by name"),
    (["{missing}"], ExitCode.INPUT, "no such file"),
    (["{missing}"], ExitCode.INPUT, "--wait waits for it to appear"),
    (["{log}", "--bucket", "0s"], ExitCode.USAGE, "--bucket '0s'"),
])
def test_watch_usage_and_input_errors(args: list[str], code: int, words: str,
                                      make_log: Callable[..., Path], tmp_path: Path) -> None:
    log = make_log(minutes=1)
    args = [a.format(missing=tmp_path / "missing.jsonl", log=log) for a in args]
    result = run("watch", *args, "--once")
    assert result.exit_code == code
    assert words in result.stderr


def test_wait_waits_for_the_file_to_appear(tmp_path: Path) -> None:
    log = tmp_path / "later.jsonl"
    proc = subprocess.Popen([console_script(), "watch", str(log), "--wait", "--once", "-f",
                             "json", "--interval", "0.1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.stderr is not None:
            line = proc.stderr.readline()  # the first line says it waits: the file is absent
            if b"waiting for" in line:
                break
        assert proc.poll() is None  # still waiting, not exit 3
        shutil.copy(EXAMPLE, log)
        stdout, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert json.loads(stdout)["totals"]["records"] == 3000


def test_binary_input_is_exit_3(tmp_path: Path) -> None:
    log = tmp_path / "app.bin"
    log.write_bytes(b"\x00\x01\x02\x03" * 100 + b"\n")
    assert run("watch", str(log), "--once").exit_code == ExitCode.INPUT


# -- a real process -------------------------------------------------------------------------

def console_script() -> str:
    found = shutil.which("txdiag", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.skip("txdiag console script not installed next to this Python")
    return found


class Process:
    """A running txdiag with its stdout collected line by line on a thread."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [console_script(), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={**os.environ, **(env or {})},
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        assert self.proc.stdout is not None
        threading.Thread(target=self._pump, args=(self.proc.stdout,), daemon=True).start()

    def _pump(self, stream: IO[bytes]) -> None:
        for raw in stream:
            self.lines.put(raw.decode("utf-8", "replace"))

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = 15.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.05)
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    break
                continue
            self.seen.append(line)
            if predicate(line):
                return line
        raise AssertionError(f"not seen in time; output so far: {self.seen[-5:]}")

    def stop(self, sig: int) -> tuple[int, str, str]:
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=15)
        rest = []
        while not self.lines.empty():
            rest.append(self.lines.get())
        time.sleep(0)  # let the pump thread finish the last lines
        assert self.proc.stderr is not None
        return code, "".join(self.seen + rest), self.proc.stderr.read().decode()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def spawn() -> Iterator[Callable[..., Process]]:
    started: list[Process] = []

    def start(*args: str, env: dict[str, str] | None = None) -> Process:
        process = Process(list(args), env)
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()


def lines_of(path: Path, first: int, last: int) -> str:
    with EXAMPLE.open(encoding="utf-8") as source:
        return "".join(line for n, line in enumerate(source) if first <= n < last)


def records_in(line: str) -> int | None:
    head = line.split("]", 1)[-1].strip()
    number = head.split(" records", 1)[0].replace(",", "")
    return int(number) if number.isdigit() else None




def test_follows_appends_rotation_and_truncation_then_ctrl_c_exits_130(
        tmp_path: Path, spawn: Callable[..., Process]) -> None:
    log = tmp_path / "app.jsonl"
    log.write_text(lines_of(EXAMPLE, 0, 100), encoding="utf-8")
    proc = spawn("watch", str(log), "--interval", "0.05")
    proc.wait_for(lambda line: records_in(line) == 100)

    with log.open("a", encoding="utf-8") as out:
        out.write(lines_of(EXAMPLE, 100, 300))
    proc.wait_for(lambda line: records_in(line) == 300)

    log.rename(tmp_path / "app.jsonl.1")  # logrotate: move, then create
    log.write_text(lines_of(EXAMPLE, 300, 350), encoding="utf-8")
    proc.wait_for(lambda line: records_in(line) == 350 and "rotated 1" in line)

    with log.open("w", encoding="utf-8") as out:  # truncated and rewritten shorter
        out.write(lines_of(EXAMPLE, 350, 360))
    proc.wait_for(lambda line: records_in(line) == 360 and "truncated 1" in line)

    code, stdout, stderr = proc.stop(signal.SIGINT)
    assert code == ExitCode.INTERRUPTED
    assert "360 records: " in stdout  # the final summary
    assert "Failures over time" in stdout
    assert "Traceback" not in stderr
    assert "rotated" in stderr and "watched" in stderr


def test_sigterm_prints_the_final_summary_and_exits_143(
        tmp_path: Path, spawn: Callable[..., Process]) -> None:
    log = tmp_path / "app.jsonl"
    log.write_text(lines_of(EXAMPLE, 0, 50), encoding="utf-8")
    proc = spawn("watch", str(log), "--interval", "0.05")
    proc.wait_for(lambda line: records_in(line) == 50)
    code, stdout, stderr = proc.stop(signal.SIGTERM)
    assert code == ExitCode.TERMINATED, stderr
    assert "\n50 records: " in stdout  # the final summary after the status lines
    assert "Traceback" not in stderr


def test_sigterm_with_format_json_prints_the_summary_json(
        tmp_path: Path, spawn: Callable[..., Process]) -> None:
    log = tmp_path / "app.jsonl"
    log.write_text("", encoding="utf-8")
    proc = spawn("watch", str(log), "--interval", "0.05", "--format", "json")
    # Machine formats print nothing until the end: wait until the log is open (following).
    wait_until_open(proc.proc.pid, log)
    code, stdout, stderr = proc.stop(signal.SIGTERM)
    assert code == ExitCode.TERMINATED, stderr
    assert json.loads(stdout)["command"] == "summary"
    assert "Traceback" not in stderr


def test_spike_flag_in_the_status_line(tmp_path: Path, spawn: Callable[..., Process],
                                       make_log: Callable[..., Path]) -> None:
    source = make_log("source.jsonl", minutes=40, per_minute=30, rates={"system": 0.02},
                      spike=(35, 39, "system", 0.7))
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    log = tmp_path / "app.jsonl"
    log.write_text("".join(lines[: 35 * 30]), encoding="utf-8")
    proc = spawn("watch", str(log), "--interval", "0.05")
    first = proc.wait_for(lambda line: records_in(line) == 35 * 30)
    assert "SPIKE" not in first
    with log.open("a", encoding="utf-8") as out:
        out.write("".join(lines[35 * 30:]))
    flagged = proc.wait_for(lambda line: records_in(line) == 40 * 30)
    assert "SPIKE system since 2026-11-11T00:35:00Z" in flagged
    assert "top system.bank_error" in flagged
    proc.stop(signal.SIGINT)


# -- on a terminal ----------------------------------------------------------------------------

def run_on_pty(args: list[str], env: dict[str, str], *, until: bytes,
               timeout: float = 15.0) -> tuple[int, bytes]:
    """Run with stdout on a pseudo-terminal until ``until`` shows, then Ctrl-C it."""
    pty = pytest.importorskip("pty")
    master, slave = pty.openpty()
    proc = subprocess.Popen([console_script(), *args], stdout=slave, stderr=subprocess.DEVNULL,
                            env={**os.environ, "COLUMNS": "100", "LINES": "60", **env})
    os.close(slave)
    output = b""
    deadline = time.monotonic() + timeout
    try:
        import select

        while until not in output and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.05)
            if ready:
                try:
                    output += os.read(master, 65536)
                except OSError:
                    break
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=15)
        while True:
            ready, _, _ = select.select([master], [], [], 0.2)
            if not ready:
                break
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    return code, output


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_on_a_terminal_the_view_is_redrawn_in_place(tmp_path: Path) -> None:
    log = tmp_path / "app.jsonl"
    log.write_text(lines_of(EXAMPLE, 0, 200), encoding="utf-8")
    code, output = run_on_pty(["watch", str(log), "--interval", "0.05"],
                              {"TERM": "xterm-256color"}, until=b"Ctrl-C to stop")
    assert code == ExitCode.INTERRUPTED
    assert b"\x1b[?25l" in output  # the cursor hidden while redrawing
    plain = re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", output)
    assert b"200 records, " in plain  # the live view's head line
    assert b"200 records: " in plain  # then the final summary


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_term_dumb_gets_plain_lines_even_on_a_terminal(tmp_path: Path) -> None:
    log = tmp_path / "app.jsonl"
    log.write_text(lines_of(EXAMPLE, 0, 200), encoding="utf-8")
    code, output = run_on_pty(["watch", str(log), "--interval", "0.05"], {"TERM": "dumb"},
                              until=b"200 records, ")
    assert code == ExitCode.INTERRUPTED
    assert b"\x1b" not in output  # no redraws, no colour
    assert b"] 200 records, " in output


@pytest.mark.parametrize(("width", "height"), [(120, 40), (80, 24)])
def test_the_live_screen_keeps_the_time_view_and_says_what_it_left_out(
        width: int, height: int) -> None:
    """At 120x40 the live view used to cut off its bottom, the time view; now it comes first
    and the screen says how many lines of the totals are left for the final summary."""
    import io

    from txdiag.cli.common import InputSettings
    from txdiag.cli.session import Session
    from txdiag.cli.watching import Quiet, Watcher, follow, live_screen
    from txdiag.render.console import make_console

    session = Session.open([str(EXAMPLE)], InputSettings(quiet=True), None)
    watcher = Watcher(session, str(EXAMPLE), 60, 5)
    follow(watcher, Quiet(), interval=1, once=True, from_end=False)
    console = make_console(io.StringIO(), width=width)
    console.height = height
    lines = [line.plain for line in live_screen(watcher, console, False)]
    rendered = sum(len(console.render_lines(line, pad=False)) for line in
                   live_screen(watcher, console, False))
    assert rendered <= height
    assert lines[0].startswith("[") and "3,000 records" in lines[0]
    assert any(line.startswith("Failures over time") for line in lines)
    assert any(line.startswith("system ") and "█" in line for line in lines)
    assert lines[-1].startswith("... ") and "more lines" in lines[-1]
