#!/usr/bin/env bash
# A/B speed of two modserve binaries on the same `modserve sim` command, as a ratio measured
# in the same command on the same box (rounds alternate A and B, the best of each counts, so
# the other engineers' load on the shared cores hits both alike). Prints the best wall time
# and the best CPU time (user + system, which another process's load on the cores disturbs
# less) of each, new / reference, and whether the two printed the same result table.
# Default command: the whole synthetic week (1M requests) on 128 GPUs with --deploy modserve,
# metrics and summaries included, as a user runs it.
# Usage: bench/sim_ab.sh REFERENCE_BIN [NEW_BIN [ROUNDS [SIM ARGS...]]]
#   e.g. bench/sim_ab.sh /work/baseline/modserve-before build/modserve 3 --compare
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
ref=${1:?usage: bench/sim_ab.sh REFERENCE_BIN [NEW_BIN [ROUNDS [SIM ARGS...]]]}
new=${2:-$here/build/modserve}
rounds=${3:-3}
shift $(($# < 3 ? $# : 3))
[ $# -gt 0 ] || set -- --synth 1000000 --deploy modserve --gpus 128
for b in "$ref" "$new"; do
	[ -x "$b" ] || { echo "bench/sim_ab.sh: $b is not an executable" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# once: prints "wall cpu" seconds of one run of binary $1, its table in $2
once() {
	local t0 t1 cpu TIMEFORMAT='%U %S'
	t0=$(date +%s.%N)
	cpu=$( { time "$1" sim "${@:3}" >"$2" 2>/dev/null; } 2>&1) ||
		{ echo "bench/sim_ab.sh: $1 failed" >&2; exit 1; }
	t1=$(date +%s.%N)
	set -- $cpu
	echo "$t1 - $t0" | bc -l
	echo "$1 + $2" | bc -l
}

min() { echo "if ($1 < $2) $1 else $2" | bc -l; }

best_ref=999999 best_new=999999 cpu_ref=999999 cpu_new=999999
for ((i = 0; i < rounds; i++)); do
	a=($(once "$ref" "$tmp/ref.out" "$@"))
	b=($(once "$new" "$tmp/new.out" "$@"))
	best_ref=$(min "${a[0]}" "$best_ref")
	best_new=$(min "${b[0]}" "$best_new")
	cpu_ref=$(min "${a[1]}" "$cpu_ref")
	cpu_new=$(min "${b[1]}" "$cpu_new")
done
same=no
cmp -s "$tmp/ref.out" "$tmp/new.out" && same=yes
printf 'command: modserve sim %s\n' "$*"
printf 'best of %d: reference %.2f s, new %.2f s, new/reference %.3f, same table: %s\n' \
	"$rounds" "$best_ref" "$best_new" "$(echo "$best_new / $best_ref" | bc -l)" "$same"
printf 'best CPU of %d: reference %.2f s, new %.2f s, new/reference %.3f\n' \
	"$rounds" "$cpu_ref" "$cpu_new" "$(echo "$cpu_new / $cpu_ref" | bc -l)"
