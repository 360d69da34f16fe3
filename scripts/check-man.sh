#!/bin/bash
# check-man — the man pages scripts/cli-pages.py writes (make check-man, part
# of make test): each renders without a warning, through groff at three line
# lengths and through `man -l` as a reader would open it; it is plain ASCII;
# it has its sections; and its OPTIONS name every flag the binary knows
# (`hubsync help --markdown`, `hubspot-sim --help`), ENVIRONMENT every
# variable and COMMANDS every command.
#
# Usage: scripts/check-man.sh HUBSYNC SIM HUBSYNC_PAGE SIM_PAGE
set -euo pipefail
cd "$(dirname "$0")/.."
usage="usage: check-man.sh HUBSYNC SIM HUBSYNC_PAGE SIM_PAGE"
hubsync=${1:?$usage}
sim=${2:?$usage}
hubsync_page=${3:?$usage}
sim_page=${4:?$usage}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# Failures are counted in a file: some are found in command substitutions.
fail() {
    echo "check-man: FAIL: $*" | tee -a "$scratch/failures" >&2
}

# render PAGE: the page as `man -l` shows it, 80 columns, '-' for every
# hyphen and minus sign; fails on any warning from groff or man.
render() {
    local page=$1 width
    for width in 60 80 120; do
        groff -man -Tutf8 -ww -z -rLL="${width}n" "$page" 2>"$scratch/warn" || fail "$page: groff exit $?"
        [ ! -s "$scratch/warn" ] || fail "$page at ${width} columns: $(cat "$scratch/warn")"
    done
    MANWIDTH=80 MAN_KEEP_FORMATTING= man --warnings -l "$page" 2>"$scratch/warn" >"$scratch/out" ||
        fail "$page: man -l exit $?"
    [ ! -s "$scratch/warn" ] || fail "$page: man -l: $(cat "$scratch/warn")"
    [ -s "$scratch/out" ] || fail "$page: man -l printed nothing"
    sed 's/\xe2\x80\x90/-/g; s/\xe2\x88\x92/-/g' "$scratch/out"
}

# section TEXT NAME: the lines of section NAME of a rendered page.
section() {
    awk -v name="$2" '/^[A-Z]/ { on = ($0 == name); next } on' <<<"$1"
}

# has_words TEXT WHAT WORD…: each WORD stands as a word (between spaces,
# commas or brackets) somewhere in TEXT.
has_words() {
    local text=$1 what=$2 w
    local words
    words=" $(tr -s ' ,()[]\t' '\n' <<<"$text" | paste -sd' ') "
    shift 2
    for w in "$@"; do
        [[ $words == *" $w "* ]] || fail "$what: $w missing"
    done
}

check_page() {
    local page=$1 text s
    shift
    if LC_ALL=C grep -nP '[^\x00-\x7f]' "$page" >"$scratch/nonascii"; then
        fail "$page: not ASCII: $(head -3 "$scratch/nonascii")"
    fi
    text=$(render "$page")
    for s in "$@"; do
        grep -qx "$s" <<<"$text" || fail "$page: no section $s"
    done
    printf '%s' "$text"
}

# hubsync(1)
text=$(check_page "$hubsync_page" NAME SYNOPSIS DESCRIPTION COMMANDS OPTIONS ENVIRONMENT FILES \
    "EXIT STATUS" "SEE ALSO")
mapfile -t flags < <(scripts/cli-pages.py flags "$hubsync")
has_words "$(section "$text" OPTIONS)" "$hubsync_page OPTIONS" "${flags[@]}"
mapfile -t vars < <("$hubsync" help --markdown | sed 's/\\|//g' | awk -F'|' 'NR > 2 { print $3 }' |
    grep -oE '[A-Z][A-Z_]+[A-Z]')
vars+=(HUBSPOT_ACCESS_TOKEN HUBSPOT_REFRESH_TOKEN HUBSPOT_CLIENT_ID HUBSPOT_CLIENT_SECRET)
has_words "$(section "$text" ENVIRONMENT)" "$hubsync_page ENVIRONMENT" "${vars[@]}"
mapfile -t commands < <("$hubsync" help | awk '/^Commands/ { on = 1; next } /^$/ { on = 0 }
    on && /^  [a-z]/ { print $1 }')
has_words "$(section "$text" COMMANDS)" "$hubsync_page COMMANDS" "${commands[@]}"
mapfile -t codes < <("$hubsync" help | awk '/^Exit codes/ { on = 1; next } on && /^  [0-9]/ { print $1 }')
has_words "$(section "$text" "EXIT STATUS")" "$hubsync_page EXIT STATUS" "${codes[@]}"

# hubspot-sim(1)
text=$(check_page "$sim_page" NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" "SEE ALSO")
mapfile -t options < <(scripts/cli-pages.py sim-flags "$sim")
has_words "$(section "$text" OPTIONS)" "$sim_page OPTIONS" "${options[@]}"

if [ -s "$scratch/failures" ]; then
    echo "check-man: $(wc -l <"$scratch/failures") problems" >&2
    exit 1
fi
echo "check-man: ok ($hubsync_page: ${#flags[@]} flags, ${#vars[@]} variables," \
    "${#commands[@]} commands, ${#codes[@]} exit codes; $sim_page: ${#options[@]} options;" \
    "groff at 60, 80 and 120 columns and man -l without a warning)"
