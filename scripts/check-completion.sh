#!/bin/bash
# check-completion — the bash completions scripts/cli-pages.py writes, tried
# as bash would call them (make check-completion, part of make test):
# COMP_WORDS and COMP_CWORD set for a command line, the completion function
# called, COMPREPLY compared with what it must offer. Every flag of
# `hubsync help --markdown` must be offered on some command line.
#
# Usage: scripts/check-completion.sh HUBSYNC HUBSYNC_COMPLETION SIM_COMPLETION
set -euo pipefail
cd "$(dirname "$0")/.."
hubsync=${1:?usage: check-completion.sh HUBSYNC HUBSYNC_COMPLETION SIM_COMPLETION}
hubsync_completion=${2:?usage: check-completion.sh HUBSYNC HUBSYNC_COMPLETION SIM_COMPLETION}
sim_completion=${3:?usage: check-completion.sh HUBSYNC HUBSYNC_COMPLETION SIM_COMPLETION}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir "$scratch/dir"
: >"$scratch/file"
failures=0
checks=0

# offered FILE LINE: what the completion in FILE offers for LINE (the cursor
# at its end; a trailing space starts a new, empty word), sorted, one line.
# '=' is a word of its own, as bash's COMP_WORDBREAKS makes it.
offered() {
    bash -c '
        source "$1"
        read -ra COMP_WORDS <<<"${2//=/ = }"
        [[ $2 == *" " ]] && COMP_WORDS+=("")
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        fn=_${COMP_WORDS[0]//-/_}
        "$fn" 2>/dev/null
        printf "%s\n" "${COMPREPLY[@]}" | LC_ALL=C sort | paste -sd" "
    ' offered "$@"
}

# expect FILE LINE WANT: the completion of LINE is exactly WANT (sorted).
expect() {
    local got
    got=$(offered "$1" "$2")
    checks=$((checks + 1))
    if [ "$got" != "$3" ]; then
        echo "check-completion: FAIL '$2': offered '$got', expected '$3'" >&2
        failures=$((failures + 1))
    fi
}

# expect_has FILE LINE WORD… / expect_not FILE LINE WORD…: among what LINE offers, or not.
expect_has() {
    local got w
    got=" $(offered "$1" "$2") "
    for w in "${@:3}"; do
        checks=$((checks + 1))
        [[ $got == *" $w "* ]] || { echo "check-completion: FAIL '$2': does not offer $w" >&2; failures=$((failures + 1)); }
    done
}
expect_not() {
    local got w
    got=" $(offered "$1" "$2") "
    for w in "${@:3}"; do
        checks=$((checks + 1))
        [[ $got != *" $w "* ]] || { echo "check-completion: FAIL '$2': offers $w, which does not apply" >&2; failures=$((failures + 1)); }
    done
}

H=$hubsync_completion
S=$sim_completion
commands=$(offered "$H" "hubsync ")
expect "$H" "hubsync " "$(printf '%s\n' setup run status doctor export push bench version help | LC_ALL=C sort | paste -sd' ')"
expect "$H" "hubsync st" "status"
expect "$H" "hubsync run --wo" "--workers"
expect "$H" "hubsync run --for" ""
expect "$H" "hubsync export --for" "--format"
expect_has "$H" "hubsync run --" --loop --interval --db --json
expect_not "$H" "hubsync run --" --format --output --snapshot --markdown --table
expect_not "$H" "hubsync export --" --json --loop
expect "$H" "hubsync --db $scratch/dir run --lo" "--log-format --log-level --loop"
expect "$H" "hubsync --db=$scratch/dir export --ob" "--objects"
expect "$H" "hubsync export --format " "csv jsonl tsv"
expect "$H" "hubsync --log-format=j" "json"
expect "$H" "hubsync status --progress n" "never"
expect "$H" "hubsync --tables companies_contacts,contacts_d" "companies_contacts,contacts_deals"
expect "$H" "hubsync export --table deals_ti" "deals_tickets"
expect "$H" "hubsync export --objects postal" "postal_mail"
expect "$H" "hubsync --db $scratch/" "$scratch/dir"
expect "$H" "hubsync export -o $scratch/f" "$scratch/file"
expect "$H" "hubsync --workers " ""
expect "$H" "hubsync help ex" "export"
expect "$H" "hubsync status " ""
# Every flag of the flag table, offered before a command.
all=$(scripts/cli-pages.py flags "$hubsync" | LC_ALL=C sort | paste -sd' ')
expect "$H" "hubsync -" "$all"

expect "$S" "hubspot-sim --ti" "--tickets --tier"
expect "$S" "hubspot-sim --tier pro" "pro pro-addon"
expect "$S" "hubspot-sim --auth " "oauth private"
expect "$S" "hubspot-sim --retry-after=o" "off on"
expect "$S" "hubspot-sim --tls-cert $scratch/fi" "$scratch/file"
expect "$S" "hubspot-sim --density " ""
expect "$S" "hubspot-sim --port 0 --q" "--quiet"

if [ "$failures" -gt 0 ]; then
    echo "check-completion: $failures of $checks checks failed" >&2
    exit 1
fi
echo "check-completion: ok ($checks checks; commands offered: $commands)"
