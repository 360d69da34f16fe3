#!/usr/bin/env bash
# The first sync of a portal (object lists and full scan) under HubSpot's
# Pro limits (190 per rolling 10 s, 5 searches a second) with API latency:
# a portal of CONTACTS contacts (default 50,000; companies a fifth, deals
# two fifths, tickets a tenth), LATENCY_MS of latency per response
# (default 150), one `hubsync setup && hubsync run`. Prints hubsync's
# summary, the simulator's 429 count and fullest 10 s window, and verifies
# the mirror against /_sim/truth.
#
#   scripts/bench-first-sync.sh [CONTACTS [LATENCY_MS]]
set -euo pipefail
cd "$(dirname "$0")/.."

CONTACTS=${1:-50000}
LATENCY_MS=${2:-150}
. scripts/sim-lib.sh

sim_start --contacts "$CONTACTS" --companies $((CONTACTS / 5)) --deals $((CONTACTS * 2 / 5)) --tickets $((CONTACTS / 10)) --tier pro --latency-ms "$LATENCY_MS"

hs() { "$HUBSYNC" --db "$workdir/db" --base-url "$base" --progress never "$@"; }
echo "portal: $CONTACTS contacts, $((CONTACTS / 5)) companies, $((CONTACTS * 2 / 5)) deals," \
    "$((CONTACTS / 10)) tickets; Pro limits; ${LATENCY_MS} ms latency"
hs setup >/dev/null 2>&1
hs run --inflight 8 2>&1 | sed -n '/^table/,$p'
curl -sS "$base/_sim/stats" | python3 -c '
import json, sys
d = json.load(sys.stdin)
throttled = d.get("status", {}).get("429", 0)
print("simulator: %d answered 429; fullest 10 s window %s requests" % (throttled, d.get("max_in_window")))'
tables="companies_contacts companies_deals companies_tickets contacts_deals contacts_tickets deals_tickets"
mirror_check "$workdir/db" $tables
