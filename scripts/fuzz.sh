#!/usr/bin/env bash
# Runs the libFuzzer targets built by `make fuzz-build`:
#
#   scripts/fuzz.sh SECONDS TARGET...     (make fuzz / make fuzz-brief call it)
#
# Makes the seed corpora first when they are missing (scripts/fuzz-seeds.sh,
# from real simulator responses), then runs each build/fuzz/fuzz_TARGET for
# SECONDS (-max_total_time), FUZZ_JOBS at a time (2), over
#   build/fuzz/corpus/TARGET     the seeds; grows with what the run finds
#   tests/fuzz/seeds/TARGET      hand-written edge seeds (committed)
#   tests/fuzz/regressions/TARGET every input that once crashed (committed):
#                                libFuzzer runs each at start-up, so a fixed
#                                bug that comes back fails the run at once
# with a JSON dictionary for the JSON targets (tests/fuzz/json.dict). Crash,
# leak, timeout and out-of-memory inputs go to build/fuzz/crashes/TARGET-*;
# logs to build/fuzz/logs/TARGET.log. Prints one line per target (executions,
# rate, coverage: libFuzzer's edge count `cov` and feature count `ft`, corpus
# size, crash artifacts) and exits 1 when any target failed.
set -uo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: scripts/fuzz.sh SECONDS TARGET..." >&2; exit 2; }
seconds=$1
shift
dir=${FUZZ_DIR:-build/fuzz}
jobs=${FUZZ_JOBS:-2}
mkdir -p "$dir/crashes" "$dir/logs"

if [ ! -f "$dir/corpus/.done" ]; then
    scripts/fuzz-seeds.sh "$dir/corpus" || { echo "fuzz: making the seeds failed" >&2; exit 1; }
    touch "$dir/corpus/.done"
fi

json_targets=" assoc_batch assoc_object search object_list properties token error "

run_one() {
    local t=$1 log=$dir/logs/$1.log
    local corpora=("$dir/corpus/$t")
    mkdir -p "$dir/corpus/$t"
    for extra in tests/fuzz/seeds/$t tests/fuzz/regressions/$t; do
        [ -d "$extra" ] && corpora+=("$extra")
    done
    local opts=(-max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048
        -max_len=65536 -artifact_prefix="$dir/crashes/$t-")
    case "$json_targets" in *" $t "*) opts+=(-dict=tests/fuzz/json.dict) ;; esac
    "$dir/fuzz_$t" "${opts[@]}" "${corpora[@]}" >"$log" 2>&1
    echo $? >"$dir/logs/$t.rc"
}

rm -f "$dir"/logs/*.rc
touch "$dir/logs/.start" # crash artifacts newer than this are this run's
started=$(date +%s)
for t in "$@"; do
    [ -x "$dir/fuzz_$t" ] || { echo "fuzz: $dir/fuzz_$t not built (make fuzz-build)" >&2; exit 2; }
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
    run_one "$t" &
done
wait

failed=0
printf '%-13s %12s %9s %6s %7s %7s %8s  %s\n' target executions exec/s cov ft corpus crashes status
for t in "$@"; do
    log=$dir/logs/$t.log
    rc=$(cat "$dir/logs/$t.rc" 2>/dev/null || echo 99)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n1)
    # The last status line ("#N DONE cov: X ft: Y corp: Z/…"; a crash has none).
    line=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n1)
    cov=$(echo "$line" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
    ft=$(echo "$line" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
    corp=$(echo "$line" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
    crashes=$(find "$dir/crashes" -name "$t-*" -type f -newer "$dir/logs/.start" | wc -l)
    status=ok
    if [ "$rc" != 0 ]; then
        status="FAILED (exit $rc): $(grep -m1 -E 'ERROR: |fuzz check failed|runtime error' "$log")"
        failed=1
    fi
    printf '%-13s %12s %9s %6s %7s %7s %8s  %s\n' "$t" "${execs:--}" "${rate:--}" "${cov:--}" \
        "${ft:--}" "${corp:--}" "$crashes" "$status"
done
echo "fuzz: $# targets, ${seconds}s each, $jobs at a time, $(($(date +%s) - started))s in all;" \
    "logs in $dir/logs/, crash inputs in $dir/crashes/"
exit $failed
