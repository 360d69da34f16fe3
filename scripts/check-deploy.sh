#!/usr/bin/env bash
# The deployment files and the JSON schemas, checked (part of `make test`):
#
#  1. deploy/systemd: `systemd-analyze verify` and `security --offline` of
#     the units instantiated as hubsync@demo (skipped, saying so, where
#     systemd-analyze is missing), their directives and flags; then the
#     service's ExecStartPre and ExecStart lines run against the simulator
#     as systemd would run them (clean environment, the token in a 0400
#     credential file, its folders under a scratch root).
#  2. deploy/k8s: every YAML document parsed and checked (scripts/
#     check_deploy.py k8s); then the CronJob's pod and each index of the
#     Indexed Job run against the simulator with their volumes as folders.
#     Every mirror is compared with the simulator's truth.
#  3. docs/schemas: the JSON log lines, `status --json` and `run --json` of
#     real runs (first, incremental, refused token, drained by SIGTERM)
#     validated; altered documents must be refused; docs/SCHEMAS.md holds
#     the schemas' field tables.
#
# Usage: scripts/check-deploy.sh   (HUBSYNC, HUBSPOT_SIM as in sim-lib.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/sim-lib.sh
HUBSYNC=$(realpath "$HUBSYNC")
PY=/usr/bin/python3 # Debian's, with python3-yaml and python3-jsonschema
CHECK="$PY scripts/check_deploy.py"
TABLES=(companies_contacts companies_deals companies_tickets contacts_deals contacts_tickets deals_tickets)
TOKEN=pat-na1-hubspot-sim
failures=0
started_ns=$(date +%s%N)


say() { echo "check-deploy: [$((($(date +%s%N) - started_ns) / 1000000)) ms] $*"; }
fail() {
    echo "check-deploy: FAIL: $*" >&2
    failures=$((failures + 1))
}
# expect_exit WANT WHAT CMD…: runs CMD, fails unless it exits WANT.
expect_exit() {
    local want=$1 what=$2 rc=0
    shift 2
    "$@" || rc=$?
    [ "$rc" -eq "$want" ] || fail "$what: exit $rc, expected $want"
    return 0
}
# A clean environment, as systemd and the kubelet give: nothing inherited
# but PATH and what the caller adds (sim-lib.sh exports a token).
clean_env() { env -i PATH=/usr/bin:/bin "$@"; }

"$HUBSYNC" --help >"$workdir/help.txt"

# ---- 1. systemd --------------------------------------------------------------
unit=deploy/systemd/hubsync@.service
timer=deploy/systemd/hubsync@.timer
units=$workdir/units
mkdir -p "$units"
sed "s#/usr/local/bin/hubsync#$HUBSYNC#g" "$unit" >"$units/hubsync@demo.service"
cp "$timer" "$units/hubsync@demo.timer"
if command -v systemd-analyze >/dev/null; then
    # verify exits 0 on an unknown or unparsable setting it ignores: any
    # output is a failure.
    if ! (cd "$units" && systemd-analyze verify ./hubsync@demo.service ./hubsync@demo.timer) \
        >"$workdir/verify.out" 2>&1 || [ -s "$workdir/verify.out" ]; then
        fail "systemd-analyze verify: $(cat "$workdir/verify.out")"
    else
        say "systemd-analyze verify hubsync@demo.service hubsync@demo.timer: clean ($(systemd-analyze --version | head -1))"
    fi
    # The exposure score, in tenths: 1.1 when written; more means a
    # sandboxing setting was lost.
    if (cd "$units" && systemd-analyze security --offline=true --threshold=11 ./hubsync@demo.service) \
        >"$workdir/security.out" 2>&1; then
        say "systemd-analyze security --offline: $(grep -a 'Overall exposure' "$workdir/security.out" | sed 's/^→ //')"
    else
        fail "systemd-analyze security --offline: over 1.1: $(grep -a 'Overall' "$workdir/security.out")"
    fi
else
    say "systemd-analyze not found: systemd-analyze verify and security SKIPPED (apt-get install systemd)"
fi
$CHECK unit "$unit" "$timer" deploy/systemd/hubsync.env.example "$workdir/help.txt" || fail "unit checks"

# ---- 2. Kubernetes, statically -------------------------------------------------
$CHECK k8s deploy/k8s "$workdir/help.txt" || fail "k8s checks"

sim_start --contacts 300 --companies 60 --deals 150 --tickets 30 --heavy-parents 0 --tier unlimited \
    --rollup-bumps always

# ---- 1b. the service's commands, as systemd runs them ------------------------
# %d credentials, %t /run, %S /var/lib, %i the instance; systemd makes the
# StateDirectory and RuntimeDirectory before ExecStartPre.
root=$workdir/systemd
mkdir -p "$root/creds" "$root/run/hubsync/demo" "$root/lib/hubsync"
mkdir -m 0700 "$root/lib/hubsync/demo"
printf '%s\n' "$TOKEN" >"$root/creds/token"
chmod 0400 "$root/creds/token" # as systemd writes a credential
flags="--lag-ms 0"
# hubsync takes a 0400 credential as it is; the unit still copies it,
# because with DynamicUser= systemd grants the read through an ACL (0440).
if ! why=$(clean_env "$HUBSYNC" --token-file "$root/creds/token" --db "$root/x" export 2>&1 \
    >/dev/null) && grep -q -- "--token-file" <<<"$why"; then
    fail "hubsync refuses a 0400 credential: $why"
fi
rc=0
while IFS= read -r line; do
    key=${line%%=*}
    cmd=${line#*=}
    ignore=0
    if [ "${cmd#-}" != "$cmd" ]; then
        ignore=1
        cmd=${cmd#-}
    fi
    cmd=${cmd//%d/$root/creds}
    cmd=${cmd//%t/$root/run}
    cmd=${cmd//%S/$root/lib}
    cmd=${cmd//%i/demo}
    cmd=${cmd//\/usr\/local\/bin\/hubsync/$HUBSYNC}
    cmd=${cmd//\$HUBSYNC_FLAGS/$flags}
    read -ra words <<<"$cmd"
    step_rc=0
    clean_env HUBSPOT_BASE_URL="$base" "${words[@]}" >>"$root/out" 2>>"$root/err" || step_rc=$?
    say "unit $key: ${words[0]##*/} $(printf '%s\n' "${words[@]}" | grep -xE 'setup|run' || true) exit $step_rc"
    [ "$step_rc" -eq 0 ] || [ "$ignore" -eq 1 ] || {
        rc=$step_rc
        break
    }
done < <(grep -E '^ExecStart(Pre)?=' "$unit")
if [ "$rc" -ne 0 ]; then
    fail "hubsync@demo.service: exit $rc: $(tail -3 "$root/err")"
else
    [ "$(stat -c %a "$root/run/hubsync/demo/token")" = 600 ] || fail "the token copy is not 0600"
    mirror_check "$root/lib/hubsync/demo" "${TABLES[@]}"
    "$HUBSYNC" --db "$root/lib/hubsync/demo" status --json >"$root/status.json"
    grep -q '"table_options":null' "$root/status.json" && fail "the unit's ExecStartPre setup stored no table_options"
    tail -1 "$root/out" >"$root/summary.json"
fi

# ---- 2b. the Kubernetes pods, outside Kubernetes -----------------------------
k8s=$workdir/k8s
HUBSYNC=$HUBSYNC $CHECK pod deploy/k8s/cronjob.yaml CronJob "$k8s" "$TOKEN" >"$workdir/cron-pod.sh"
HUBSYNC=$HUBSYNC $CHECK pod deploy/k8s/backfill-indexed-job.yaml Job "$k8s" "$TOKEN" >"$workdir/backfill-pod.sh"
rc=0
clean_env HUBSPOT_BASE_URL="$base" bash "$workdir/cron-pod.sh" >"$k8s.cron.out" 2>"$k8s.cron.err" || rc=$?
if [ "$rc" -eq 0 ]; then
    say "CronJob hubsync-acme pod: exit 0"
    tail -1 "$k8s.cron.out" >"$k8s.cron.summary.json"
    mirror_check "$k8s/var/lib/hubsync/acme" "${TABLES[@]}"
else
    fail "CronJob hubsync-acme pod: exit $rc: $(grep -av '"level":"info"' "$k8s.cron.err" | tail -2)"
fi
mapfile -t portals < <($PY -c 'import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d["kind"] == "ConfigMap": print(d["data"]["portals"].strip())' deploy/k8s/backfill-indexed-job.yaml)
# The indexes side by side, as parallelism lets them run.
pids=()
for n in "${!portals[@]}"; do
    clean_env HUBSPOT_BASE_URL="$base" JOB_COMPLETION_INDEX="$n" bash "$workdir/backfill-pod.sh" \
        >"$k8s.$n.out" 2>"$k8s.$n.err" &
    pids+=($!)
done
for n in "${!portals[@]}"; do
    rc=0
    wait "${pids[$n]}" || rc=$?
    if [ "$rc" -eq 0 ]; then
        say "Job hubsync-backfill index $n (${portals[$n]}): exit 0"
        mirror_check "$k8s/var/lib/hubsync/${portals[$n]}" "${TABLES[@]}"
    else
        fail "Job hubsync-backfill index $n (${portals[$n]}): exit $rc: $(tail -2 "$k8s.$n.err")"
    fi
done
n=${#portals[@]}
[ "$n" -ge 2 ] || fail "the backfill's ConfigMap lists $n portals"
# An index past the list: exit 2, which the podFailurePolicy fails (FailIndex).
expect_exit 2 "backfill index $n (no portal)" \
    clean_env HUBSPOT_BASE_URL="$base" JOB_COMPLETION_INDEX="$n" bash "$workdir/backfill-pod.sh" 2>/dev/null

# ---- 3. the JSON schemas -------------------------------------------------------
s=$workdir/schemas
mkdir -p "$s"
export HUBSPOT_BASE_URL=$base
# --rate 0: these runs are about their output, not the limits.
hs() { "$HUBSYNC" --db "$s/db" --log-format json --rate 0 "$@"; }
# validate SCHEMA [--lines|--expect-invalid] FILE…
validate() {
    local name=$1
    shift
    $CHECK schema "docs/schemas/$name.schema.json" "$@" || fail "validation against $name"
}
# Before setup (a warning per table), setup, a first and an incremental run.
expect_exit 0 "run before setup" hs run --json --lag-ms 0 --tables companies_contacts >"$s/run0.json" 2>"$s/log0"
expect_exit 0 "status before setup" hs status --json --tables companies_contacts,contacts_deals >"$s/status0.json"
expect_exit 0 setup hs setup --json >/dev/null 2>"$s/log1"
expect_exit 0 "first run" hs run --json --lag-ms 0 >"$s/run1.json" 2>"$s/log2"
curl -sS -X POST -d '{"count":40}' "$base/_sim/mutate" >/dev/null
expect_exit 0 "incremental run" hs run --json --lag-ms 0 >"$s/run2.json" 2>"$s/log3"
expect_exit 0 status hs status --json >"$s/status1.json"
# Without --json, the summary is the run_summary log line, just before the
# exit line (log3b is validated with the other logs; its summary against
# run-summary below).
expect_exit 0 "run, summary as a log line" hs run --lag-ms 0 --progress never 2>"$s/log3b"
grep '"event":"run_summary"' "$s/log3b" | tail -n 1 | /usr/bin/python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin)["summary"]))' \
    >"$s/run2b.json" || fail "no run_summary log line holds the summary of a run without --json"
mirror_check "$s/db" "${TABLES[@]}"
grep -q '"mode":"changes"' "$s/run2.json" || fail "the second run did not search for changes"
# setup --json and doctor --json over the synced database (doctor: 0 agree, 1 not).
expect_exit 0 "setup --json again" hs setup --json >"$s/setup1.json" 2>>"$s/log3b"
rc=0
hs doctor --json >"$s/doctor1.json" 2>>"$s/log3b" || rc=$?
[ "$rc" -le 1 ] || fail "doctor --json: exit $rc"
# A refused token: error lines, exit 3.
expect_exit 3 "refused token" env HUBSPOT_ACCESS_TOKEN=pat-na1-wrong \
    "$HUBSYNC" --db "$s/db" --log-format json run --json >"$s/run3.json" 2>"$s/log4"
# Drained by SIGTERM in the middle of a full scan: a synced table scanned
# again (--full-scan: 5 jobs of 1,000 parents, one request at a time behind
# 300 ms); status read beside the run until a scan cursor is committed, then
# SIGTERM: exit 1, an incomplete summary, a status with the scan unfinished.
sim_stop
sim_start --contacts 5000 --deals 2500 --companies 0 --tickets 0 --heavy-parents 0 --tier unlimited
export HUBSPOT_BASE_URL=$base
d=(--db "$s/db2" --tables contacts_deals --log-format json)
say "schemas: first runs done"
expect_exit 0 "run before the drain" "$HUBSYNC" "${d[@]}" run --json --lag-ms 0 --rate 0 >"$s/run4.json" 2>"$s/log5"
curl -sS -X POST -d '{"latency_ms":300}' "$base/_sim/config" >/dev/null
"$HUBSYNC" "${d[@]}" run --json --lag-ms 0 --full-scan --workers 1 --inflight 1 \
    >"$s/run5.json" 2>"$s/log6" &
run_pid=$!
seen=0
for _ in $(seq 1 600); do
    if "$HUBSYNC" "${d[@]}" status --json >"$s/status2.json" 2>/dev/null &&
        grep -q '"kind":"object_id"' "$s/status2.json"; then
        seen=1
        break
    fi
    kill -0 "$run_pid" 2>/dev/null || break
    sleep 0.05
done
kill -TERM "$run_pid" 2>/dev/null || true
rc=0
wait "$run_pid" || rc=$?
[ "$seen" -eq 1 ] || fail "no object_id cursor seen during the scan"
[ "$rc" -eq 1 ] || fail "SIGTERM mid-scan: exit $rc, expected 1"
grep -q '"completed":false' "$s/run5.json" || fail "the drained run's summary says nothing incomplete"
expect_exit 0 "status after the drain" "$HUBSYNC" "${d[@]}" status --json >"$s/status3.json"
grep -q '"scan_started_ms":[0-9]' "$s/status3.json" || fail "no unfinished scan after the drain"
curl -sS -X POST -d '{"latency_ms":0}' "$base/_sim/config" >/dev/null
expect_exit 0 "resumed run" "$HUBSYNC" "${d[@]}" run --json --lag-ms 0 --rate 0 >"$s/run6.json" 2>"$s/log7"
grep -q '"route":"full_scan_resume"' "$s/run6.json" || fail "the run after the drain did not resume the scan"
mirror_check "$s/db2" contacts_deals

# Every stderr line of every command here, the unit's and the pods'.
cat "$s"/log* "$root"/err "$k8s".*.err >"$s/all.log"
for n in "${!portals[@]}"; do tail -1 "$k8s.$n.out" >"$k8s.$n.summary.json"; done
# Every stdout line of the unit and the pods is JSON too (setup --json, run --json).
$PY -c 'import json, sys
for f in sys.argv[1:]:
    for n, line in enumerate(open(f), 1):
        try: json.loads(line)
        except ValueError: sys.exit(f"{f}:{n}: not JSON: {line[:100]}")' "$root/out" "$k8s".*.out ||
    fail "a unit or pod printed a line that is not JSON on stdout"
say "schemas: validating"
validate log-line --lines "$s/all.log"
for level in info warn error; do
    grep -q "\"level\":\"$level\"" "$s/all.log" || fail "no $level line among the logs validated"
done
# run3: a refused token still prints its (incomplete) summary.
validate run-summary "$s"/run[0-6].json "$s"/run2b.json "$root"/summary.json "$k8s".*.summary.json
validate status "$s"/status[0-3].json "$root/status.json"
validate setup "$s/setup1.json"
validate doctor "$s/doctor1.json"
# The schemas must refuse what hubsync does not print.
$PY - "$s" <<'EOF_PY'
import json, sys
s = sys.argv[1]
def mutate(src, dst, change):
    d = json.load(open(f"{s}/{src}.json"))
    change(d)
    json.dump(d, open(f"{s}/{dst}.json", "w"))
mutate("status1", "bad1", lambda d: d.update(extra=1))
mutate("status1", "bad2", lambda d: d["tables"][0].pop("cursor"))
mutate("status1", "bad3", lambda d: d["tables"][0]["cursor"].update(kind="object_id"))
mutate("status3", "bad4", lambda d: d["tables"][0]["cursor"].update(object_id=int(d["tables"][0]["cursor"]["object_id"])))
mutate("run1", "bad5", lambda d: d["tables"][0].update(removed=-1))
mutate("run1", "bad6", lambda d: d.pop("object_sync"))
EOF_PY
head -1 "$s/all.log" | sed 's/"level":"[a-z]*"/"level":"fatal"/' >"$s/bad7.json"
head -1 "$s/all.log" | sed 's/}$/,"token":"x"}/' >"$s/bad8.json"
validate status --expect-invalid "$s"/bad[1-4].json
validate run-summary --expect-invalid "$s"/bad[56].json
validate log-line --expect-invalid "$s"/bad[78].json
$CHECK schema-doc docs/schemas/log-line.schema.json docs/schemas/status.schema.json \
    docs/schemas/run-summary.schema.json docs/schemas/setup.schema.json \
    docs/schemas/doctor.schema.json --check docs/SCHEMAS.md || fail "docs/SCHEMAS.md"

ms=$((($(date +%s%N) - started_ns) / 1000000))
if [ "$failures" -ne 0 ]; then
    say "$failures FAILED ($ms ms)"
    exit 1
fi
say "all passed in $ms ms"
