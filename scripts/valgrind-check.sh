#!/usr/bin/env bash
# One end-to-end scenario under valgrind memcheck (issue 7): setup, a full
# sync, changes, an incremental run, status and export of a small portal,
# with every hubsync process (the coordinator and each forked worker)
# checked. Passes when every process reports 0 errors and 0 bytes
# definitely lost, and the mirror equals the simulator's truth.
#
#   scripts/valgrind-check.sh        (from the project root; `make test` runs it)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/sim-lib.sh

command -v valgrind >/dev/null || { echo "valgrind-check: valgrind is not installed" >&2; exit 2; }
tables="companies_contacts companies_deals companies_tickets contacts_deals contacts_tickets deals_tickets"
sim_start --contacts 600 --companies 120 --deals 300 --tickets 60 --heavy-parents 1 \
    --tier unlimited --latency-ms 5 --rollup-bumps always
db="$workdir/db"
logs="$workdir/vg"
mkdir -p "$logs"

# vg NAME ARGS…: hubsync ARGS under memcheck; one log per process.
vg() {
    local name=$1
    shift
    valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 \
        --log-file="$logs/$name.%p.log" "$HUBSYNC" --db "$db" --base-url "$base" "$@"
}

start=$(date +%s)
vg setup setup >/dev/null
vg full run --progress never --workers 2 --lag-ms 100 2>/dev/null
curl -sS -X POST "$base/_sim/mutate" \
    -d '{"count":40,"kinds":["associate","dissociate","relabel","archive","create","touch"]}' \
    >/dev/null
sleep 0.3
vg incremental run --progress never --workers 2 --lag-ms 100 2>/dev/null
vg status status --json >/dev/null
vg export export --format jsonl >/dev/null
mirror_check "$db" $tables

processes=0 bad=0
for log in "$logs"/*.log; do
    processes=$((processes + 1))
    # A process that ended normally prints its summaries; one killed
    # before them (never, on this path) would go unchecked, so it fails.
    if ! grep -q "ERROR SUMMARY: 0 errors" "$log" ||
        ! grep -qE "definitely lost: 0 bytes|All heap blocks were freed" "$log"; then
        echo "valgrind-check: $(basename "$log"):" >&2
        cat "$log" >&2
        bad=$((bad + 1))
    fi
done
echo "valgrind-check: $processes hubsync processes (coordinators and workers) under memcheck" \
    "in $(($(date +%s) - start)) s: $bad with errors, definite leaks or no summary"
[ "$bad" -eq 0 ] && [ "$processes" -ge 9 ]
