#!/usr/bin/env bash
# `make run`: the main job on the bundled simulator. Starts bin/hubspot-sim
# with a realistic portal under HubSpot's Pro-tier limits (190 requests per
# rolling 10 s, 5 searches/s), runs `hubsync setup` and a full `hubsync run`,
# verifies the mirror against the simulator's truth, applies changes, runs
# again and verifies again. The simulator is stopped on exit, also on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

SIM=${HUBSPOT_SIM:-bin/hubspot-sim}
HUBSYNC=${HUBSYNC:-bin/hubsync}
workdir=$(mktemp -d)
sim_pid=""
cleanup() {
    if [ -n "$sim_pid" ]; then
        kill "$sim_pid" 2>/dev/null || true
        wait "$sim_pid" 2>/dev/null || true
    fi
    rm -rf "$workdir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

tables="companies_contacts companies_deals companies_tickets contacts_deals contacts_tickets deals_tickets"

echo "== hubspot-sim: 20,000 contacts, 4,000 companies, 10,000 deals, 2,000 tickets; Pro limits"
"$SIM" --port 0 --port-file "$workdir/port" --contacts 20000 --companies 4000 --deals 10000 \
    --tickets 2000 --tier pro >"$workdir/sim.out" 2>"$workdir/sim.err" &
sim_pid=$!
for _ in $(seq 1 300); do
    [ -s "$workdir/port" ] && break
    kill -0 "$sim_pid" 2>/dev/null || { cat "$workdir/sim.err" >&2; exit 1; }
    sleep 0.1
done
[ -s "$workdir/port" ] || { echo "hubspot-sim did not start" >&2; exit 1; }
base="http://127.0.0.1:$(cat "$workdir/port")"
cat "$workdir/sim.err"

export HUBSPOT_ACCESS_TOKEN=pat-na1-hubspot-sim
sync() { "$HUBSYNC" --db "$workdir/db" --base-url "$base" --progress always "$@"; }

# The mirror, sorted, against the truth, sorted: any difference is a failure.
verify() {
    sync export --format tsv | LC_ALL=C sort >"$workdir/mirror.tsv"
    : >"$workdir/truth.tsv"
    for t in $tables; do
        curl -sS "$base/_sim/truth?table=$t" >>"$workdir/truth.tsv"
    done
    LC_ALL=C sort -o "$workdir/truth.tsv" "$workdir/truth.tsv"
    local n diff
    n=$(wc -l <"$workdir/truth.tsv")
    diff=$(LC_ALL=C comm -3 "$workdir/mirror.tsv" "$workdir/truth.tsv" | wc -l)
    echo "mirror verified: $n associations, $diff differences"
    [ "$diff" -eq 0 ] || { echo "the mirror differs from the truth" >&2; exit 1; }
}

echo
echo "== hubsync setup (rollup fields decide each table's ping type)"
sync setup

echo
echo "== hubsync run: object sync and the parallel full scan"
sync run --workers 2 --inflight 4
verify

echo
echo "== 10 changes in HubSpot (associate, dissociate, relabel), then hubsync run again"
curl -sS -X POST -d '{"count":10,"kinds":["associate","dissociate","relabel"]}' \
    "$base/_sim/mutate" >/dev/null
sync run --workers 2 --inflight 4
verify

echo
echo "== what the simulator saw"
curl -sS "$base/_sim/stats"
echo
echo
echo "Done. See docs/CLI.md for the commands and docs/BENCHMARKS.md for the figures."
