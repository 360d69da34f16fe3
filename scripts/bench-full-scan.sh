#!/usr/bin/env bash
# The full scan's own speed, with the API's limits lifted: a portal of
# CONTACTS contacts (default 1,000,000; deals half as many) behind
# LATENCY_MS of latency (default 20), one `hubsync run` of the table
# contacts_deals (CONTACTS parents): the object list, then the scan, end to
# end into LMDB. Prints parents per second, API calls, and the peak of the
# summed resident memory of every hubsync process (coordinator and workers,
# sampled every 50 ms), then verifies the mirror against /_sim/truth.
#
#   scripts/bench-full-scan.sh [CONTACTS [LATENCY_MS [WORKERS [INFLIGHT]]]]
set -euo pipefail
cd "$(dirname "$0")/.."

CONTACTS=${1:-1000000}
LATENCY_MS=${2:-20}
WORKERS=${3:-2}
INFLIGHT=${4:-16}
. scripts/sim-lib.sh

sim_start --contacts "$CONTACTS" --companies 1000 --deals $((CONTACTS / 2)) --tickets 1000 --tier unlimited --latency-ms "$LATENCY_MS"

export HUBSYNC_TABLES=contacts_deals
hs() { "$HUBSYNC" --db "$workdir/db" --base-url "$base" --progress never "$@"; }
echo "portal: $CONTACTS contacts, $((CONTACTS / 2)) deals; ${LATENCY_MS} ms latency, no limits;" \
    "$WORKERS workers x $INFLIGHT in flight"
hs run --rate 0 --search-rate 0 --workers "$WORKERS" --inflight "$INFLIGHT" --json \
    >"$workdir/run.json" 2>"$workdir/run.err" &
run_pid=$!
peak=0
# The run's processes: the coordinator and its children (the workers).
while kill -0 "$run_pid" 2>/dev/null; do
    kb=0
    for p in $run_pid $(pgrep -P "$run_pid" || true); do
        r=$(awk '/^VmRSS/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
        kb=$((kb + ${r:-0}))
    done
    [ "$kb" -gt "$peak" ] && peak=$kb
    sleep 0.05
done
wait "$run_pid" || { cat "$workdir/run.err" >&2; exit 1; }
grep -E "object sync: .* done|full scan complete" "$workdir/run.err" || true
python3 - "$workdir/run.json" "$peak" <<'EOF'
import json, sys
run = json.load(open(sys.argv[1]))
t = run["tables"][0]
secs = run["seconds"]
print(f"{t['table']}: {t['parents']} parents in {secs:.2f} s end to end: "
      f"{t['parents'] / secs:,.0f} parents/s; {t['assoc_calls']} batch reads, "
      f"{run['calls']} API calls in all")
print(f"peak RSS of all hubsync processes together: {int(sys.argv[2]) / 1024:.0f} MiB")
EOF
mirror_check "$workdir/db" contacts_deals
