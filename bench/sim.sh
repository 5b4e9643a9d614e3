#!/usr/bin/env bash
# Simulator speed and memory on the whole synthetic week (1M requests, 128 GPUs), per
# deployment, at the trace's own rate and at 10x (loaded: long queues, big batches), each
# beside a reference run of the same simulation with --step-decode (one event per decode
# iteration: the naive simulator). The closed-form decode (docs/sim.md) must give the same
# results with far fewer events; this script shows by how much, as ratios measured in the
# same command on the same box, so the numbers do not depend on the machine.
#
# Per run it prints simulated requests/s (simulation only, trace synthesis excluded), events,
# peak RSS of the process, peak RSS / request and the ratios closed-form / reference.
# "same table" says whether the two runs printed the identical result table (they should:
# tests/sim checks per-request times agree to 1e-9).
# A reference run of the full week takes ~10 s on the dev box; set MS_BENCH_SYNTH=100000 to
# run both sides on a 100k-request slice instead.
# Usage: bench/sim.sh [path/to/modserve]   (default: build/modserve)
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$here/build/modserve}
[ -x "${bin:-}" ] || { echo "bench/sim.sh: build modserve first" >&2; exit 1; }
synth=${MS_BENCH_SYNTH:-1000000}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# run NAME ARGS...: one simulation; leaves the --stats line in $tmp/NAME.stats, the table
# in $tmp/NAME.out
run() {
	local name=$1
	shift
	"$bin" sim --synth "$synth" --stats "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" ||
		{ echo "bench/sim.sh: $name failed: $(cat "$tmp/$name.err")" >&2; exit 1; }
	grep '^sim ' "$tmp/$name.err" >"$tmp/$name.stats"
}

# field FILE WHAT: a number out of the --stats line
field() {
	case $2 in
	rps) sed -E 's/.* s: ([0-9]+) requests\/s.*/\1/' "$1" ;;
	events) sed -E 's/.*requests, ([0-9]+) events in.*/\1/' "$1" ;;
	rss) sed -E 's/.*peak RSS ([0-9.]+) MB.*/\1/' "$1" ;;
	bpr) sed -E 's/.*MB \(([0-9]+) B\/request.*/\1/' "$1" ;;
	res) sed -E 's/.*results ([0-9]+) B\/request.*/\1/' "$1" ;;
	esac
}

echo "# $(date -u +%FT%TZ) $(uname -m), $bin"
echo "# $synth synthetic requests, 128 GPUs, one process per run; ref = --step-decode"
printf '%-8s %5s | %10s %12s %8s %6s | %10s %12s %8s | %7s %7s %5s | %s\n' \
	deploy rate req/s events RSS_MB B/req ref_req/s ref_events ref_MB \
	x_speed x_event x_rss "same table"
for scale in 1 10; do
	for d in mono pd modserve; do
		run closed --deploy "$d" --rate-scale "$scale"
		run ref --deploy "$d" --rate-scale "$scale" --step-decode
		same=no
		cmp -s "$tmp/closed.out" "$tmp/ref.out" && same=yes
		c=$tmp/closed.stats r=$tmp/ref.stats
		awk -v d="$d" -v k="${scale}x" -v same="$same" \
			-v crps="$(field "$c" rps)" -v cev="$(field "$c" events)" \
			-v crss="$(field "$c" rss)" -v cbpr="$(field "$c" bpr)" \
			-v rrps="$(field "$r" rps)" -v rev="$(field "$r" events)" \
			-v rrss="$(field "$r" rss)" 'BEGIN {
			printf "%-8s %5s | %10d %12d %8.1f %6d | %10d %12d %8.1f | %7.1f %7.4f %5.2f | %s\n",
				d, k, crps, cev, crss, cbpr, rrps, rev, rrss,
				crps / rrps, cev / rev, crss / rrss, same
		}'
	done
done
echo "# results kept per request: $(field "$tmp/closed.stats" res) B; B/req = peak RSS / requests"
echo "# x_speed = req/s closed / ref; x_event = events closed / ref; x_rss = RSS closed / ref"
