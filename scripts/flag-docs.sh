#!/bin/bash
# flag-docs — docs/CLI.md's flag table against the flag table in
# coordinator/cli.c, which `hubsync help --markdown` prints.
#
#   scripts/flag-docs.sh check HUBSYNC   exit 1 (with the diff) when they differ
#   scripts/flag-docs.sh write HUBSYNC   rewrite the table between the markers
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:?usage: flag-docs.sh check|write HUBSYNC}
hubsync=${2:?usage: flag-docs.sh check|write HUBSYNC}
doc=docs/CLI.md
begin='<!-- flags:begin -->'
end='<!-- flags:end -->'

table=$("$hubsync" help --markdown)
case $mode in
check)
    if ! diff -u <(sed -n "/^$begin\$/,/^$end\$/p" "$doc" | sed '1d;$d') <(printf '%s\n' "$table"); then
        echo "check-docs: $doc's flag table differs from \`hubsync help --markdown\` (above); run make docs" >&2
        exit 1
    fi
    echo "check-docs: ok ($doc's flag table is the one the flag table prints)"
    ;;
write)
    tmp=$(mktemp "$doc.XXXXXX")
    awk -v begin="$begin" -v end="$end" -v table="$table" '
        $0 == begin { print; print table; skip = 1; next }
        $0 == end { skip = 0 }
        !skip { print }' "$doc" >"$tmp"
    mv "$tmp" "$doc"
    echo "docs: $doc's flag table rewritten"
    ;;
*)
    echo "flag-docs.sh: unknown mode '$mode' (check or write)" >&2
    exit 2
    ;;
esac
