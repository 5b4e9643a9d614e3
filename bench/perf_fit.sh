#!/usr/bin/env bash
# Build and run bench/perf_fit.c (grid search of perf's shared constants against the
# paper's characterization, docs/perf.md "Calibration") against a built libmodserve.a.
# Usage: bench/perf_fit.sh [build-dir] [flat|curve|shard] [text_tokens]
#   (default build dir: build/, as scripts/build.sh makes it; modes: bench/perf_fit.c)
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
bdir=${1:-}
if [ -z "$bdir" ]; then
	bdir=$here/build
fi
[ -f "${bdir:-}/libms_perf.a" ] || { echo "bench/perf_fit.sh: build the perf library first (scripts/build.sh)" >&2; exit 1; }
shift || true
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cc -std=c11 -O2 -Wall -Wextra -Werror -D_POSIX_C_SOURCE=200809L -I"$here/src" \
	-o "$out/perf_fit" "$here/bench/perf_fit.c" "$bdir/libms_perf.a" "$bdir/libms_model.a" \
	"$bdir/libms_base.a" -lm
"$out/perf_fit" "$@"
