#!/usr/bin/env bash
# `make run`: starts bin/hubspot-sim with a realistic portal and Pro-tier
# limits, shows what it serves (the shapes hubsync will consume), verifies the
# association paging against /_sim/truth, and stops the simulator on exit
# (also on Ctrl-C). The sync itself (bin/hubsync) is built in later steps.
set -euo pipefail
cd "$(dirname "$0")/.."

SIM=${HUBSPOT_SIM:-bin/hubspot-sim}
TOKEN=pat-na1-hubspot-sim
workdir=$(mktemp -d)
sim_pid=""
cleanup() {
    [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null
    rm -rf "$workdir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== starting hubspot-sim (100,000 contacts, 20,000 companies, 50,000 deals, 10,000 tickets; Pro limits)"
"$SIM" --port 0 --port-file "$workdir/port" --contacts 100000 --companies 20000 --deals 50000 \
    --tickets 10000 --notes 20000 --tier pro >"$workdir/out" 2>"$workdir/err" &
sim_pid=$!
for _ in $(seq 1 300); do
    [ -s "$workdir/port" ] && break
    kill -0 "$sim_pid" 2>/dev/null || { cat "$workdir/err" >&2; exit 1; }
    sleep 0.1
done
[ -s "$workdir/port" ] || { echo "hubspot-sim did not start" >&2; exit 1; }
base="http://127.0.0.1:$(cat "$workdir/port")"
cat "$workdir/out" "$workdir/err"

api() { curl -sS -H "Authorization: Bearer $TOKEN" "$@"; }

echo
echo "== GET /crm/v3/objects/companies?limit=1 (headers and body)"
api -D - "$base/crm/v3/objects/companies?limit=1"
echo

company=$(curl -sS "$base/_sim/truth?table=companies_contacts" \
    | awk -F'\t' '{n[$2]++} END {for (k in n) if (n[k] > best) {best = n[k]; id = k}; print id}')
echo
echo "== POST /crm/v4/associations/companies/contacts/batch/read for the heaviest company ($company)"
body=$(api -X POST -H 'Content-Type: application/json' -d "{\"inputs\":[{\"id\":\"$company\"},{\"id\":\"1\"}]}" \
    "$base/crm/v4/associations/companies/contacts/batch/read")
echo "${body:0:600} … ${body: -520}"

echo
echo "== following every paging cursor of that company and comparing with /_sim/truth"
pages=0 after="" got="$workdir/got"
: >"$got"
while :; do
    if [ -n "$after" ]; then input="{\"id\":\"$company\",\"after\":\"$after\"}"; else input="{\"id\":\"$company\"}"; fi
    body=$(api -X POST -H 'Content-Type: application/json' -d "{\"inputs\":[$input]}" \
        "$base/crm/v4/associations/companies/contacts/batch/read")
    pages=$((pages + 1))
    grep -o '"toObjectId":[0-9]*' <<<"$body" | cut -d: -f2 >>"$got"
    after=$(grep -o '"after":"[^"]*"' <<<"$body" | cut -d'"' -f4 || true)
    [ -n "$after" ] || break
done
curl -sS "$base/_sim/truth?table=companies_contacts" | awk -F'\t' -v c="$company" '$2 == c {print $3}' | sort >"$workdir/want"
sort "$got" -o "$got"
if cmp -s "$got" "$workdir/want"; then
    echo "paging verified: $(wc -l <"$got") associations in $pages pages, 0 differences"
else
    echo "paging MISMATCH against /_sim/truth" >&2
    exit 1
fi

echo
echo "== the portal's association tables (/_sim/truth)"
for t in companies_contacts companies_deals companies_tickets contacts_deals contacts_tickets deals_tickets contacts_notes; do
    printf '%-20s %8d associations\n' "$t" "$(curl -sS "$base/_sim/truth?table=$t" | wc -l)"
done

echo
echo "== /_sim/stats"
curl -sS "$base/_sim/stats"
echo
echo
echo "hubspot-sim is the stand-in for api.hubapi.com; see docs/SIMULATOR.md."
