#!/usr/bin/env python3
"""Cost of classifying one distinct message: txdiag's classifier against a plain loop.

Real gateway messages carry order numbers, amounts and trace ids, so in a log nearly every
message is new to any memo: what one distinct message costs is what ``summary`` pays per record
on such logs. This measures it in-process (no start-up, no reading), on messages built from
realistic Chinese and English templates, each made distinct by an order number:

- ``txdiag``: ``Classifier.decide(message=...)`` (the rule that decides, as ``summary`` asks),
  one fresh message at a time;
- ``loop``: what a user could write in ten minutes: Python's ``re`` with one alternation of a
  handful of keyword patterns, searched once per message.

    python benchmarks/message_cost.py              # 50,000 messages, best of 3
    python benchmarks/message_cost.py 200000 --repeat 5
    python benchmarks/message_cost.py --corpus     # the labelled corpus' real messages, each
                                                   # new in wording, not only in its numbers

To compare two versions in one run, point PYTHONPATH at the other checkout's src/ and run the
same script again right after.

Quote the per-message microseconds and the ratio from one run; the machine is shared.
"""

from __future__ import annotations

import argparse
import csv
import re
import time
from pathlib import Path

from txdiag.classify import Classifier
from txdiag.rulebook import load_rulebook

TEMPLATES = (
    "银行预留手机号与输入不一致 order={n}",
    "手机号与银行卡预留不符，请核实 订单号{n}",
    "您的网络好像不太给力，请稍后再试({n})",
    "账户余额不足，请充值后再支付 out_trade_no=WX{n}",
    "该银行卡已被列入黑名单 txn={n}",
    "持卡人身份信息校验不通过 req_id={n}",
    "餘額不足 交易編號{n}",
    "订单处理中，请稍后查询 {n}",
    "系统繁忙，请稍后再试 trace={n}",
    "java.net.SocketTimeoutException: Read timed out (request {n})",
    "Insufficient funds in account {n}",
    "Card expired for order {n}",
    "Do not honor; reference {n}",
    "settlement job {n} stuck in state WAIT_CONFIRM",
    "unexpected value in field {n} of the callback",
)
LOOP_PATTERNS = (r"余额不足|insufficient", r"预留手机|reserved phone", r"超时|timed? ?out",
                 r"繁忙|busy", r"黑名单|blacklist", r"身份|identity", r"处理中|pending",
                 r"expired|过期", r"honou?r")


CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "corpus"


def messages(count: int) -> list[str]:
    return [TEMPLATES[i % len(TEMPLATES)].format(n=10_000_000 + i) for i in range(count)]


def corpus_messages() -> list[str]:
    """Every distinct message of the labelled corpus (real wording from many sources)."""
    found: dict[str, None] = {}
    for path in sorted(CORPUS.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            found.update((row["message"], None) for row in csv.DictReader(handle)
                         if row["message"])
    return list(found)


def best(run: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", type=int, nargs="?", default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--corpus", action="store_true",
                        help="the corpus' distinct real messages instead of generated ones")
    args = parser.parse_args()
    texts = corpus_messages() if args.corpus else messages(args.count)
    args.count = len(texts)
    rulebook = load_rulebook()
    Classifier(rulebook).decide(message="warm up: compile the pattern sets")

    classifier = Classifier(rulebook)

    def cold() -> None:
        fresh = Classifier(rulebook)  # patterns compiled, RE2's lazy automata empty
        fresh.decide(message="warm up")
        for text in texts:
            fresh.decide(message=text)

    def txdiag() -> None:
        # The automata warm (as after the first minutes of a long log), every decision
        # forgotten: each message is new to the memo.
        forget = getattr(classifier, "forget", None)
        if forget is not None:
            forget()
        else:  # a version before Classifier.forget (to compare in one run)
            classifier._first.cache_clear()
        for text in texts:
            classifier.decide(message=text)

    combined = re.compile("|".join(f"({p})" for p in LOOP_PATTERNS), re.IGNORECASE)

    def loop() -> None:
        for text in texts:
            found = combined.search(text)
            if found is not None:
                _ = found.lastindex

    first = best(cold, 1)
    txdiag()
    ours = best(txdiag, args.repeat)
    theirs = best(loop, args.repeat)
    per = 1e6 / args.count
    kind = "corpus messages (distinct wording)" if args.corpus else "distinct messages"
    print(f"{args.count:,} {kind}, best of {args.repeat}")
    print(f"  txdiag decide   {ours * per:7.2f} µs per message "
          f"(first pass, automata cold: {first * per:.2f} µs)")
    print(f"  plain re loop   {theirs * per:7.2f} µs per message ({len(LOOP_PATTERNS)} patterns)")
    print(f"  ratio           {ours / theirs:7.2f}x the loop's time")


if __name__ == "__main__":
    main()
