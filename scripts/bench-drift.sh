#!/usr/bin/env bash
# Drift under HubSpot's real rollups, measured: what the incremental route
# alone misses, and what verification costs to repair it.
#
# A portal of CONTACTS contacts (default 100,000; companies, deals and
# tickets in proportion) on the simulator's realistic rollup model (the
# default: recomputed 2-7 s after a change, coalesced, 5% of bumps missed,
# relabels under a plain count bump nothing; no slow tail here, so the
# measurement ends in seconds) is fully synced. Then CHANGES association
# changes (associate, dissociate, relabel; default 2,000) land on the three
# rollup tables while incremental runs go on, with verification off. Once
# every recomputation has landed, one more incremental run (verification
# off) shows what the route alone leaves behind; then incremental runs with
# --verify-fraction F (default 0.25) repair it. Prints, per run: the route's
# changes, the drift verification repaired, its batch reads, and the
# differences left against /_sim/truth; ends with the mirror verified.
#
#   scripts/bench-drift.sh [CONTACTS [CHANGES [F]]]
set -euo pipefail
cd "$(dirname "$0")/.."

CONTACTS=${1:-100000}
CHANGES=${2:-2000}
F=${3:-0.25}
. scripts/sim-lib.sh

companies=$((CONTACTS / 5))
deals=$((CONTACTS / 2))
tickets=$((CONTACTS / 10))
sim_start --contacts "$CONTACTS" --companies "$companies" --deals "$deals" --tickets "$tickets" \
    --tier unlimited --rollup-bumps realistic --rollup-tail 0
post() { curl -sS -X POST "$base$1" -H 'Content-Type: application/json' -d "$2"; }
stat() { curl -sS "$base/_sim/stats" | python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
export HUBSYNC_TABLES=companies_contacts,companies_deals,contacts_deals
hs() { "$HUBSYNC" --db "$workdir/db" --base-url "$base" --progress never --lag-ms 0 "$@"; }
# Differences between the mirror and the truth of the three tables.
left() {
    "$HUBSYNC" --db "$workdir/db" export --format tsv | LC_ALL=C sort >"$workdir/mirror.tsv"
    : >"$workdir/truth.tsv"
    for t in ${HUBSYNC_TABLES//,/ }; do curl -sS "$base/_sim/truth?table=$t" >>"$workdir/truth.tsv"; done
    LC_ALL=C sort -o "$workdir/truth.tsv" "$workdir/truth.tsv"
    python3 - "$workdir/mirror.tsv" "$workdir/truth.tsv" <<'EOF'
import sys
def load(p):
    return {l.rsplit("\t", 1)[0]: l.rsplit("\t", 1)[1] for l in open(p).read().splitlines() if l}
m, t = load(sys.argv[1]), load(sys.argv[2])
add = sum(1 for k in t if k not in m)
rem = sum(1 for k in m if k not in t)
rel = sum(1 for k in t if k in m and m[k] != t[k])
print(f"{add}/{rem}/{rel}")
EOF
}
row() { # LABEL JSON: the route's changes, the drift, verification's calls
    python3 - "$1" "$2" "$(left)" <<'EOF'
import json, sys
run = json.load(open(sys.argv[2]))
t = run["tables"]
route = [sum(x[k] for x in t) for k in ("added", "removed", "relabelled")]
drift = [sum(x["drift"][k] for x in t) for k in ("added", "removed", "relabelled")]
print(f"{sys.argv[1]:<22} route {'/'.join(map(str, route)):<14} drift {'/'.join(map(str, drift)):<14}"
      f" verified {sum(x['verified'] for x in t):>7}  verify calls {sum(x['verify_calls'] for x in t):>3}"
      f"  route calls {sum(x['assoc_calls'] for x in t):>3}  left {sys.argv[3]}")
EOF
}

echo "portal: $CONTACTS contacts, $companies companies, $deals deals, $tickets tickets; $CHANGES changes"
hs setup >/dev/null 2>&1
hs run --rate 0 --search-rate 0 --verify-fraction 0 >/dev/null 2>"$workdir/full.err" ||
    { cat "$workdir/full.err" >&2; exit 1; }
rounds=5
for _ in $(seq 1 "$rounds"); do
    post /_sim/mutate "{\"count\":$((CHANGES / rounds)),\"tables\":[\"companies_contacts\",\"companies_deals\",\"contacts_deals\"],\"kinds\":[\"associate\",\"dissociate\",\"relabel\"]}" >/dev/null
    hs run --rate 0 --search-rate 0 --verify-fraction 0 --json >/dev/null 2>>"$workdir/inc.err"
done
for _ in $(seq 1 600); do
    [ "$(stat '["rollups"]["pending"]')" = 0 ] && break
    sleep 0.1
done
echo "rollup recomputations: $(stat '["rollups"]')"
hs run --rate 0 --search-rate 0 --verify-fraction 0 --json >"$workdir/r0.json" 2>>"$workdir/inc.err"
row "route alone" "$workdir/r0.json"
runs=$(python3 -c "import math; print(math.ceil(1 / $F))")
for i in $(seq 1 "$runs"); do
    hs run --rate 0 --search-rate 0 --verify-fraction "$F" --json >"$workdir/r$i.json" 2>>"$workdir/inc.err"
    row "verify $F, run $i" "$workdir/r$i.json"
done
mirror_check "$workdir/db" ${HUBSYNC_TABLES//,/ }
