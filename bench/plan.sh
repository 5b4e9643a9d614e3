#!/usr/bin/env bash
# Speed of `modserve plan` against a reference binary on the same question, as ratios
# measured in the same command on the same box: configurations simulated per second and
# wall time, new / reference, CPU seconds of each, and whether both found the same cheapest
# pools and highest rates. The new binary answers the reference's question (--split work:
# each budget split by the work rule, as the reference does); a last run shows the default
# (the split searched). Rounds alternate reference and new so the other engineers' load on
# the shared cores hits both alike; the best round of each counts.
# Default question: the README's main job, `modserve plan` on the whole synthetic week.
# The new binary's extra arguments for the reference's question are NEW_ARGS (default
# "--split work --engine inline=hf-eager": the work split, and the monolith's encoder on the
# Hugging Face eager engine as before the inline engine role existed); NEW_ARGS=" " when
# both binaries answer the same default question (then no separate default run).
# Usage: bench/plan.sh REFERENCE_BIN [NEW_BIN [ROUNDS [PLAN ARGS...]]]
#   REFERENCE_BIN: e.g. a build of the commit before the search changes:
#     git archive 41aef7d | tar -x -C /tmp/ref && (cd /tmp/ref && bash scripts/build.sh)
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
ref=${1:?usage: bench/plan.sh REFERENCE_BIN [NEW_BIN [ROUNDS [PLAN ARGS...]]]}
new=${2:-$here/build/modserve}
rounds=${3:-1}
shift $(($# < 3 ? $# : 3))
for b in "$ref" "$new"; do
	[ -x "$b" ] || { echo "bench/plan.sh: $b is not an executable" >&2; exit 1; }
done
read -r -a new_args <<<"${NEW_ARGS:---split work --engine inline=hf-eager}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# once BIN OUT ARGS...: runs `BIN plan --verbose ARGS`, prints "wall cpu configurations"
once() {
	local bin=$1 out=$2 t0 t1 cpu
	shift 2
	t0=$(date +%s.%N)
	cpu=$( { TIMEFORMAT='%U %S'; time "$bin" plan --verbose "$@" >"$out" 2>"$out.steps"; } 2>&1 |
		tail -1 | awk '{print $1 + $2}')
	t1=$(date +%s.%N)
	# one --verbose line per simulated configuration; the idle floors are configurations too
	echo "$(echo "$t1 - $t0" | bc -l) $cpu $(grep -c '^plan: ' "$out.steps")"
}

# the cheapest table keeps its per-design run count last; drop it, keep pools, GPUs, tails
cheap() { grep -E '^  (mono|pd|modserve) ' "$1" | head -3 | awk '{ $NF = ""; print }'; }
rates() { grep -E '^  (mono|pd|modserve) ' "$1" | tail -3; }
# the answers only: cheapest pools and highest rates (the tables without run counts)
answers() { cheap "$1"; rates "$1"; }

best_ref="" best_new=""
for ((i = 0; i < rounds; i++)); do
	r=$(once "$ref" "$tmp/ref.out" "$@")
	n=$(once "$new" "$tmp/new.out" "${new_args[@]}" "$@")
	echo "round $((i + 1)): reference wall/cpu/configs $r, new $n" >&2
	if [ -z "$best_ref" ] || [ "$(echo "${r%% *} < ${best_ref%% *}" | bc -l)" = 1 ]; then best_ref=$r; fi
	if [ -z "$best_new" ] || [ "$(echo "${n%% *} < ${best_new%% *}" | bc -l)" = 1 ]; then best_new=$n; fi
done
read -r rw rc rn <<<"$best_ref"
read -r nw nc nn <<<"$best_new"
same_cheap=no; same_rates=no
[ "$(cheap "$tmp/ref.out")" = "$(cheap "$tmp/new.out")" ] && same_cheap=yes
[ "$(rates "$tmp/ref.out")" = "$(rates "$tmp/new.out")" ] && same_rates=yes
if [ ${#new_args[@]} -eq 0 ]; then
	# NEW_ARGS=" ": the new binary already answered the default question above
	s=$best_new
	cp "$tmp/new.out" "$tmp/search.out"
else
	s=$(once "$new" "$tmp/search.out" "$@")
fi
read -r sw sc sn <<<"$s"
printf 'command: modserve plan %s\n' "$*"
printf '%-28s %8s %8s %8s %10s\n' "" "wall s" "cpu s" "configs" "configs/s"
printf '%-28s %8.1f %8.1f %8d %10.2f\n' "reference" "$rw" "$rc" "$rn" "$(echo "$rn / $rw" | bc -l)"
printf '%-28s %8.1f %8.1f %8d %10.2f\n' "new, ${new_args[*]:0:12}" "$nw" "$nc" "$nn" "$(echo "$nn / $nw" | bc -l)"
printf '%-28s %8.1f %8.1f %8d %10.2f\n' "new, default (split search)" "$sw" "$sc" "$sn" "$(echo "$sn / $sw" | bc -l)"
printf 'same question: %.2fx faster (wall), %.2fx less CPU, configurations/s %.2fx\n' \
	"$(echo "$rw / $nw" | bc -l)" "$(echo "$rc / $nc" | bc -l)" \
	"$(echo "($nn / $nw) / ($rn / $rw)" | bc -l)"
printf 'same cheapest pools and tails: %s; same highest rates: %s\n' "$same_cheap" "$same_rates"
if [ "$same_rates" = no ]; then
	echo "highest rates, reference:"; rates "$tmp/ref.out"
	echo "highest rates, new (--split work):"; rates "$tmp/new.out"
fi
echo "default (split search):"; answers "$tmp/search.out"
# what the search established (binaries that count it): configurations simulated and implied
grep -h '^verdicts on' "$tmp/new.out" "$tmp/search.out" 2>/dev/null | sed 's/^/reach: /' || true
