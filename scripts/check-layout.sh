#!/bin/bash
# check-layout — the rules of the source tree that a compiler does not check
# (docs/STYLE.md), run by `make test`:
#
#  1. The repository stands on its own: no tracked file refers to a document
#     outside it (the team's working notes: a product contract, design notes,
#     API notes), which a person who clones the repository does not have.
#  2. The layers: common/ includes nothing from coordinator/, worker/ or sim/;
#     worker/ nothing from coordinator/ or sim/; sim/ nothing from
#     coordinator/ or worker/, and from common/ only base/; coordinator/ only
#     the worker's entry point (worker.h). Inside common/, the layers from the
#     bottom: base, store, ipc, hubspot; a layer includes only from itself and
#     the layers below it.
#     The limiter's fields (rp_*, rd_* in common/ipc/rl.h) are used by
#     common/ipc/rl.c alone.
#  3. No function of the client longer than 100 lines.
#
# Prints each offending line and exits 1, or prints one line and exits 0.
set -u
cd "$(dirname "$0")/.."

fail=0
problem() {
    echo "check-layout: $1" >&2
    fail=1
}

files() {
    git ls-files "$@" 2>/dev/null || find . -path ./.git -prune -o -type f -print
}

# 1. References to documents outside the repository. The patterns are built
# from pieces so that this script does not match itself.
dotdot='\.\./'"shared"
outside="($dotdot|SPEC §|SPEC\.md|DESIGN\.md|hubspot-api\.md|reference/000_)"
while IFS= read -r hit; do
    problem "refers outside the repository: $hit"
done < <(files | grep -v '^scripts/check-layout.sh$' | xargs grep -nIE "$outside" 2>/dev/null)

# 2. Includes across layers: "DIR: the folders it may not include from".
rules=(
    "common: coordinator worker sim"
    "worker: coordinator sim"
    "sim: coordinator worker"
)
for rule in "${rules[@]}"; do
    dir=${rule%%:*}
    for banned in ${rule#*: }; do
        while IFS= read -r hit; do
            problem "$dir/ may not include from $banned/: $hit"
        done < <(files "$dir/*.c" "$dir/*.h" | xargs grep -nE "#include \"(\.\./)+$banned/" 2>/dev/null)
    done
done
while IFS= read -r hit; do
    problem "sim/ may include from common/ only base/: $hit"
done < <(files 'sim/*.c' 'sim/*.h' | xargs grep -nE '#include "\.\./common/' 2>/dev/null |
    grep -vE '"\.\./common/base/')
layers=(base store ipc hubspot)
for ((i = 0; i < ${#layers[@]}; i++)); do
    for ((j = i + 1; j < ${#layers[@]}; j++)); do
        while IFS= read -r hit; do
            problem "common/${layers[i]}/ may not include from the higher layer ${layers[j]}/: $hit"
        done < <(files "common/${layers[i]}/*.[ch]" | xargs grep -nE "#include \"\.\./${layers[j]}/" 2>/dev/null)
    done
done
while IFS= read -r hit; do
    problem "coordinator/ may include only worker/worker.h: $hit"
done < <(files 'coordinator/*.c' 'coordinator/*.h' | xargs grep -nE '#include "\.\./worker/' 2>/dev/null |
    grep -vE '"\.\./worker/worker\.h"')

# 2b. The limiter's state is private to rl.c: its structs live in shared
# memory, so rl.h defines them, but no other file reads or writes a field
# (rp_*, rd_*) of them; they go through rl.h's functions.
fields=$(grep -oE '\b(rp|rd)_[a-z_]+(;|\[)' common/ipc/rl.h | tr -d ';[' | sort -u | paste -sd'|')
if [ -n "$fields" ]; then
    while IFS= read -r hit; do
        problem "a limiter field used outside common/ipc/rl.c (use rl.h's functions): $hit"
    done < <(files '*.c' '*.h' | grep -vE '^common/ipc/rl\.[ch]$' |
        xargs grep -nE "(->|\.)($fields)\b" 2>/dev/null)
fi

# 3. No function of the client (coordinator/, worker/, common/) over 100
# lines, from its signature to its closing brace (K&R layout: the body's
# braces alone in column 0, which clang-format keeps).
while IFS= read -r hit; do
    problem "a function over 100 lines (split it where its comment says \"first... then\"): $hit"
done < <(files 'coordinator/*.c' 'worker/*.c' 'common/*.c' | python3 -c '
import re, sys
for path in sys.stdin.read().split():
    lines = open(path).read().split("\n")
    i = 0
    while i < len(lines):
        if lines[i] == "{" and i > 0:
            start = i - 1
            while start > 0 and not re.match(r"^[a-z].*\(", lines[start]):
                start -= 1
            end = i + 1
            while end < len(lines) and lines[end] != "}":
                end += 1
            if end - start + 1 > 100:
                print(f"{path}:{start + 1}: {lines[start][:60]} ({end - start + 1} lines)")
            i = end
        i += 1
')

if [ "$fail" -ne 0 ]; then
    exit 1
fi
echo "check-layout: ok (no reference outside the repository; includes follow the layers; limiter fields private; no function over 100 lines)"
