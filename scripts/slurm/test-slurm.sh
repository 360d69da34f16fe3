#!/usr/bin/env bash
# `make test-slurm` (issue 8): hubsync's job-array script on a real Slurm.
#
#   0. The exit-code contract without Slurm: hubsync-array.sbatch with a fake
#      hubsync and a fake scontrol, one case per exit code.
#   1. A one-node cluster on loopback (munged, slurmctld, slurmd from this
#      machine's packages; scripts/slurm/cluster-lib.sh), three simulators
#      (one with OAuth), and an array over a manifest of five portals: the
#      three sync and their mirrors equal their simulators' truth; a wrong
#      token fails without requeue (exit 3), a credentials file readable by
#      others fails without requeue (exit 2).
#   2. The fleet's next run: changes in alpha and beta, and gamma synced into
#      a new database, paced so that it lasts; once gamma's simulator has
#      answered 3 batch reads, `scancel --batch --signal=TERM` hits gamma's
#      task: the script passes SIGTERM on, hubsync drains (exit 1), the task
#      requeues itself, and its second run completes gamma's mirror.
#   3. A plain `scancel` mid-run: hubsync drains, and the task stays
#      cancelled (the script does not requeue a cancelled task).
#   4. The daily limit (exit 5): the task is requeued and held until 00:05
#      of the next day in the portal's time zone.
#   5. A time limit: a sync longer than its --time=1 gets the script's early
#      SIGTERM (--signal=B:TERM@50) while it is still RUNNING, drains,
#      requeues itself, and its next run completes the mirror.
#
# Prints the figures (portals synced, requeues, wall time) and ends with
# "test-slurm: N passed, N failed". Run from the project root after `make`;
# needs root and the packages `make test-slurm` installs. KEEP_WORKDIR=1
# keeps the scratch folder (job logs, daemon logs, databases).
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/sim-lib.sh
. scripts/slurm/cluster-lib.sh

t_start=$(date +%s.%N)
passed=0
tables="companies_contacts companies_deals companies_tickets contacts_deals contacts_tickets deals_tickets"
HUBSYNC=$(realpath "$HUBSYNC")
export HUBSYNC
array=scripts/slurm/hubsync-array.sbatch

failed_reported=""
on_exit() {
    local rc=$?
    # set -e stopped the test: say where, with the logs.
    [ "$rc" -eq 0 ] || [ -n "$failed_reported" ] || (fail "a command failed (exit $rc)") || true
    slurm_cluster_stop
    sim_cleanup
    exit "$rc"
}
trap on_exit EXIT

ok() {
    passed=$((passed + 1))
    echo "ok $passed: $*"
}

# fail MSG: the job logs and the daemons' logs, then stop.
fail() {
    local f
    failed_reported=1
    echo "FAILED: $*" >&2
    for f in "$workdir"/out/*.out; do
        [ -e "$f" ] || continue
        echo "---- $f" >&2
        cat "$f" >&2
    done
    [ -z "$slurm_dir" ] || slurm_cluster_logs
    echo "test-slurm: $passed passed, 1 failed"
    exit 1
}

elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

# sim_count BASE PATTERN: the simulator's answered requests whose
# "METHOD /path" matches PATTERN (an extended regex), summed.
sim_count() {
    curl -sS "$1/_sim/stats" | { grep -o -E "\"[A-Z]+ [^\"]*($2)[^\"]*\":[0-9]+" || true; } |
        awk -F: '{ n += $NF } END { print n + 0 }'
}

# wait_batch_reads BASE N: until the simulator has answered N batch reads
# (a run is under way); sets $reads.
wait_batch_reads() {
    reads=0
    for _ in $(seq 1 300); do
        reads=$(sim_count "$1" "batch/read")
        [ "$reads" -ge "$2" ] && return 0
        sleep 0.1
    done
    fail "$1 answered $reads batch reads in 30 s, expected $2"
}

# log_ms LOG PATTERN: the time (ms) of the first line of LOG matching PATTERN.
log_ms() { date -d "$(grep -m1 "$2" "$1" | cut -d' ' -f1)" +%s%3N; }

# drain_of LOG: ms from the script passing SIGTERM on to hubsync's exit 1.
drain_of() { echo $(($(log_ms "$1" "hubsync exit 1") - $(log_ms "$1" "SIGTERM: passed"))); }

# check_mirror NAME BASE DB: the portal's mirror against its simulator's truth.
check_mirror() {
    local out
    out=$(base=$2 mirror_check "$3" $tables 2>&1) || fail "$1: $out"
    ok "$1: $out"
}

# ---------------------------------------------------------------- phase 0
echo "== 0. the exit-code contract, with a fake hubsync and a fake scontrol"
fake=$workdir/fake
mkdir -p "$fake/bin" "$fake/creds"
cat >"$fake/bin/scontrol" <<'EOF'
#!/bin/sh
echo "$*" >>"$FAKE_LOG"
[ "$1" != -o ] || echo "JobId=77 ArrayJobId=77 ArrayTaskId=0 JobState=${FAKE_STATE:-RUNNING} Reason=None"
EOF
cat >"$fake/hubsync" <<'EOF'
#!/bin/sh
echo "argv: $*" >>"$FAKE_LOG"
echo "env: token=${HUBSPOT_ACCESS_TOKEN-unset} refresh=${HUBSPOT_REFRESH_TOKEN-unset} base=${HUBSPOT_BASE_URL-unset}" >>"$FAKE_LOG"
exit "$FAKE_EXIT"
EOF
chmod +x "$fake/bin/scontrol" "$fake/hubsync"
printf '# an OAuth portal\nHUBSPOT_REFRESH_TOKEN=r\nHUBSPOT_CLIENT_ID=c\nHUBSPOT_CLIENT_SECRET=s\nHUBSPOT_BASE_URL=http://127.0.0.1:9\n' \
    >"$fake/creds/oauth.env"
printf 'HUBSPOT_ACCESS_TOKEN=t\n' >"$fake/creds/open.env"
printf 'HUBSPOT_ACESS_TOKEN=t\n' >"$fake/creds/typo.env"
chmod 600 "$fake/creds/oauth.env" "$fake/creds/typo.env"
chmod 644 "$fake/creds/open.env"
cat >"$fake/manifest" <<'EOF'
# name   database    credentials       hubsync run flags

p0       db/p0       creds/oauth.env   --workers 1 --lag-ms 0
p1       db/p1       creds/open.env
  # an indented comment
p2       db/p2       creds/typo.env
EOF
[ "$("$array" --count "$fake/manifest")" -eq 3 ] || fail "--count: expected 3 portals"

# contract TASK HUBSYNC_EXIT RESTARTS EXPECT_EXIT EXPECT_SCONTROL [VAR=VALUE…]:
# runs the script as array task TASK of job 77; EXPECT_SCONTROL is the
# scontrol calls, ';'-joined ('*': not compared).
contract() {
    local task=$1 code=$2 restarts=$3 want_rc=$4 want_calls=$5 rc calls
    shift 5
    : >"$fake/log"
    rc=0
    env PATH="$fake/bin:$PATH" FAKE_LOG="$fake/log" FAKE_EXIT="$code" HUBSYNC="$fake/hubsync" \
        HUBSPOT_ACCESS_TOKEN=inherited-from-the-submitter SLURM_ARRAY_JOB_ID=77 \
        SLURM_ARRAY_TASK_ID="$task" SLURM_RESTART_COUNT="$restarts" "$@" \
        "$array" "$fake/manifest" >"$fake/out" 2>&1 || rc=$?
    calls=$(grep -v -E '^(argv|env):' "$fake/log" | paste -s -d ';' || true)
    [ "$rc" -eq "$want_rc" ] && { [ "$want_calls" = "*" ] || [ "$calls" = "$want_calls" ]; } ||
        fail "hubsync exit $code (restarts $restarts, $*): script exit $rc, scontrol '$calls'; expected $want_rc, '$want_calls'; output: $(cat "$fake/out")"
}
contract 0 0 0 0 ""
grep -qx "argv: --db $fake/db/p0 run --workers 1 --lag-ms 0" "$fake/log" ||
    fail "hubsync's arguments: $(cat "$fake/log")"
grep -qx "env: token=unset refresh=r base=http://127.0.0.1:9" "$fake/log" ||
    fail "the portal's credentials: $(grep env: "$fake/log")"
show="-o show job 77_0"
contract 0 1 0 1 "$show;requeue 77_0"
contract 0 1 2 1 "$show;requeue 77_0;update JobId=77_0 StartTime=now+30" HUBSYNC_REQUEUE_DELAY=30
contract 0 1 5 1 ""
contract 0 1 7 1 "$show;requeue 77_0" HUBSYNC_MAX_REQUEUES=10
contract 0 1 0 1 "$show" FAKE_STATE=COMPLETING
contract 0 137 0 137 "$show" FAKE_STATE=COMPLETING
contract 0 2 0 2 ""
contract 0 3 0 3 ""
contract 0 4 0 4 ""
contract 0 9 0 9 ""
contract 0 137 0 137 "$show;requeue 77_0"
# Exit 5: eligible again at 00:05 of the next day in the portal's zone.
contract 0 5 0 5 "*" HUBSYNC_DAILY_RESET_TZ=America/New_York
start=$(grep -o 'StartTime=.*' "$fake/log" | cut -d= -f2)
[ "$(grep -v -E '^(argv|env):' "$fake/log" | sed -n 2p)" = "requeue 77_0" ] && [ -n "$start" ] ||
    fail "hubsync exit 5: scontrol calls $(cat "$fake/log")"
secs=$(($(date -d "$start" +%s) - $(date +%s)))
[ "$(TZ=America/New_York date -d "@$(date -d "$start" +%s)" +%H:%M:%S)" = 00:05:00 ] &&
    [ "$secs" -gt 0 ] && [ "$secs" -le 86700 ] ||
    fail "hubsync exit 5: StartTime=$start is not the next 00:05 in New York"
contract 1 0 0 2 ""
grep -q "has mode 644; it must not be readable by group or others" "$fake/out" ||
    fail "a credentials file readable by others: $(cat "$fake/out")"
contract 2 0 0 2 ""
grep -q "unknown key 'HUBSPOT_ACESS_TOKEN'" "$fake/out" || fail "a misspelt key: $(cat "$fake/out")"
contract 3 0 0 2 ""
grep -q "has no portal for array task 3 (it lists 3)" "$fake/out" || fail "task 3: $(cat "$fake/out")"
ok "exit codes 0 1 2 3 4 5 9 137, the requeue cap and delay, no requeue once Slurm ends the task, credentials checks, manifest parsing"

# ---------------------------------------------------------------- phase 1
echo "== 1. a Slurm cluster on loopback, three simulators, an array of five portals"
t=$(date +%s.%N)
slurm_cluster_start "$workdir/slurm" || fail "the cluster did not start"
cluster_s=$(elapsed "$t")
ok "munged, slurmctld and slurmd up, node idle after ${cluster_s} s ($(sinfo --version))"

small="--contacts 300 --companies 60 --deals 150 --tickets 30 --heavy-parents 0 --tier unlimited --quiet --rollup-bumps always"
sim_start --seed 11 $small --token pat-na1-alpha
alpha=$base
sim_start --seed 12 $small --auth oauth --refresh-token beta-refresh --client-id beta-client \
    --client-secret beta-secret
beta=$base
sim_start --seed 13 --contacts 4000 --companies 800 --deals 2000 --tickets 400 --heavy-parents 0 \
    --tier unlimited --quiet --token pat-na1-gamma
gamma=$base

fleet=$workdir/fleet
mkdir -p "$fleet/creds" "$fleet/db" "$workdir/out"
printf 'HUBSPOT_ACCESS_TOKEN=pat-na1-alpha\nHUBSPOT_BASE_URL=%s\n' "$alpha" >"$fleet/creds/alpha.env"
printf 'HUBSPOT_REFRESH_TOKEN=beta-refresh\nHUBSPOT_CLIENT_ID=beta-client\nHUBSPOT_CLIENT_SECRET=beta-secret\nHUBSPOT_BASE_URL=%s\n' \
    "$beta" >"$fleet/creds/beta.env"
printf 'HUBSPOT_ACCESS_TOKEN=pat-na1-gamma\nHUBSPOT_BASE_URL=%s\n' "$gamma" >"$fleet/creds/gamma.env"
printf 'HUBSPOT_ACCESS_TOKEN=pat-na1-not-alphas\nHUBSPOT_BASE_URL=%s\n' "$alpha" >"$fleet/creds/wrong.env"
chmod 600 "$fleet"/creds/*.env
cp "$fleet/creds/alpha.env" "$fleet/creds/open.env"
chmod 644 "$fleet/creds/open.env"
# The simulators' search index has no lag: no allowance needed.
cat >"$fleet/manifest" <<'EOF'
# NAME        DATABASE      CREDENTIALS         hubsync run flags
alpha         db/alpha      creds/alpha.env     --lag-ms 0
beta          db/beta       creds/beta.env      --lag-ms 0
gamma         db/gamma      creds/gamma.env     --lag-ms 0
wrong-token   db/wrong      creds/wrong.env     --lag-ms 0
open-creds    db/open       creds/open.env      --lag-ms 0
EOF

# wait_job JOB SECONDS: until no task of JOB is queued or running.
wait_job() {
    local i
    for i in $(seq 1 $(($2 * 5))); do
        [ -z "$(squeue -h -j "$1" -o %i 2>/dev/null)" ] && return 0
        sleep 0.2
    done
    squeue -j "$1" >&2 || true
    fail "job $1 still queued or running after $2 s"
}

# task_state JOB TASK: "JobState ExitCode Restarts" of one array task.
task_state() {
    scontrol -o show job "$1_$2" |
        sed -E 's/.* JobState=([^ ]+) .* Restarts=([0-9]+) .* ExitCode=([^ ]+) .*/\1 \3 \2/'
}

# expect_task JOB TASK NAME "STATE EXIT RESTARTS" WHY
expect_task() {
    local got
    got=$(task_state "$1" "$2")
    [ "$got" = "$4" ] || fail "$3 (task $1_$2): $got, expected $4"
    ok "$3 (task $1_$2): $got ($5)"
}

t=$(date +%s.%N)
job1=$(scripts/slurm/submit.sh "$fleet/manifest" --output="$workdir/out/first-%a.out")
wait_job "$job1" 90
first_s=$(elapsed "$t")
gamma_fresh=$(sim_count "$gamma" "/")
gamma_fresh_reads=$(sim_count "$gamma" "batch/read")
expect_task "$job1" 0 alpha "COMPLETED 0:0 0" "private app"
expect_task "$job1" 1 beta "COMPLETED 0:0 0" "OAuth"
expect_task "$job1" 2 gamma "COMPLETED 0:0 0" "first sync, $gamma_fresh calls"
check_mirror alpha "$alpha" "$fleet/db/alpha"
check_mirror beta "$beta" "$fleet/db/beta"
check_mirror gamma "$gamma" "$fleet/db/gamma"
expect_task "$job1" 3 wrong-token "FAILED 3:0 0" "authentication failed: not requeued"
grep -q "hubsync exit 3 (authentication failed)" "$workdir/out/first-3.out" ||
    fail "wrong-token's log: $(cat "$workdir/out/first-3.out")"
expect_task "$job1" 4 open-creds "FAILED 2:0 0" "credentials readable by others: not requeued"
grep -q "has mode 644" "$workdir/out/first-4.out" && [ ! -e "$fleet/db/open" ] ||
    fail "open-creds: hubsync should not have run; log: $(cat "$workdir/out/first-4.out")"

# ---------------------------------------------------------------- phase 2
echo "== 2. the next run: gamma into a new database, paced; SIGTERM to its task mid-run"
for b in "$alpha" "$beta"; do
    curl -sS -X POST -d '{"count":40,"kinds":["associate","dissociate","relabel"]}' \
        "$b/_sim/mutate" >/dev/null
done
curl -sS -X POST "$gamma/_sim/reset-stats" >/dev/null
sed -e '/^wrong-token\|^open-creds/d' \
    -e 's|^gamma .*|gamma         db/gamma-new  creds/gamma.env     --lag-ms 0 --rate 10/1s|' \
    "$fleet/manifest" >"$fleet/manifest-next"
t=$(date +%s.%N)
job2=$(HUBSYNC_REQUEUE_DELAY=3 scripts/slurm/submit.sh "$fleet/manifest-next" \
    --output="$workdir/out/next-%a.out")
wait_batch_reads "$gamma" 3
calls_at_term=$(sim_count "$gamma" "/")
scancel --batch --signal=TERM "${job2}_2"
wait_job "$job2" 90
next_s=$(elapsed "$t")
gamma_total=$(sim_count "$gamma" "/")
expect_task "$job2" 0 alpha "COMPLETED 0:0 0" "40 changes"
expect_task "$job2" 1 beta "COMPLETED 0:0 0" "40 changes"
expect_task "$job2" 2 gamma "COMPLETED 0:0 1" "SIGTERM after $calls_at_term calls ($reads batch reads), requeued once"
log=$workdir/out/next-2.out
grep -q "SIGTERM: passed to hubsync so it drains" "$log" &&
    grep -q "hubsync exit 1 (incomplete, safe to rerun): requeued (1 of at most 5)" "$log" &&
    grep -q "portal gamma, run 2:" "$log" &&
    grep -q "hubsync exit 0: portal gamma caught up" "$log" ||
    fail "gamma's log does not show SIGTERM, exit 1, requeue, run 2, exit 0: $(cat "$log")"
drain_ms=$(drain_of "$log")
requeue_ms=$(($(log_ms "$log" "portal gamma, run 2:") - $(log_ms "$log" "hubsync exit 1")))
[ "$drain_ms" -le 5000 ] || fail "gamma's hubsync took $drain_ms ms to drain (limit 5 s)"
ok "gamma drained in $drain_ms ms, started again $requeue_ms ms after the requeue"
# The timeline of the next run, in seconds from the submission.
t_ms=$(date -d "@$t" +%s%3N)
for f in "$workdir"/out/next-*.out; do
    grep ' hubsync-array: ' "$f" | while read -r when _ what; do
        echo "  +$(awk -v a="$(date -d "$when" +%s%3N)" -v b="$t_ms" 'BEGIN { printf "%.2f", (a - b) / 1000 }') s ${what:0:90}"
    done
done
check_mirror alpha "$alpha" "$fleet/db/alpha"
check_mirror beta "$beta" "$fleet/db/beta"
check_mirror gamma "$gamma" "$fleet/db/gamma-new"

# ---------------------------------------------------------------- phase 3
echo "== 3. a plain scancel mid-run: hubsync drains, the task stays cancelled"
curl -sS -X POST "$gamma/_sim/reset-stats" >/dev/null
printf 'gamma  db/gamma-cancel  creds/gamma.env  --lag-ms 0 --rate 10/1s\n' >"$fleet/manifest-cancel"
job3=$(HUBSYNC_REQUEUE_DELAY=3 scripts/slurm/submit.sh "$fleet/manifest-cancel" \
    --output="$workdir/out/cancel-%a.out")
wait_batch_reads "$gamma" 1
scancel "$job3"
wait_job "$job3" 60
got=$(task_state "$job3" 0)
log=$workdir/out/cancel-0.out
[ "${got%% *}" = CANCELLED ] && [ "${got##* }" = 0 ] ||
    fail "gamma after scancel: $got, expected CANCELLED and no restart; $(cat "$log")"
grep -q "signal received: draining" "$log" &&
    grep -q "hubsync exit 1 (incomplete, safe to rerun); Slurm is ending the task (COMPLETING: scancel, or its time limit): not requeued" "$log" ||
    fail "gamma's log after scancel: $(cat "$log")"
ok "gamma (task ${job3}_0): $got after scancel: hubsync drained, exit 1, not requeued"

# ---------------------------------------------------------------- phase 4
echo "== 4. the daily limit: requeued until 00:05 of the next day in the portal's zone"
printf 'alpha  db/alpha  creds/alpha.env  --lag-ms 0 --daily 10 --daily-reserve 9\n' >"$fleet/manifest-daily"
job4=$(HUBSYNC_DAILY_RESET_TZ=Asia/Tokyo scripts/slurm/submit.sh "$fleet/manifest-daily" \
    --output="$workdir/out/daily-%a.out")
state=""
for _ in $(seq 1 300); do
    state=$(task_state "$job4" 0)
    grep -q "eligible again at" "$workdir/out/daily-0.out" 2>/dev/null &&
        [ "${state%% *}" = PENDING ] && break
    sleep 0.1
done
[ "$state" = "PENDING 0:0 1" ] || fail "alpha-daily: $state, expected PENDING 0:0 1"
start=$(scontrol -o show job "${job4}_0" | grep -o 'StartTime=[^ ]*' | cut -d= -f2)
secs=$(($(date -d "$start" +%s) - $(date +%s)))
[ "$(TZ=Asia/Tokyo date -d "@$(date -d "$start" +%s)" +%H:%M:%S)" = 00:05:00 ] &&
    [ "$secs" -gt 0 ] && [ "$secs" -le 86700 ] ||
    fail "alpha-daily: StartTime=$start is not the next 00:05 in Tokyo"
grep -q "hubsync exit 5 (daily API limit spent): requeued" "$workdir/out/daily-0.out" ||
    fail "alpha-daily's log: $(cat "$workdir/out/daily-0.out")"
ok "alpha-daily (task ${job4}_0): exit 5, requeued, pending until $start (00:05 in Tokyo)"
scancel "$job4"
wait_job "$job4" 30

# ---------------------------------------------------------------- phase 5
echo "== 5. a time limit: --time=1, the script's early SIGTERM, a requeue, completion"
# 5 s a response makes gamma's first sync outlast a minute; once the task
# has been requeued the portal answers at once again, so the test is short.
curl -sS -X POST -d '{"latency_ms":5000}' "$gamma/_sim/config" >/dev/null
printf 'gamma  db/gamma-limit  creds/gamma.env  --lag-ms 0\n' >"$fleet/manifest-limit"
t=$(date +%s.%N)
job5=$(HUBSYNC_REQUEUE_DELAY=3 scripts/slurm/submit.sh "$fleet/manifest-limit" --time=1 \
    --signal=B:TERM@50 --output="$workdir/out/limit-%a.out")
for _ in $(seq 1 900); do
    [ "$(task_state "$job5" 0)" = "PENDING 0:0 1" ] && break
    sleep 0.1
done
signal_s=$(elapsed "$t")
curl -sS -X POST -d '{"latency_ms":0}' "$gamma/_sim/config" >/dev/null
wait_job "$job5" 90
limit_s=$(elapsed "$t")
log=$workdir/out/limit-0.out
expect_task "$job5" 0 gamma "COMPLETED 0:0 1" "requeued once, before its time limit"
grep -q "SIGTERM: passed to hubsync so it drains" "$log" &&
    grep -q "hubsync exit 1 (incomplete, safe to rerun): requeued (1 of at most 5)" "$log" &&
    grep -q "hubsync exit 0: portal gamma caught up" "$log" ||
    fail "gamma's log under a time limit: $(cat "$log")"
term_after_s=$((($(log_ms "$log" "SIGTERM: passed") - $(log_ms "$log" "portal gamma, run 1:")) / 1000))
ok "gamma: SIGTERM $term_after_s s into a run limited to 60 s, drained in $(drain_of "$log") ms (5-s responses in flight); pending again after ${signal_s} s, done after ${limit_s} s"
check_mirror gamma "$gamma" "$fleet/db/gamma-limit"

# Under ASan/UBSan (HUBSYNC=build/asan/bin/hubsync), a report in any run.
if grep -l -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$workdir"/out/*.out; then
    fail "a sanitizer report in the job outputs above"
fi

echo
echo "figures: 3 portals synced twice (first run and next run), 2 refused without requeue;"
echo "  requeues: 1 after scancel --batch --signal=TERM (gamma: $calls_at_term calls before it, $gamma_total in both"
echo "  runs; a fresh sync of gamma takes $gamma_fresh calls, $gamma_fresh_reads batch reads), 1 before a time limit,"
echo "  1 until the daily reset, 0 after a plain scancel;"
echo "  cluster up in ${cluster_s} s; first array (5 tasks) ${first_s} s; next array with the requeue ${next_s} s;"
echo "  a 1-minute time limit: SIGTERM ${term_after_s} s into the run, done in 2 runs, ${limit_s} s;"
echo "  test-slurm wall time $(elapsed "$t_start") s"
echo "test-slurm: $passed passed, 0 failed"
