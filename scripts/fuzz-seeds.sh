#!/usr/bin/env bash
# Makes the fuzzers' seed corpora from real simulator responses:
#
#   scripts/fuzz-seeds.sh [CORPUS]        (default build/fuzz/corpus)
#
# Starts bin/hubspot-sim on a small portal (a heavy parent and a page size of
# 8 so that batch reads page, with cursors), captures with curl the body of
# every endpoint hubsync parses into CORPUS/TARGET/ (association batch reads,
# 200 and 207, and their next pages; single-record association reads;
# searches; object lists, live and archived; properties; an OAuth token; the
# error bodies of 400, 401, 404 and 429), cuts the text cursors out of them
# (paging cursors as sent and URL-decoded, list `after` IDs, ISO-8601 times),
# then runs build/fuzz/seed-writer to turn the captured pages into msgpack
# seeds with the real encoders (wire streams, state and schema records).
# The hand-written edge seeds and the regression inputs live in
# tests/fuzz/seeds/ and tests/fuzz/regressions/ (scripts/fuzz.sh adds them).
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:-build/fuzz/corpus}
seed_writer=${SEED_WRITER:-build/fuzz/seed-writer}
# shellcheck source=sim-lib.sh
. scripts/sim-lib.sh
[ -x "$SIM" ] || { echo "fuzz-seeds: $SIM not built (make)" >&2; exit 2; }
[ -x "$seed_writer" ] || { echo "fuzz-seeds: $seed_writer not built (make fuzz-build)" >&2; exit 2; }

targets="assoc_batch assoc_object search object_list properties token error cursor wire state schema"
for t in $targets; do
    rm -rf "${corpus:?}/$t"
    mkdir -p "$corpus/$t"
done
auth="Authorization: Bearer $HUBSPOT_ACCESS_TOKEN"

# get NAME PATH [CURL ARGS…]: GET (or whatever the arguments say) PATH into NAME.
fetch() {
    local out=$1 path=$2
    shift 2
    curl -sS -o "$corpus/$out" -H "$auth" "$@" "$base$path" >/dev/null
    [ -s "$corpus/$out" ] || { echo "fuzz-seeds: empty response for $path" >&2; exit 1; }
}
post() {
    local out=$1 path=$2 body=$3
    fetch "$out" "$path" -X POST -H 'Content-Type: application/json' -d "$body"
}
# The first N distinct parent IDs of a table's truth, as JSON inputs.
inputs() {
    curl -sS "$base/_sim/truth?table=$1" | cut -f2 | uniq | head -n "$2" |
        sed 's/.*/{"id":"&"}/' | paste -sd, -
}
# The parent with the most links (the heavy one, whose reads page).
heaviest() {
    curl -sS "$base/_sim/truth?table=$1" | cut -f2 | uniq -c | sort -rn | head -n1 | awk '{print $2}'
}
first_cursor() {
    grep -o '"after":"[^"]*"' "$corpus/$1" | head -n1 | cut -d'"' -f4
}

sim_start --seed 7 --contacts 300 --companies 60 --deals 150 --tickets 40 --notes 50 \
    --heavy-parents 1 --heavy-links 25 --assoc-page-size 8 --tier unlimited --quiet

# Association batch reads: several tables, from either side, with a label
# set; a 207 with NO_ASSOCIATIONS_FOUND (an ID that does not exist); the next
# page of the heavy parent by its cursor.
n=0
for pair in companies/contacts contacts/companies companies/deals deals/contacts deals/tickets \
    contacts/notes; do
    table=$(echo "$pair" | tr / '\n' | sort | paste -sd_ -)
    post "assoc_batch/batch-$((n++))-${pair/\//-}.json" "/crm/v4/associations/$pair/batch/read" \
        "{\"inputs\":[$(inputs "$table" 4)]}"
done
heavy=$(heaviest companies_contacts)
post assoc_batch/batch-heavy.json /crm/v4/associations/companies/contacts/batch/read \
    "{\"inputs\":[{\"id\":\"$heavy\"},{\"id\":\"1\"}]}"
cursor=$(first_cursor assoc_batch/batch-heavy.json)
post assoc_batch/batch-heavy-page2.json /crm/v4/associations/companies/contacts/batch/read \
    "{\"inputs\":[{\"id\":\"$heavy\",\"after\":\"$cursor\"}]}"
post assoc_batch/batch-207.json /crm/v4/associations/deals/tickets/batch/read \
    '{"inputs":[{"id":"1"},{"id":"18446744073709551615"}]}'

# Single-record association reads, first and later page.
fetch assoc_object/object-heavy.json "/crm/v4/objects/companies/$heavy/associations/contacts?limit=5"
cursor=$(first_cursor assoc_object/object-heavy.json)
fetch assoc_object/object-heavy-page2.json \
    "/crm/v4/objects/companies/$heavy/associations/contacts?limit=5&after=$cursor"
fetch assoc_object/object-deals.json \
    "/crm/v4/objects/deals/$(heaviest deals_tickets)/associations/tickets"

# Object lists: live, with properties, a later page, archived.
fetch object_list/list-contacts.json "/crm/v3/objects/contacts?limit=5&properties=lastmodifieddate"
after=$(first_cursor object_list/list-contacts.json)
fetch object_list/list-contacts-page2.json \
    "/crm/v3/objects/contacts?limit=5&after=$after&properties=lastmodifieddate"
fetch object_list/list-companies.json "/crm/v3/objects/companies?limit=3"
fetch object_list/list-deals-archived.json "/crm/v3/objects/deals?limit=4&archived=true"
fetch object_list/list-notes-last.json "/crm/v3/objects/notes?limit=100"

# Searches as hubsync sends them (hs_build_search's shape), and a later page.
now=$(($(date +%s) * 1000 + 86400000))
for t in contacts companies deals; do
    prop=hs_lastmodifieddate
    [ "$t" = contacts ] && prop=lastmodifieddate
    post "search/search-$t.json" "/crm/v3/objects/$t/search" \
        "{\"filterGroups\":[{\"filters\":[{\"propertyName\":\"$prop\",\"operator\":\"GTE\",\"value\":\"0\"},{\"propertyName\":\"$prop\",\"operator\":\"LTE\",\"value\":\"$now\"}]}],\"sorts\":[{\"propertyName\":\"hs_object_id\",\"direction\":\"ASCENDING\"}],\"properties\":[\"$prop\"],\"limit\":4,\"after\":\"0\"}"
done
post search/search-contacts-page2.json /crm/v3/objects/contacts/search \
    '{"filterGroups":[{"filters":[{"propertyName":"hs_object_id","operator":"GT","value":"0"}]}],"limit":3,"after":"3"}'
post search/search-empty.json /crm/v3/objects/tickets/search \
    '{"filterGroups":[{"filters":[{"propertyName":"hs_object_id","operator":"EQ","value":"1"}]}],"limit":10}'

# Properties (companies carries the rollup label properties), and the
# association labels of two pairs (fuzz_properties parses both).
for t in companies contacts tickets; do
    fetch "properties/properties-$t.json" "/crm/v3/properties/$t"
done
for pair in companies/contacts deals/tickets; do
    fetch "properties/labels-${pair/\//-}.json" "/crm/v4/associations/$pair/labels"
done

# Error bodies: 400 (a search HubSpot refuses), 401 (a wrong token), 404 (an
# unknown path, an unknown record), 429 of each policy.
post error/400-search.json /crm/v3/objects/contacts/search '{"limit":500}'
curl -sS -o "$corpus/error/401.json" -H "Authorization: Bearer wrong" "$base/crm/v3/objects/contacts"
fetch error/404-path.json /crm/v3/nothing/here
fetch error/404-record.json /crm/v4/objects/contacts/1/associations/companies
curl -sS -X POST "$base/_sim/config" -d '{"rate":"1/10s","search_rate":"1/10s"}' >/dev/null
fetch error/ok-before-429.json /crm/v3/objects/contacts?limit=1
fetch error/429-burst.json /crm/v3/objects/contacts?limit=1
post error/ok-before-429s.json /crm/v3/objects/contacts/search '{"limit":1}'
post error/429-secondly.json /crm/v3/objects/contacts/search '{"limit":1}'
rm -f "$corpus/error/ok-before-429.json" "$corpus/error/ok-before-429s.json"
curl -sS -X POST "$base/_sim/config" -d '{"rate":"0","search_rate":"0","daily":1}' >/dev/null
fetch error/ok-before-daily.json /crm/v3/objects/contacts?limit=1
fetch error/429-daily.json /crm/v3/objects/contacts?limit=1
rm -f "$corpus/error/ok-before-daily.json"
sim_stop

# OAuth: a token response and the errors of a bad refresh and an expired token.
sim_start --seed 7 --contacts 20 --companies 5 --deals 5 --tickets 5 --auth oauth --token-ttl 1 \
    --tier unlimited --quiet
form='grant_type=refresh_token&refresh_token=sim-refresh-token&client_id=sim-client-id&client_secret=sim-client-secret'
curl -sS -o "$corpus/token/token.json" -X POST -d "$form" "$base/oauth/v1/token"
curl -sS -o "$corpus/token/token-v3.json" -X POST -d "$form" "$base/oauth/v3/token"
curl -sS -o "$corpus/error/400-oauth.json" -X POST -d "${form/sim-refresh-token/wrong}" \
    "$base/oauth/v1/token"
access=$(grep -o '"access_token":"[^"]*"' "$corpus/token/token.json" | cut -d'"' -f4)
sleep 1.2 # the token's lifetime is 1 s: this is what makes it expire
curl -sS -o "$corpus/error/401-expired.json" -H "Authorization: Bearer $access" \
    "$base/crm/v3/objects/contacts"
sim_stop

# Text cursors cut out of the responses: paging cursors as HubSpot sends them
# and as a query string decodes them, list `after` IDs, ISO-8601 times.
i=0
for c in $(cat "$corpus"/assoc_batch/* "$corpus"/assoc_object/* | grep -o '"after":"[^"]*"' |
    cut -d'"' -f4 | sort -u | head -n 8); do
    printf '%s' "$c" >"$corpus/cursor/paging-$i"
    printf '%s' "${c//%3D/=}" >"$corpus/cursor/paging-decoded-$i"
    i=$((i + 1))
done
for c in $(cat "$corpus"/object_list/* | grep -o '"after":"[^"]*"' | cut -d'"' -f4 | sort -u); do
    printf '%s' "$c" >"$corpus/cursor/list-after-$c"
done
i=0
for c in $(cat "$corpus"/search/* | grep -o '[0-9-]*T[0-9:.]*Z' | sort -u | head -n 4); do
    printf '%s' "$c" >"$corpus/cursor/time-$((i++))"
done

"$seed_writer" "$corpus"
for t in $targets; do
    printf '%s %s' "$t" "$(find "$corpus/$t" -type f | wc -l)"
    [ "$t" = schema ] && echo || printf ', '
done | { echo "fuzz-seeds: seeds per target:"; cat; }
for t in $targets; do
    [ -n "$(ls -A "$corpus/$t")" ] || { echo "fuzz-seeds: no seeds for $t" >&2; exit 1; }
done
