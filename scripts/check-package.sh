#!/bin/bash
# check-package — make install and debian/ agree with the tree, without
# dpkg (make check-package, part of make test; make test-deb builds and
# installs the real packages):
#
#  1. debian/changelog's version is the VERSION file's.
#  2. debian/control's Build-Depends name the -dev libraries scripts/deps.sh
#     installs, no more, no fewer.
#  3. make install into a scratch DESTDIR with debian/rules' directories:
#     every file it installs is in exactly one debian/*.install list and
#     every listed file is installed; the installed hubsync runs; the unit
#     runs the installed binary; `man -l` renders the installed pages.
#  4. make uninstall removes every file make install put there.
#  5. make install with the defaults: everything under /usr/local, the
#     unit's ExecStart included.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
fail() {
    echo "check-package: FAIL: $*" >&2
    exit 1
}

# 1.
version=$(cat VERSION)
changelog=$(sed -n '1s/^hubsync (\([^)]*\)).*/\1/p' debian/changelog)
[ "$changelog" = "$version" ] ||
    fail "debian/changelog is at '$changelog', VERSION at '$version': add a changelog entry for $version"

# 2.
dev_libs() { grep -oE '\blib[a-z0-9.+-]+-dev\b' | grep -v '^libclang' | LC_ALL=C sort -u; }
control_libs=$(sed -n '/^Build-Depends:/,/^[A-Z]/p' debian/control | dev_libs)
deps_libs=$(sed -n '/^packages=(/,/^)/p' scripts/deps.sh | sed 's/#.*//' | dev_libs)
if [ "$control_libs" != "$deps_libs" ]; then
    fail "debian/control's Build-Depends and scripts/deps.sh differ in -dev libraries:
$(diff <(echo "$control_libs") <(echo "$deps_libs") | grep '^[<>]')"
fi

# 3.
read -ra dirs <<<"$(sed -n 's/^INSTALL_DIRS = //p' debian/rules)"
[ ${#dirs[@]} -gt 0 ] || fail "debian/rules has no INSTALL_DIRS"
root=$scratch/root
make --no-print-directory install DESTDIR="$root" "${dirs[@]}" >"$scratch/install.log"
(cd "$root" && find . -type f | sed 's#^\./##' | LC_ALL=C sort) >"$scratch/installed"
cat debian/*.install | LC_ALL=C sort >"$scratch/listed"
dups=$(uniq -d "$scratch/listed")
[ -z "$dups" ] || fail "listed in two debian/*.install files: $dups"
if ! diff "$scratch/installed" "$scratch/listed" >"$scratch/diff"; then
    fail "make install and debian/*.install differ (< installed only, > listed only):
$(grep '^[<>]' "$scratch/diff")"
fi
grep -qx usr/bin/hubsync "$scratch/listed" || fail "no debian/*.install installs usr/bin/hubsync"
"$root/usr/bin/hubsync" --version | grep -q "^hubsync $version" || fail "the installed hubsync --version"
unit=$(grep -h 'hubsync@\.service$' debian/*.install) || fail "no debian/*.install installs hubsync@.service"
grep -q '^ExecStart=/usr/bin/hubsync ' "$root/$unit" || fail "$unit does not run /usr/bin/hubsync"
for page in $(grep -h '^usr/share/man/' debian/*.install); do
    MANWIDTH=80 man --warnings -l "$root/$page" >"$scratch/page" 2>"$scratch/warn" || fail "man -l $page"
    [ ! -s "$scratch/warn" ] || fail "man -l $page: $(cat "$scratch/warn")"
    grep -q '^NAME' "$scratch/page" || fail "man -l $page: no NAME"
done

# 4.
make --no-print-directory uninstall DESTDIR="$root" "${dirs[@]}" >/dev/null
left=$(cd "$root" && find . -type f)
[ -z "$left" ] || fail "make uninstall left $left"

# 5.
make --no-print-directory install DESTDIR="$scratch/local" >/dev/null
outside=$(cd "$scratch/local" && find . -type f | grep -v '^\./usr/local/' || true)
[ -z "$outside" ] || fail "make install with the defaults wrote outside /usr/local: $outside"
grep -q '^ExecStart=/usr/local/bin/hubsync ' "$scratch/local/usr/local/lib/systemd/system/hubsync@.service" ||
    fail "the default install's unit does not run /usr/local/bin/hubsync"

echo "check-package: ok (debian/changelog at $version; Build-Depends has the $(wc -w <<<"$deps_libs") -dev" \
    "libraries of scripts/deps.sh; make install ${dirs[*]}: $(wc -l <"$scratch/installed") files," \
    "each in one debian/*.install list, man -l renders the pages; uninstall removes them; the" \
    "defaults install under /usr/local)"
