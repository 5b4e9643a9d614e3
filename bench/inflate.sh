#!/usr/bin/env bash
# Inflate speed of ISA-L (the loader's choice) against zlib on a trace .csv.gz.
# usage: bench/inflate.sh [FILE.csv.gz]   (default: the 1M-row file bench/trace_stats.sh makes)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
file=${1:-${BENCH_DIR:-/tmp}/modserve-bench-1000000-seed1.csv.gz}
[ -s "$file" ] || { echo "bench/inflate.sh: $file missing (run bench/trace_stats.sh first)" >&2; exit 1; }
exe=$(mktemp)
trap 'rm -f "$exe"' EXIT
cc -O2 -o "$exe" "$here/inflate.c" -lisal -lz
"$exe" "$file"
