#!/usr/bin/env bash
# Incident runbook step: are payments within limits, and if not, what is failing and since when?
#
#   examples/runbook.sh LOGFILE [WINDOW]
#
# Gates on `txdiag check` over tumbling windows (default 5m): system faults and all failures as a
# share of all transactions. Within limits it prints one line and exits 0. On a breach it prints
# the verdict, the top reasons and the spikes `txdiag summary` finds, and pages someone when
# system faults breached (what engineering must act on; balance or card failures are the
# customers' to fix).
#
# Settings (environment):
#   TXDIAG           the txdiag command                          (default: txdiag)
#   MAX_SYSTEM_PCT   system faults allowed per window, in %      (default: 5)
#   MAX_FAILURE_PCT  all failures allowed per window, in %       (default: 50)
#   MIN_RECORDS      windows with fewer records are not judged   (default: 20)
#   PAGE_COMMAND     run with the page text as its last argument (default: print "PAGE: ..."
#                    on stderr), e.g. PAGE_COMMAND="notify-oncall --team payments"
#
# Exit: 0 within limits, 1 breached, 2 usage error, 3 unreadable log, 5 nothing to judge
# (an empty log or only quiet windows: never a silent pass), 130 interrupted.
set -euo pipefail

log=${1:?usage: runbook.sh LOGFILE [WINDOW]}
window=${2:-5m}
txdiag=${TXDIAG:-txdiag}
max_system=${MAX_SYSTEM_PCT:-5}
max_failure=${MAX_FAILURE_PCT:-50}
min_records=${MIN_RECORDS:-20}

status=0
verdict=$("$txdiag" check "$log" --window "$window" --min-records "$min_records" \
    --max-rate "system=$max_system" --max-rate "failure=$max_failure" \
    --format json --quiet) || status=$?

case $status in
    0 | 1 | 5) ;;        # a verdict: read it below
    *) exit "$status" ;; # 2 usage, 3 unreadable log, 130: txdiag has said why on stderr
esac

# The verdict as lines: "ok|breach|no_records", a headline, then one line per breach.
report=$(python3 - "$verdict" <<'PY'
import json
import sys

data = json.loads(sys.argv[1])
totals = data["totals"]
print(data["verdict"])
print(f"{totals['records']} transactions, {totals['failures']} failed; "
      f"{data['judged']} windows judged, {data['quiet']} too quiet to judge")
for check in data["checks"]:
    if check["ok"]:
        continue
    window = check["window"] or {}
    print(f"BREACH {check['threshold']}: {check['breached']} of {check['judged']} windows, "
          f"worst {100 * check['measured']:.1f}% at {window.get('start', '?')}")
for row in data["top_reasons"]:
    print(f"  {row['reason']:<42} {row['count']:>7}")
PY
)
kind=${report%%$'\n'*}
details=${report#*$'\n'}

if [ "$kind" = ok ]; then
    echo "ok: ${details%%$'\n'*}"
    exit 0
fi
if [ "$kind" = no_records ]; then
    echo "nothing to judge in $log: ${details%%$'\n'*}" >&2
    exit 5
fi

echo "$details"

# When did it start? Spikes: a category far above its own recent baseline.
summary=$("$txdiag" summary "$log" --format json --quiet)
python3 - "$summary" <<'PY'
import json
import sys

spikes = json.loads(sys.argv[1])["spikes"]
print("spikes:" if spikes else "spikes: none (a steady breach, not a sudden one)")
for s in spikes:
    state = " (ongoing)" if s["ongoing"] else ""
    print(f"  {s['category']:<13} {s['start']} to {s['end']}{state}: peak "
          f"{100 * s['peak_rate']:.1f}% (baseline {100 * s['baseline_rate']:.1f}%), "
          f"{s['affected']} failures, mostly {s['top_reason']}")
PY

system_breach=$(python3 - "$verdict" <<'PY'
import json
import sys

data = json.loads(sys.argv[1])
check = next((c for c in data["checks"] if c["target"] == "system" and not c["ok"]), None)
if check is not None:
    window = check["window"] or {}
    worst = next((b for b in data["breaches"] if b["target"] == "system"
                  and b["window"] == check["window"]), None)
    reason = f", mostly {worst['top_reason']}" if worst and worst["top_reason"] else ""
    print(f"system faults up to {100 * check['measured']:.1f}% of payments "
          f"(limit {100 * check['limit']:g}%) in {window.get('start', '?')} to "
          f"{window.get('end', '?')}{reason}; {check['breached']} of {check['judged']} "
          "windows over the limit")
PY
)
if [ -n "$system_breach" ]; then
    page="txdiag: $log: $system_breach"
    if [ -n "${PAGE_COMMAND:-}" ]; then
        # Split on purpose: PAGE_COMMAND may carry its own arguments.
        # shellcheck disable=SC2086
        $PAGE_COMMAND "$page"
    else
        echo "PAGE: $page" >&2
    fi
fi
exit 1
