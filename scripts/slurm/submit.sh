#!/usr/bin/env bash
# Submits scripts/slurm/hubsync-array.sbatch as one array task per portal of
# MANIFEST and prints the array's job id. Flags after MANIFEST go to sbatch
# (e.g. --output=/var/log/hubsync/%x-%A_%a.out, --time=2:00:00, --partition=P).
#
#   scripts/slurm/submit.sh MANIFEST [sbatch flags…]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 1 ] || { echo "usage: $0 MANIFEST [sbatch flags…]" >&2; exit 2; }
manifest=$(realpath "$1")
shift
n=$("$here/hubsync-array.sbatch" --count "$manifest")
[ "$n" -gt 0 ] || { echo "$0: $manifest lists no portal" >&2; exit 2; }
exec sbatch --parsable --array="0-$((n - 1))" "$@" "$here/hubsync-array.sbatch" "$manifest"
