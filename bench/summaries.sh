#!/usr/bin/env bash
# End-to-end time of `modserve sim` as a user runs it (trace synthesis, split estimate,
# simulation, percentile summaries, table), for a reference binary and this one, on the
# same commands in the same run: runs alternate old/new so a busy machine slows both
# alike, and each side's best of N is compared. Issue 10 asked `sim --compare` to be at
# least 1.5x faster once the summaries sort in O(n) (base/ms_quantile.h) instead of nine
# comparator sorts per design.
# Prints per command: best and median wall seconds of each side, peak RSS, the ratio
# old/new of the best times, and whether the two printed the same bytes (they do while
# results are meant to be unchanged; a later change of the default split or of the
# synthetic week changes them on purpose).
# Usage: bench/summaries.sh OLD_BINARY [NEW_BINARY] [RUNS]
#   e.g. bench/summaries.sh /work/baseline/modserve-before build/modserve 3
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
old=${1:?usage: bench/summaries.sh OLD_BINARY [NEW_BINARY] [RUNS]}
new=${2:-$here/build/modserve}
runs=${3:-3}
for b in "$old" "$new"; do
	[ -x "$b" ] || { echo "bench/summaries.sh: $b is not an executable" >&2; exit 1; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# one BIN SIDE ARGS...: runs BIN sim ARGS once, appends "seconds kB" to $tmp/SIDE.t
one() {
	local bin=$1 side=$2
	shift 2
	/usr/bin/time -f '%e %M' -o "$tmp/time" "$bin" sim "$@" >"$tmp/$side.out" 2>"$tmp/$side.err" ||
		{ echo "bench/summaries.sh: $bin sim $* failed: $(tail -1 "$tmp/$side.err")" >&2; exit 1; }
	cat "$tmp/time" >>"$tmp/$side.t"
}

# stat FILE: "best median maxRSS_MB" of the runs in FILE
stat() {
	sort -n "$1" | awk '{ t[NR] = $1; if ($2 > m) m = $2 }
		END { printf "%.2f %.2f %.0f", t[1], t[int((NR + 1) / 2)], m / 1024 }'
}

echo "# $(date -u +%FT%TZ) $(uname -m), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# old = $old"
echo "# new = $new"
echo "# best of $runs alternating runs per side; ratio = old best / new best"
printf '%-44s | %7s %7s %6s | %7s %7s %6s | %6s | %s\n' command old_best old_med old_MB \
	new_best new_med new_MB ratio "same output"
while IFS= read -r args; do
	[ -n "$args" ] || continue
	rm -f "$tmp/old.t" "$tmp/new.t"
	for _ in $(seq "$runs"); do
		# shellcheck disable=SC2086 # the line is a list of options
		one "$old" old $args
		# shellcheck disable=SC2086
		one "$new" new $args
	done
	same=no
	cmp -s "$tmp/old.out" "$tmp/new.out" && same=yes
	read -r ob om orss <<<"$(stat "$tmp/old.t")"
	read -r nb nm nrss <<<"$(stat "$tmp/new.t")"
	awk -v c="sim $args" -v ob="$ob" -v om="$om" -v orss="$orss" -v nb="$nb" -v nm="$nm" \
		-v nrss="$nrss" -v same="$same" 'BEGIN {
		printf "%-44s | %7.2f %7.2f %6d | %7.2f %7.2f %6d | %6.2f | %s\n",
			c, ob, om, orss, nb, nm, nrss, ob / nb, same }'
done <<'CMDS'
--compare --rate-scale 3
--deploy modserve --gpus 128
CMDS
