#!/usr/bin/env bash
# The incremental route's cost on a large portal, measured: a portal of
# CONTACTS contacts (default 1,000,000) is fully synced with the limits
# lifted (that part is not what is measured), then CHANGES contacts
# (default 1,000) get a new deal association through /_sim/mutate, the
# simulator is put under Pro-tier limits (190 per rolling 10 s, 5 searches
# a second) and one incremental run is timed. Prints the search calls, the
# batch reads per table, the wall time, and what the search limit alone
# allows (the first search at once, one more every 200 ms), then verifies
# the mirror against /_sim/truth (the three rollup tables). The run verifies
# as a scheduled run would (--verify-fraction, default 0.02; VERIFY=F to
# change it): its batch reads are printed apart from the route's.
#
# BURSTS (default 10) is how many mutate calls the changes are spread over:
# the simulator stamps one call's writes with one millisecond.
#
# LATENCY (default none) is the simulator's latency for the timed run, set
# with the limits: MEAN[:JITTER] in ms, or hubspot for the per-endpoint
# profile (docs/SIMULATOR.md); the full sync before it has none.
#
#   [LATENCY=hubspot|MEAN[:JITTER]] scripts/bench-incremental.sh [CONTACTS [CHANGES [BURSTS]]]
set -euo pipefail
cd "$(dirname "$0")/.."

CONTACTS=${1:-1000000}
CHANGES=${2:-1000}
BURSTS=${3:-10}
LAG_MS=${LAG_MS:-1000} # --lag-ms of every run (the simulator has no index lag here)
. scripts/sim-lib.sh

companies=$((CONTACTS / 5))
deals=$((CONTACTS / 2))
tickets=$((CONTACTS / 10))
sim_start --contacts "$CONTACTS" --companies "$companies" --deals "$deals" --tickets "$tickets" --tier unlimited \
    --rollup-bumps always
post() { curl -sS -X POST "$base$1" -H 'Content-Type: application/json' -d "$2"; }

# The three tables with rollup fields (the incremental route); the others
# are full-ping tables, scanned in full by every run.
export HUBSYNC_TABLES=companies_contacts,companies_deals,contacts_deals
hs() { "$HUBSYNC" --db "$workdir/db" --base-url "$base" --progress never --lag-ms "$LAG_MS" "$@"; }

echo "portal: $CONTACTS contacts, $companies companies, $deals deals, $tickets tickets"
hs setup >/dev/null 2>&1
sleep $((LAG_MS / 1000 + 1)) # the portal's own newest records older than the lag
start=$(date +%s%N)
hs run --rate 0 --search-rate 0 --inflight 16 >/dev/null 2>"$workdir/full.err" ||
    { cat "$workdir/full.err" >&2; exit 1; }
echo "full sync (limits lifted): $((($(date +%s%N) - start) / 1000000)) ms"

for _ in $(seq 1 "$BURSTS"); do
    post /_sim/mutate "{\"count\":$((CHANGES / BURSTS)),\"tables\":[\"contacts_deals\"],\"kinds\":[\"associate\"]}" \
        >>"$workdir/mutate.json"
    sleep 0.01
done
latency='"latency_profile":"none","latency_ms":0,"latency_jitter_ms":0'
case "${LATENCY:-}" in
"" | none) ;;
hubspot) latency='"latency_profile":"hubspot"' ;;
*[!0-9:]* | :* | *: | *:*:*) echo "LATENCY: '$LATENCY' is neither MEAN[:JITTER] (ms) nor hubspot" >&2; exit 2 ;;
*:*) latency="\"latency_ms\":${LATENCY%%:*},\"latency_jitter_ms\":${LATENCY#*:}" ;;
*) latency="\"latency_ms\":$LATENCY" ;;
esac
post /_sim/config "{\"rate\":\"190/10s\",\"search_rate\":\"5/1s\",$latency}" >/dev/null
post /_sim/reset-stats '{}' >/dev/null
sleep $((LAG_MS / 1000 + 1))

hs run --json --verify-fraction "${VERIFY:-0.02}" >"$workdir/inc.json" 2>"$workdir/inc.err" || { cat "$workdir/inc.err" >&2; exit 1; }
curl -sS "$base/_sim/stats" >"$workdir/stats.json"
python3 - "$workdir/inc.json" "$workdir/stats.json" "$workdir/mutate.json" <<'EOF'
import json, math, sys
run = json.load(open(sys.argv[1]))
stats = json.load(open(sys.argv[2]))
applied = sum(json.loads(l)["applied"] for l in open(sys.argv[3]).read().replace("}{", "}\n{").splitlines())
objs = {o["object"]: o for o in run["objects"]}
c = objs["contacts"]
changed = c["changes"]
print(f"changes applied: {applied} associations; contacts changed: {changed}")
print(f"search calls (contacts): {c['search_calls']}  (ceil({changed}/200) = {math.ceil(changed / 200)})")
for t in run["tables"]:
    print(f"  {t['table']:<20} {t['route']:<12} parents {t['parents']:>7}  batch reads {t['assoc_calls']}"
          f"  verification: {t['verified']} parents, {t['verify_calls']} batch reads, "
          f"drift {t['drift']['added']}/{t['drift']['removed']}/{t['drift']['relabelled']}")
searches = sum(o["search_calls"] for o in run["objects"])
lists = sum(o["list_calls"] for o in run["objects"])
allowed = (searches - 1) * 0.2
print(f"all searches: {searches}; object lists: {lists}; 429s: {stats.get('status', {}).get('429', 0)}")
print(f"wall time: {run['seconds']:.2f} s; the search limit alone allows {allowed:.2f} s "
      f"({searches} searches at 5/s)")
EOF
mirror_check "$workdir/db" ${HUBSYNC_TABLES//,/ }
