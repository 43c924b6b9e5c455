#!/usr/bin/env python3
"""End-to-end benchmark: ``txdiag`` as a whole process against jq and a plain Python loop.

Every command runs as its own process, start-up included, on data from ``gen_logs.py`` (cached
in ``benchmarks/data/``, which git ignores). Each is run ``--repeat`` times; the best wall time
is reported with records/s, MB/s (uncompressed input bytes), the peak RSS of the process (from
``os.wait4``) and how many times faster (in records/s) txdiag ``summary`` is than each case.
The baselines run on the first ``--jq-records`` / ``--loop-records`` records of the same data
(jq takes minutes per 100,000); rates are compared, not times.

    python benchmarks/bench.py                       # 1M JSONL records: summary vs jq vs loop
    python benchmarks/bench.py 200000 1000000 --repeat 5
    python benchmarks/bench.py 1000000 --cases summary,jobs2,gzip,csv,logfmt,diagnose,startup
    python benchmarks/bench.py 300000 --messages both \\
        --cases plain,plainrows,summary,jobs2,diagnose,check       # issue 14's table

Cases: ``summary`` (``txdiag summary --format json``), ``jobs2`` (the same with ``--jobs 2``),
``gzip``, ``csv``, ``logfmt``, ``jsonarray``, ``jsonpretty``, ``jsonpath`` (summary of the same
records in those forms; the last three JSON documents: one array on a single line, the array
pretty-printed with an indent of 2, and the single-line array under ``data.list`` of an object
read with ``--records-path data.list``), ``diagnose``
(``txdiag diagnose --format jsonl``), ``jq`` (a code map plus message regexes taken from the
rulebook, grouped by reason), ``loop`` (``json.loads`` per line, a code dictionary and one
combined regex of every rulebook message pattern, in plain Python), ``plain`` (what a user
writes in ten minutes: ``json.loads`` per line, a code dictionary and five regular
expressions over the message, counted by category), ``plainrows`` (the
same loop writing one JSON row per failure: ``diagnose``'s baseline), ``check``
(``txdiag check --max-rate failure=100%``), ``floor`` (the least any per-line
reader in CPython does: msgspec decodes each line into a struct of the data's names and the
deciding fields are counted with ``Counter``; no classification, no times, no accounting: what
``summary`` could reach if all else were free), ``startup`` (``txdiag --version`` and
``txdiag explain 51``).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
DEFAULT_CASES = "summary,jobs2,jq,loop"
SEED = 20261111


@dataclass
class Result:
    case: str
    records: int
    input_bytes: int
    seconds: float
    peak_rss_kib: int

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0


def txdiag_command() -> list[str]:
    found = shutil.which("txdiag", path=str(Path(sys.executable).parent)) or shutil.which(
        "txdiag")
    return [found] if found else [sys.executable, "-m", "txdiag"]


def data_file(records: int, fmt: str, compressed: bool = False, *,
              distinct: bool = False) -> Path:
    """Generate (once) ``records`` records in ``fmt``; the same seed gives the same bytes.
    ``distinct``: every message holds an order number and a trace id."""
    DATA.mkdir(exist_ok=True)
    suffix = {"jsonl": "jsonl", "csv": "csv", "logfmt": "log"}[fmt]
    path = DATA / f"gen-{records}-{SEED}{'-distinct' if distinct else ''}.{suffix}"
    if not path.exists():
        print(f"generating {path.name} ...", file=sys.stderr, flush=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        subprocess.run([sys.executable, str(HERE / "gen_logs.py"), "--records", str(records),
                        "--seed", str(SEED), "--format", fmt, "--out", str(tmp),
                        *(["--distinct-messages"] if distinct else [])], check=True)
        tmp.replace(path)
    if not compressed:
        return path
    packed = path.with_suffix(path.suffix + ".gz")
    if not packed.exists():
        print(f"compressing {packed.name} ...", file=sys.stderr, flush=True)
        with path.open("rb") as source, gzip.open(packed, "wb", compresslevel=6) as target:
            shutil.copyfileobj(source, target, 1 << 20)
    return packed


def one_line_array(jsonl: Path) -> Path:
    """The records of a JSON Lines file as one JSON array on a single line (made once)."""
    path = jsonl.with_suffix(".array.json")
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        with jsonl.open("rb") as source, tmp.open("wb") as target:
            target.write(b"[")
            for number, line in enumerate(source):
                target.write((b"," if number else b"") + line.rstrip(b"\r\n"))
            target.write(b"]")
        tmp.replace(path)
    return path


def pretty_array(jsonl: Path) -> Path:
    """The records of a JSON Lines file as a JSON array pretty-printed (made once)."""
    path = jsonl.with_suffix(".pretty.json")
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        with jsonl.open("rb") as source, tmp.open("w", encoding="utf-8") as target:
            target.write("[\n")
            for number, line in enumerate(source):
                text = json.dumps(json.loads(line), indent=2, ensure_ascii=False)
                target.write((",\n" if number else "") + "  " + text.replace("\n", "\n  "))
            target.write("\n]\n")
        tmp.replace(path)
    return path


def records_under_a_path(jsonl: Path) -> Path:
    """The records of a JSON Lines file as ``{"meta": ..., "data": {"list": [...]}}`` (made
    once), the array on a single line."""
    path = jsonl.with_suffix(".path.json")
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        with one_line_array(jsonl).open("rb") as source, tmp.open("wb") as target:
            target.write(b'{"meta": {"page": 1, "tags": ["a", "b"]}, "data": {"list": ')
            shutil.copyfileobj(source, target, 1 << 20)
            target.write(b"}}")
        tmp.replace(path)
    return path


CLOCK = "wall"
"""What a run's seconds are: ``wall`` time, or ``cpu`` time (user and system, of the process
and the children it waited for: steadier on a shared machine, but a sum over the workers of
``--jobs``)."""


OUTPUT_KEPT = 1 << 16


def run(command: list[str], *, stdin: Path | None = None) -> tuple[float, int, bytes]:
    """Seconds (:data:`CLOCK`), peak RSS (KiB) and the head of the stdout of one process.

    The output is read through a pipe and dropped as it comes: kept whole (``diagnose``
    writes hundreds of MB), it would be in this process when the next one is forked, and
    count in that one's peak RSS."""
    with open(os.devnull, "wb") as devnull, (
            stdin.open("rb") if stdin else open(os.devnull, "rb")) as source:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdin=source, stdout=subprocess.PIPE,
                                   stderr=devnull)
        assert process.stdout is not None
        output = process.stdout.read(OUTPUT_KEPT)
        while process.stdout.read(1 << 20):
            pass
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} exited {process.returncode}")
    if CLOCK == "cpu":
        elapsed = usage.ru_utime + usage.ru_stime
    return elapsed, usage.ru_maxrss, output


def best_of(repeat: int, command: list[str], **kwargs: Path) -> tuple[float, int, bytes]:
    results = [run(command, **kwargs) for _ in range(repeat)]
    seconds = min(r[0] for r in results)
    return seconds, max(r[1] for r in results), results[-1][2]


# -- the jq program ------------------------------------------------------------------------


def jq_program() -> str:
    """Success or failure by status, then the channel's code, a channel-independent code, and
    the message patterns in rulebook order, as the rulebook says; counts per reason."""
    codes, messages, failure = baseline_rules(_onig_ok)
    return (
        f"def codes: {json.dumps(codes, ensure_ascii=False)};\n"
        f"def pats: {json.dumps(messages, ensure_ascii=False)};\n"
        f"def failed: {json.dumps(failure)};\n"
        "def chan: ((.channel // \"\") | ascii_downcase);\n"
        "def err: (.error | if type == \"object\" then . else {} end);\n"
        "def code: (.sub_code // .err_code // .resp_code // .respCode // err.decline_code\n"
        "           // err.code // .code // \"\" | tostring | ascii_upcase);\n"
        "def msg: (.sub_msg // .err_code_des // .err_msg // .respMsg // err.message\n"
        "          // .message // .msg // (.error | strings) // \"\");\n"
        "def reason: . as $r | (codes[($r|chan) + \":\" + ($r|code)] // codes[\":\" + ($r|code)]\n"
        "  // ([pats[] | select(. as $p | ($r|msg) | test($p[0]; \"i\")) | .[1]] | first)\n"
        "  // \"unknown.no_match\");\n"
        "reduce (inputs | select(((.status // .trade_status // \"failed\") | ascii_downcase)\n"
        "                          as $s | failed | index($s)) | reason) as $x\n"
        "  ({}; .[$x] += 1)\n"
    )


def _onig_ok(pattern: str) -> bool:
    # Oniguruma (jq) reads these RE2 patterns the same way; skip anything unusual.
    return "\\p" not in pattern and "(?P" not in pattern


# -- the plain loop ------------------------------------------------------------------------

FIELDS_OF = r'''
def records(path, counts):
    """(line number, record) of every readable line; the others counted as unreadable."""
    with open(path, "rb") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except ValueError:
                counts["unreadable"] += 1


def code_of(record, nested):
    return str(record.get("sub_code") or record.get("err_code") or record.get("resp_code")
               or record.get("respCode") or nested.get("decline_code") or nested.get("code")
               or record.get("code") or "").upper()


def message_of(record, nested, error):
    return (record.get("sub_msg") or record.get("err_code_des") or record.get("err_msg")
            or record.get("respMsg") or nested.get("message") or record.get("message")
            or record.get("msg") or (error if isinstance(error, str) else "") or "")
'''
"""How the baselines written in Python read records, and a record's code and message."""

PLAIN_LOOP = FIELDS_OF + r'''
import json, re, sys
from collections import Counter
codes, patterns, failed = json.load(open(sys.argv[2], encoding="utf-8"))
combined = re.compile("|".join(f"(?P<r{i}>{p})" for i, (p, _) in enumerate(patterns)), re.I)
reasons = [r for _, r in patterns]
counts = Counter()
for _, record in records(sys.argv[1], counts):
    status = str(record.get("status") or record.get("trade_status") or "failed").lower()
    if status not in failed:
        counts["success"] += 1
        continue
    error = record.get("error")
    nested = error if isinstance(error, dict) else {}
    channel = str(record.get("channel") or "").lower()
    code = code_of(record, nested)
    reason = codes.get(f"{channel}:{code}") or codes.get(f":{code}")
    if reason is None:
        found = combined.search(message_of(record, nested, error))
        reason = reasons[int(found.lastgroup[1:])] if found else "unknown.no_match"
    counts[reason] += 1
json.dump(counts, sys.stdout)
'''


PLAIN_PROLOGUE = FIELDS_OF + r'''
import json, re, sys
from collections import Counter

# What a user writes in ten minutes: the codes they know, five patterns for the rest.
CODES = {
    "51": "balance", "61": "balance", "NOTENOUGH": "balance", "INSUFFICIENT_FUNDS": "balance",
    "ACQ.BUYER_BALANCE_NOT_ENOUGH": "balance", "05": "card_binding", "54": "card_binding",
    "14": "card_binding", "55": "card_binding", "EXPIRED_CARD": "card_binding",
    "INCORRECT_CVC": "card_binding", "59": "risk_control", "FRAUDULENT": "risk_control",
    "ACQ.PAYMENT_REQUEST_HAS_RISK": "risk_control", "91": "system", "96": "system",
    "SYSTEMERROR": "system", "BANKERROR": "system", "ACQ.SYSTEM_ERROR": "system",
    "06": "system", "03": "network", "USERPAYING": "unknown", "ORDERPAID": "unknown",
    "ACQ.TRADE_HAS_SUCCESS": "unknown",
}
PATTERNS = [
    (re.compile(r"余额不足|额度不足|insufficient|not sufficient", re.I), "balance"),
    (re.compile(r"超时|timed? ?out|timeout|connection (?:refused|reset)|deadline", re.I),
     "network"),
    (re.compile(r"风险|风控|risk|fraud", re.I), "risk_control"),
    (re.compile(r"卡|手机号|card|expired|cvc|pin", re.I), "card_binding"),
    (re.compile(r"系统|繁忙|unavailable|malfunction|error|异常", re.I), "system"),
]
FAILED = {"failed", "fail", "failure", "error", "declined", "trade_closed"}


def diagnose(record):
    # None for a success, else (code, message, category).
    status = str(record.get("status") or record.get("trade_status") or
                 record.get("result_code") or "failed").lower()
    if status not in FAILED:
        return None
    error = record.get("error")
    nested = error if isinstance(error, dict) else {}
    code = code_of(record, nested)
    message = message_of(record, nested, error)
    category = CODES.get(code)
    if category is None:
        category = next((name for pattern, name in PATTERNS if pattern.search(message)),
                        "unknown")
    return code, message, category
'''

PLAIN_COUNTS = PLAIN_PROLOGUE + r'''
counts = Counter()
for _, record in records(sys.argv[1], counts):
    found = diagnose(record)
    counts["success" if found is None else found[2]] += 1
json.dump(counts, sys.stdout)
'''

PLAIN_ROWS = PLAIN_PROLOGUE + r'''
write = sys.stdout.write
dumps = json.dumps
for number, record in records(sys.argv[1], Counter()):
    found = diagnose(record)
    if found is None:
        continue
    code, message, category = found
    write(dumps({
        "txn_id": record.get("txn_id") or record.get("out_trade_no"),
        "timestamp": record.get("ts"), "channel": record.get("channel"),
        "error_code": code, "error_message": message, "latency_ms": record.get("latency_ms"),
        "amount": record.get("amount"), "currency": record.get("currency"),
        "user_id": record.get("user_id"), "category": category,
        "source": {"file": sys.argv[1], "line": number},
    }, ensure_ascii=False) + "\n")
'''


FLOOR_LOOP = r'''
import sys
from collections import Counter
from operator import itemgetter
from typing import Any

import msgspec

DECIDING = {"status", "channel", "http_status", "error", "code", "msg", "sub_code", "sub_msg",
            "err_code", "err_code_des", "err_msg", "resp_code", "respCode", "respMsg",
            "return_code", "result_code", "message", "trade_status"}
path = sys.argv[1]
with open(path, "rb") as handle:
    names: list[str] = []
    for line, _ in zip(handle, range(10_000)):
        names.extend(name for name in msgspec.json.decode(line) if name not in names)
keys = [name for name in names if name in DECIDING]
# An object among the deciding fields (Stripe's "error") as a hashable struct, as txdiag does.
nested = msgspec.defstruct("Nested", [(name, Any, None) for name in
                                      ("type", "code", "decline_code", "message", "param")],
                           frozen=True, gc=False)
fields = [(name, str | int | None | nested, None) for name in keys]
fields += [(name, Any, None) for name in names if name not in DECIDING]
struct = msgspec.defstruct("Fields", fields, gc=False)
decode = msgspec.json.Decoder(struct).decode
astuple = msgspec.structs.astuple
deciding = itemgetter(slice(0, len(keys)))
counts: Counter[Any] = Counter()
with open(path, "rb") as handle:
    while True:
        block = handle.read(1 << 16) + handle.readline()
        if not block:
            break
        lines = block.split(b"\n")
        if not lines[-1]:
            lines.pop()
        counts.update(map(deciding, map(astuple, map(decode, lines))))
print(sum(counts.values()), len(counts))
'''


def plain_loop_inputs() -> Path:
    path = DATA / "plain_loop_rules.json"
    path.write_text(json.dumps(baseline_rules(_python_re_ok), ensure_ascii=False),
                    encoding="utf-8")
    return path


def _python_re_ok(pattern: str) -> bool:
    try:
        re.compile(pattern)
    except re.error:
        return False
    return True


def baseline_rules(usable: Callable[[str], bool]
                   ) -> tuple[dict[str, str], list[list[str]], list[str]]:
    """What the baselines classify with, from the rulebook: the codes by ``channel:code``
    (``:code`` for any channel), the message patterns ``usable`` by their regex engine with
    their reasons, in rulebook order, and the status words that mean failure."""
    sys.path.insert(0, str(HERE.parent / "src"))
    from txdiag.rulebook import load_rulebook

    rulebook = load_rulebook()
    codes: dict[str, str] = {}
    patterns: list[list[str]] = []
    for rule in rulebook.rules:
        if rule.selector == "codes" and not rule.fallback:
            for code in rule.codes:
                codes.setdefault(f"{rule.channel or ''}:{code}", rule.reason)
        elif rule.selector == "messages":
            patterns.extend([pattern, rule.reason] for pattern in rule.messages
                            if usable(pattern))
    failure = sorted(k for k, v in rulebook.status_words().items() if v != "success")
    return codes, patterns, failure


# -- cases ---------------------------------------------------------------------------------


def measure(case: str, records: int, repeat: int, baseline: dict[str, int],
            distinct: bool = False) -> list[Result]:
    txdiag = txdiag_command()
    if case in baseline:
        records = min(records, baseline[case])
    jsonl = data_file(records, "jsonl", distinct=distinct)
    size = jsonl.stat().st_size
    if case == "summary":
        seconds, rss, _ = best_of(repeat, [*txdiag, "summary", "--format", "json", str(jsonl)])
    elif case.startswith("jobs"):
        jobs = case[4:] or "2"
        seconds, rss, _ = best_of(repeat, [*txdiag, "summary", "--format", "json", "--jobs",
                                           jobs, str(jsonl)])
    elif case == "gzip":
        seconds, rss, _ = best_of(repeat, [*txdiag, "summary", "--format", "json",
                                           str(data_file(records, "jsonl", True))])
    elif case == "jsonarray":
        path = one_line_array(jsonl)
        size = path.stat().st_size
        seconds, rss, _ = best_of(repeat, [*txdiag, "summary", "--format", "json", str(path)])
    elif case in ("jsonpretty", "jsonpath"):
        path = pretty_array(jsonl) if case == "jsonpretty" else records_under_a_path(jsonl)
        size = path.stat().st_size
        extra = ["--records-path", "data.list"] if case == "jsonpath" else []
        seconds, rss, _ = best_of(repeat, [*txdiag, "summary", "--format", "json", *extra,
                                           str(path)])
    elif case in ("csv", "logfmt"):
        path = data_file(records, case)
        size = path.stat().st_size
        seconds, rss, _ = best_of(repeat, [*txdiag, "summary", "--format", "json", str(path)])
    elif case == "diagnose":
        seconds, rss, _ = best_of(repeat, [*txdiag, "diagnose", "--format", "jsonl", "-q",
                                           str(jsonl)])
    elif case == "check":
        seconds, rss, _ = best_of(repeat, [*txdiag, "check", "--max-rate", "failure=100%",
                                           "--format", "json", "-q", str(jsonl)])
    elif case in ("plain", "plainrows"):
        script = DATA / f"{case}.py"
        script.write_text(PLAIN_COUNTS if case == "plain" else PLAIN_ROWS, encoding="utf-8")
        seconds, rss, _ = best_of(repeat, [sys.executable, str(script), str(jsonl)])
    elif case == "jq":
        program = DATA / "classify.jq"
        program.write_text(jq_program(), encoding="utf-8")
        seconds, rss, _ = best_of(max(1, repeat // 3), ["jq", "-n", "-c", "-f", str(program),
                                                        str(jsonl)])
    elif case == "loop":
        script = DATA / "plain_loop.py"
        script.write_text(PLAIN_LOOP, encoding="utf-8")
        seconds, rss, _ = best_of(repeat, [sys.executable, str(script), str(jsonl),
                                           str(plain_loop_inputs())])
    elif case == "floor":
        script = DATA / "floor_loop.py"
        script.write_text(FLOOR_LOOP, encoding="utf-8")
        seconds, rss, _ = best_of(repeat, [sys.executable, str(script), str(jsonl)])
    elif case == "startup":
        results = []
        for name, args in (("--version", ["--version"]), ("explain 51", ["explain", "51"])):
            seconds, rss, _ = best_of(max(repeat, 5), [*txdiag, *args])
            results.append(Result(f"startup {name}", 0, 0, seconds, rss))
        return results
    else:
        raise SystemExit(f"unknown case {case!r}")
    return [Result(case, records, size, seconds, rss)]


PLAIN_BASELINE = {"diagnose": "plainrows"}
"""The plain loop each case is compared with (``plain`` for the others)."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[1_000_000],
                        help="numbers of records (default 1000000)")
    parser.add_argument("--cases", default=DEFAULT_CASES,
                        help=f"comma-separated (default {DEFAULT_CASES})")
    parser.add_argument("--messages", choices=("repeated", "distinct", "both"),
                        default="repeated",
                        help="the generator's messages as they are (repeated), or each made "
                        "distinct by an order number and a trace id, or both data sets")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; best is kept")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="measure wall time (default) or CPU time (user + system: "
                        "steadier on a loaded machine; not for --jobs)")
    parser.add_argument("--jq-records", type=int, default=20_000,
                        help="records for jq (it runs at about 200 records/s; default 20000)")
    parser.add_argument("--loop-records", type=int, default=100_000,
                        help="records for the rulebook loop (default 100000)")
    args = parser.parse_args()
    global CLOCK  # noqa: PLW0603 - one setting for every run of this process
    CLOCK = args.clock
    baseline = {"jq": args.jq_records, "loop": args.loop_records}
    kinds = ["repeated", "distinct"] if args.messages == "both" else [args.messages]
    print(f"{'case':<22} {'records':>10} {'seconds':>8} {'records/s':>11} {'MB/s':>7} "
          f"{'peak RSS MB':>11} {'summary is':>10} {'vs plain':>8}")
    for records in args.sizes:
        for kind in kinds:
            results: list[Result] = []
            for case in args.cases.split(","):
                if case == "jq" and shutil.which("jq") is None:
                    print("jq not found: skipped", file=sys.stderr)
                    continue
                results.extend(measure(case.strip(), records, args.repeat, baseline,
                                       distinct=kind == "distinct"))
            report(results, kind if len(kinds) > 1 else "")


def report(results: list[Result], kind: str) -> None:
    """One line per case: "summary is" how many times faster ``summary`` is than the case,
    "vs plain" how many times faster the case is than its plain loop (``plain``, or
    ``plainrows`` for ``diagnose``), both measured in this run."""
    by_case = {r.case: r for r in results}
    reference = by_case.get("summary")
    for r in results:
        ratio = versus = ""
        if reference is not None and r.records and r.rate:
            ratio = f"{reference.rate / r.rate:.2f}x"
        plain = by_case.get(PLAIN_BASELINE.get(r.case, "plain"))
        if plain is not None and plain is not r and r.records and plain.rate:
            versus = f"{r.rate / plain.rate:.2f}x"
        mbs = f"{r.input_bytes / r.seconds / 1e6:.1f}" if r.input_bytes else ""
        rate = f"{r.rate:,.0f}" if r.records else ""
        name = f"{r.case} ({kind})" if kind else r.case
        print(f"{name:<22} {r.records or '':>10} {r.seconds:>8.3f} {rate:>11} "
              f"{mbs:>7} {r.peak_rss_kib / 1024:>11.1f} {ratio:>10} {versus:>8}", flush=True)


if __name__ == "__main__":
    main()
