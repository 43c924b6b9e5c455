#!/usr/bin/env bash
# Incident runbook step: how bad is it, and what kind?
#
#   examples/runbook.sh LOGFILE [MAX_SYSTEM_PERCENT]
#
# Summarizes the log with txdiag's JSON output, prints the failure mix and the top reasons, and
# exits 1 (so a pager or CI step can act) when system faults exceed the given share of all
# transactions (default 5%). Exit 2 for usage errors, 3 when the log cannot be read.
set -euo pipefail

log=${1:?usage: runbook.sh LOGFILE [MAX_SYSTEM_PERCENT]}
max_system=${2:-5}
txdiag=${TXDIAG:-txdiag}

summary=$("$txdiag" summary "$log" --format json --quiet) || exit $?

python3 - "$max_system" "$summary" <<'PY'
import json
import sys

limit = float(sys.argv[1])
data = json.loads(sys.argv[2])
totals = data["totals"]
records = totals["records"]
if records == 0:
    print("no records in the log: nothing to judge")
    sys.exit(5)
system_pct = 100 * data["by_category"]["system"] / records
print(f"{records} transactions, {totals['failures']} failed "
      f"({100 * totals['failures'] / records:.1f}%), {totals['unreadable']} unreadable lines")
for category, count in data["by_category"].items():
    print(f"  {category:<13} {count:>7}")
print("top reasons:")
for row in data["top_reasons"][:5]:
    print(f"  {row['reason']:<40} {row['count']:>7}")
if system_pct > limit:
    print(f"PAGE: system faults are {system_pct:.1f}% of transactions (limit {limit}%)")
    sys.exit(1)
print(f"ok: system faults {system_pct:.1f}% (limit {limit}%)")
PY
