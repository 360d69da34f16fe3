#!/bin/bash
# test-deb — the Debian packages end to end (make test-deb; .ci/run runs it
# after make test, which stays free of dpkg):
#
#  1. The tree is copied into a scratch folder (from git: every file git
#     tracks or would track, as it is in the working tree; elsewhere: all
#     but build/, bin/ and .git), and `dpkg-buildpackage -b -us -uc` builds
#     hubsync and hubspot-sim there: this tree gets no build output.
#  2. apt-get installs both .deb files (their dependencies resolved).
#  3. The installed programs, from /usr/bin: hubspot-sim on a free loopback
#     port (ready when it has written its port file), hubsync setup, run,
#     status and export against it, each exit 0, the export non-empty and
#     equal to the simulator's truth; the version is VERSION's; the man
#     pages render with `man`; the installed completions pass
#     scripts/check-completion.sh; the installed unit runs /usr/bin/hubsync
#     and passes `systemd-analyze verify`.
#  4. Both packages are purged (also when a step fails), and nothing of them
#     is left in /usr/bin.
#
# Needs root (or sudo) for apt-get; refuses to run where hubsync is already
# installed, which the purge would remove.
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(hubsync hubspot-sim)
started_ns=$(date +%s%N)
say() { echo "test-deb: [$((($(date +%s%N) - started_ns) / 1000000)) ms] $*"; }
die() {
    echo "test-deb: FAIL: $*" >&2
    exit 1
}
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "needs root or sudo to install the packages"
    sudo="sudo"
fi
for p in "${packages[@]}"; do
    if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
        die "the package $p is installed already; test-deb would purge it (apt-get purge $p first)"
    fi
    [ ! -e "/usr/bin/$p" ] || die "/usr/bin/$p exists (make install PREFIX=/usr?); test-deb would replace it"
done

export HUBSPOT_SIM=/usr/bin/hubspot-sim HUBSYNC=/usr/bin/hubsync
. scripts/sim-lib.sh # $workdir, sim_start, mirror_check; its trap is replaced below
installed=0
cleanup() {
    sim_cleanup
    if [ "$installed" = 1 ]; then
        DEBIAN_FRONTEND=noninteractive $sudo apt-get purge -y -qq "${packages[@]}" >/dev/null 2>&1 ||
            echo "test-deb: apt-get purge ${packages[*]} failed" >&2
    fi
}
trap cleanup EXIT

# ---- 1. build from a copy ------------------------------------------------
src=$workdir/src
mkdir -p "$src"
if git rev-parse --git-dir >/dev/null 2>&1; then
    # A scratch index: the real one, and the working tree, are left alone.
    GIT_INDEX_FILE=$workdir/index git add -A .
    tree=$(GIT_INDEX_FILE=$workdir/index git write-tree)
    git archive "$tree" | tar -x -C "$src"
else
    tar -c --exclude=./build --exclude=./bin --exclude=./.git . | tar -x -C "$src"
fi
say "tree copied to $src ($(find "$src" -type f | wc -l) files)"
if ! (cd "$src" && dpkg-buildpackage -b -us -uc -j2) >"$workdir/build.log" 2>&1; then
    tail -40 "$workdir/build.log" >&2
    die "dpkg-buildpackage failed (above: the end of its log)"
fi
version=$(cat VERSION)
debs=()
for p in "${packages[@]}"; do
    deb=$(ls "$workdir/${p}_${version}"_*.deb 2>/dev/null) || die "no ${p}_${version}_*.deb built"
    debs+=("$deb")
done
say "dpkg-buildpackage -b -us -uc: $(cd "$workdir" && ls ./*.deb | sed 's#^\./##' | paste -sd' ')"

# ---- 2. install ----------------------------------------------------------
installed=1
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${debs[@]}" \
    >"$workdir/apt.log" 2>&1 || {
    cat "$workdir/apt.log" >&2
    die "apt-get install ${debs[*]}"
}
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status} ${Version}\n' "$p" | grep -qx "install ok installed $version" ||
        die "$p $version is not installed"
done
say "installed: $(dpkg-query -W -f='${Package} ${Version}, ' "${packages[@]}" | sed 's/, $//')"

# ---- 3. the installed programs -------------------------------------------
[ "$(command -v hubsync)" = /usr/bin/hubsync ] || die "hubsync on PATH is $(command -v hubsync)"
[ "$("$HUBSYNC" --version)" = "hubsync $version" ] || die "hubsync --version: $("$HUBSYNC" --version)"
tables=(companies_contacts companies_deals companies_tickets contacts_deals contacts_tickets deals_tickets)
sim_start --contacts 300 --companies 60 --deals 150 --tickets 30 --heavy-parents 0
say "/usr/bin/hubspot-sim listening at $base"
hs() { "$HUBSYNC" --db "$workdir/db" --base-url "$base" --progress never "$@"; }
for cmd in setup run status; do
    rc=0
    hs "$cmd" >"$workdir/$cmd.out" 2>"$workdir/$cmd.err" || rc=$?
    [ "$rc" -eq 0 ] || { cat "$workdir/$cmd.err" >&2; die "hubsync $cmd: exit $rc"; }
done
rc=0
hs export -o "$workdir/export.tsv" 2>"$workdir/export.err" || rc=$?
[ "$rc" -eq 0 ] || { cat "$workdir/export.err" >&2; die "hubsync export: exit $rc"; }
[ -s "$workdir/export.tsv" ] || die "hubsync export wrote nothing"
say "/usr/bin/hubsync setup, run, status, export: exit 0; export $(wc -l <"$workdir/export.tsv") lines"
mirror_check "$workdir/db" "${tables[@]}"

for p in "${packages[@]}"; do
    page=$(dpkg -L "$p" | grep "/man1/$p\.1\.gz$") || die "$p ships no man page $p(1)"
    MANWIDTH=80 man --warnings "$p" 2>"$workdir/man.err" >"$workdir/man.out" || die "man $p"
    [ ! -s "$workdir/man.err" ] || die "man $p: $(cat "$workdir/man.err")"
    grep -q '^NAME' "$workdir/man.out" || die "man $p: no NAME"
done
say "man hubsync, man hubspot-sim: rendered without a warning"
completions=/usr/share/bash-completion/completions
scripts/check-completion.sh "$HUBSYNC" "$completions/hubsync" "$completions/hubspot-sim"
unit=$(dpkg -L hubsync | grep '/systemd/system/hubsync@\.service$') || die "no hubsync@.service installed"
grep -q '^ExecStart=/usr/bin/hubsync ' "$unit" || die "$unit does not run /usr/bin/hubsync"
if command -v systemd-analyze >/dev/null; then
    mkdir "$workdir/units"
    cp "$unit" "$workdir/units/hubsync@demo.service"
    cp "${unit%.service}.timer" "$workdir/units/hubsync@demo.timer"
    (cd "$workdir/units" && systemd-analyze verify ./hubsync@demo.service ./hubsync@demo.timer) \
        >"$workdir/verify.out" 2>&1 || true
    [ ! -s "$workdir/verify.out" ] || die "systemd-analyze verify $unit: $(cat "$workdir/verify.out")"
    say "$unit: runs /usr/bin/hubsync; systemd-analyze verify: clean"
else
    say "$unit: runs /usr/bin/hubsync; systemd-analyze not found: verify SKIPPED"
fi

# ---- 4. purge ------------------------------------------------------------
sim_stop
DEBIAN_FRONTEND=noninteractive $sudo apt-get purge -y -qq "${packages[@]}" >/dev/null 2>&1 ||
    die "apt-get purge ${packages[*]}"
installed=0
for p in "${packages[@]}"; do
    [ ! -e "/usr/bin/$p" ] || die "/usr/bin/$p is left after the purge"
    ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'installed' || die "$p is still installed"
done
say "ok: both packages built, installed, tried from /usr/bin and purged"
