# Sourced (not run) by the scripts that drive bin/hubspot-sim: a scratch
# directory removed on exit, the simulator started on a free port and
# stopped on exit (also on Ctrl-C), and the mirror checked against the
# simulator's truth. Expects to run from the project root. KEEP_WORKDIR=1
# keeps the scratch directory (logs, databases) for a look afterwards.

SIM=${HUBSPOT_SIM:-bin/hubspot-sim}
HUBSYNC=${HUBSYNC:-bin/hubsync}
export HUBSPOT_ACCESS_TOKEN=${HUBSPOT_ACCESS_TOKEN:-pat-na1-hubspot-sim}
workdir=$(mktemp -d)
sim_pid=""
sim_pids=() # every simulator still running (sim_start may run several)
sim_cleanup() {
    local pid
    for pid in "${sim_pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    [ -n "${KEEP_WORKDIR-}" ] || rm -rf "$workdir"
}
trap sim_cleanup EXIT
trap 'exit 130' INT TERM

# sim_start ARGS…: starts the simulator with ARGS on a free port and waits
# for it; sets $base (its URL) and $sim_pid. Call it again for another
# simulator (keep each $base); all are stopped on exit. A script that checks
# an incremental mirror exactly passes --rollup-bumps always: by default
# (realistic) a rollup parent's last-modified time moves seconds later, or
# not at all (docs/SIMULATOR.md, "Rollups").
sim_start() {
    rm -f "$workdir/port"
    "$SIM" --port 0 --port-file "$workdir/port" "$@" >"$workdir/sim.out" 2>"$workdir/sim.err" &
    sim_pid=$!
    sim_pids+=("$sim_pid")
    for _ in $(seq 1 600); do
        [ -s "$workdir/port" ] && break
        kill -0 "$sim_pid" 2>/dev/null || { cat "$workdir/sim.err" >&2; exit 1; }
        sleep 0.1
    done
    [ -s "$workdir/port" ] || { echo "hubspot-sim did not start" >&2; exit 1; }
    base="http://127.0.0.1:$(cat "$workdir/port")"
}

# mirror_check DB TABLES…: hubsync's export of DB, sorted, against
# /_sim/truth of TABLES, sorted. Prints "mirror verified: N associations, D
# differences"; exits 1 when D > 0.
mirror_check() {
    local db=$1 n diff
    shift
    local tables
    tables=$(IFS=,; echo "$*")
    "$HUBSYNC" --db "$db" export --format tsv --tables "$tables" | LC_ALL=C sort >"$workdir/mirror.tsv"
    : >"$workdir/truth.tsv"
    for t in "$@"; do curl -sS "$base/_sim/truth?table=$t" >>"$workdir/truth.tsv"; done
    LC_ALL=C sort -o "$workdir/truth.tsv" "$workdir/truth.tsv"
    n=$(wc -l <"$workdir/truth.tsv")
    diff=$(LC_ALL=C comm -3 "$workdir/mirror.tsv" "$workdir/truth.tsv" | wc -l)
    echo "mirror verified: $n associations, $diff differences"
    [ "$diff" -eq 0 ] || { echo "the mirror differs from the truth" >&2; exit 1; }
}

# sim_stop: stops the simulator started last by sim_start (no-op when none).
sim_stop() {
    if [ -n "$sim_pid" ]; then
        kill "$sim_pid" 2>/dev/null || true
        wait "$sim_pid" 2>/dev/null || true
        local pid left=()
        for pid in "${sim_pids[@]}"; do [ "$pid" = "$sim_pid" ] || left+=("$pid"); done
        sim_pids=("${left[@]}")
        sim_pid=""
    fi
    rm -f "$workdir/port"
}
