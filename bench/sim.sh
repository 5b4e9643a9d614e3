#!/usr/bin/env bash
# Simulator speed and memory on the whole synthetic week (1M requests, 128 GPUs),
# per deployment, at the trace's own rate and at 10x (loaded: long queues, big batches).
# Target (DESIGN.md): under 10 s of one core per run, aim 3 s.
# Usage: bench/sim.sh [path/to/modserve]   (default: build-sim/modserve, then build/modserve)
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-}
if [ -z "$bin" ]; then
	for b in "$here/build-sim/modserve" "$here/build/modserve"; do
		[ -x "$b" ] && bin=$b && break
	done
fi
[ -x "${bin:-}" ] || { echo "bench/sim.sh: build modserve first" >&2; exit 1; }
echo "# $(date -u +%FT%TZ) $(uname -m), $bin"
echo "# reference (lead's box, RelWithDebInfo): modserve 0.7 s, mono 0.35 s at 1x; see docs/sim.md"
for scale in 1 10; do
	for d in mono pd modserve; do
		# --stats prints speed, events and peak RSS; the wall time includes synthesizing the trace
		/usr/bin/time -f "  wall %e s, user %U s, max RSS %M KiB" \
			"$bin" sim --deploy "$d" --rate-scale "$scale" --stats >/dev/null
	done
done 2>&1
