#!/usr/bin/env bash
# hubsync push measured against PostgreSQL's own loader. A portal of
# CONTACTS contacts (default 200,000: about 1,000,000 association rows in
# the six default tables) is synced with the limits lifted (not measured),
# then, into a throwaway PostgreSQL cluster (Unix socket only; as nobody
# when run as root):
#   1. `hubsync push` of the whole mirror (a snapshot: every table, its key
#      and child index, the object tables, the positions), timed;
#   2. the baseline: the same association rows exported as CSV and loaded by
#      `psql \copy` into one table of the same columns (plus the table
#      name), then the same primary key and child index built, timed (the
#      export itself not counted);
#   3. CHANGES changes (default 10,000) through /_sim/mutate, a --full-scan
#      run, and the `hubsync push` that applies the feed, timed.
# The same push into SQLite is timed beside each. Prints one line a figure.
#
#   scripts/bench-push.sh [CONTACTS [CHANGES]]
set -euo pipefail
cd "$(dirname "$0")/.."

CONTACTS=${1:-200000}
CHANGES=${2:-10000}
. scripts/sim-lib.sh

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# The PostgreSQL cluster, torn down with the simulator.
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
[ -x "$pgbin/initdb" ] || { echo "bench-push: PostgreSQL's server is not installed (scripts/deps.sh)" >&2; exit 2; }
pgdir=$(mktemp -d /tmp/hubsync-pgbench.XXXXXX)
as=()
if [ "$(id -u)" -eq 0 ]; then chown nobody "$pgdir"; as=(runuser -u nobody --); fi
"${as[@]}" "$pgbin/initdb" -D "$pgdir/data" -A trust -U postgres --no-sync >"$pgdir/initdb.log"
"${as[@]}" "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/server.log" -w \
    -o "-c listen_addresses='' -k $pgdir" start >/dev/null
pg_cleanup() {
    "${as[@]}" "$pgbin/pg_ctl" -D "$pgdir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$pgdir"
    sim_cleanup
}
trap pg_cleanup EXIT
uri="postgresql:///postgres?host=$pgdir&user=postgres"
db="$workdir/db"

sim_start --contacts "$CONTACTS" --companies $((CONTACTS / 5)) --deals $((CONTACTS / 2)) \
    --tickets $((CONTACTS / 10)) --tier unlimited
fast=(--rate 0 --search-rate 0 --lag-ms 0)
"$HUBSYNC" --db "$db" --base-url "$base" setup >/dev/null
"$HUBSYNC" --db "$db" --base-url "$base" run "${fast[@]}" >/dev/null 2>&1

t0=$(now)
out=$("$HUBSYNC" --db "$db" push "$uri")
t1=$(now)
echo "snapshot push into PostgreSQL: $(secs "$t0" "$t1") s ($out)"
t0=$(now)
out=$("$HUBSYNC" --db "$db" push "sqlite:$workdir/target.db")
t1=$(now)
echo "snapshot push into SQLite: $(secs "$t0" "$t1") s ($out)"

"$HUBSYNC" --db "$db" export --format csv -o "$workdir/assoc.csv"
rows=$(($(wc -l <"$workdir/assoc.csv") - 1))
t0=$(now)
psql -X -q -v ON_ERROR_STOP=1 "$uri" <<SQL
CREATE TABLE baseline (tbl text, parent_id bigint NOT NULL, child_id bigint NOT NULL,
                       type_id integer NOT NULL, category text NOT NULL, label text);
\copy baseline FROM '$workdir/assoc.csv' WITH (FORMAT csv, HEADER true)
ALTER TABLE baseline ADD PRIMARY KEY (tbl, parent_id, child_id, type_id, category);
CREATE INDEX baseline_child_id ON baseline (child_id);
SQL
t1=$(now)
echo "psql \\copy of the same $rows rows, key and index: $(secs "$t0" "$t1") s"

curl -sS -X POST -d "{\"count\":$CHANGES}" "$base/_sim/mutate" >/dev/null
sleep 0.1
"$HUBSYNC" --db "$db" --base-url "$base" run --full-scan "${fast[@]}" >/dev/null 2>&1
t0=$(now)
out=$("$HUBSYNC" --db "$db" push "$uri")
t1=$(now)
echo "feed push into PostgreSQL after $CHANGES mutations: $(secs "$t0" "$t1") s ($out)"
t0=$(now)
out=$("$HUBSYNC" --db "$db" push "sqlite:$workdir/target.db")
t1=$(now)
echo "feed push into SQLite after $CHANGES mutations: $(secs "$t0" "$t1") s ($out)"
