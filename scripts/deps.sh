#!/usr/bin/env bash
# Installs, with apt-get, the Debian 12 packages hubsync needs and that are
# not yet installed. Safe to run again: it does nothing when all are present.
# Packages given as arguments are wanted too (`make test-slurm` adds Slurm's).
set -euo pipefail

packages=(
    gcc make pkg-config
    libcurl4-openssl-dev libmsgpack-dev liblmdb-dev lmdb-utils libcunit1-dev
    libjson-c-dev libmicrohttpd-dev gnuplot-nox curl valgrind
    openssl python3-prometheus-client systemd python3-yaml python3-jsonschema
    clang libclang-rt-14-dev # make fuzz: clang's libFuzzer (gcc has none)
    clang-format git         # make check-style (in make test)
    libpq-dev libsqlite3-dev # hubsync push's targets
    postgresql sqlite3       # bin/test-e2e push: a throwaway server, the sqlite3 shell
    groff-base man-db        # make check-man (in make test): groff and man -l render the pages
)
packages+=("$@")

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "deps: need root or sudo to install ${missing[*]}" >&2; exit 2; }
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
