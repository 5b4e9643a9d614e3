#!/usr/bin/env bash
# ModServe routing against round-robin under an image burst (issue 13), through
# bench/serve_routing.sh at --speed 2 (a 30 s trace in 15 s per route, about 40 s in all)
# over a mixed pool: 4 encode + 2 llm engines, half of each on h100-80gb, half on the
# default a100-80gb. Checks: every request of both runs answered; round-robin splits
# the calls evenly (load-blind); least pending work gives the faster (h100) encoders more
# of the images. The script prints both runs' TTFT (docs/serve.md has the figures).
set -u
src=${MS_SRC_DIR:?}
bin=${MS_BIN:?}
tmp=${MS_TMP:-/tmp}/t_serve_routing.$$
fail=0
trap 'rm -rf "$tmp"' EXIT
check() { if eval "$2"; then :; else echo "FAIL: $1"; fail=1; fi; }

mkdir -p "$tmp"
ln -s "$bin" "$tmp/modserve"
GPU2=h100-80gb OUT=$tmp/out timeout 200 bash "$src/bench/serve_routing.sh" "$tmp" 2 30 >"$tmp/log" 2>&1
rc=$?
cat "$tmp/log"
check "bench/serve_routing.sh ran (exit $rc)" '[ $rc = 0 ]'
[ $rc = 0 ] || exit 1
rows=$(($(wc -l <"$tmp/out/trace.csv") - 1))
get() { # get ROUTE PYEXPR: evaluated with r = bench's JSON of that route
	python3 -c 'import json, sys; r = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$tmp/out/$1.json" "$2"
}
for route in least rr; do
	check "$route: all $rows requests completed" '[ "$(get $route "r[\"completed\"]")" = "$rows" ] && [ "$(get $route "r[\"failed\"]")" = 0 ]'
done
# calls per backend: "POOL a100... h100..." (pools file order: the h100 half last)
read -r _ re1 re2 re3 re4 <<<"$(sed -n 1p "$tmp/out/rr.calls")"
read -r _ rl1 rl2 <<<"$(sed -n 2p "$tmp/out/rr.calls")"
read -r _ le1 le2 le3 le4 <<<"$(sed -n 1p "$tmp/out/least.calls")"
spread() { printf '%s\n' "$@" | sort -n | sed -n '1p;$p' | tr '\n' ' ' | awk '{ print $2 - $1 }'; }
check "rr: encode calls even ($re1 $re2 $re3 $re4)" '[ "$(spread $re1 $re2 $re3 $re4)" -le 2 ]'
check "rr: llm calls even ($rl1 $rl2)" '[ "$(spread $rl1 $rl2)" -le 2 ]'
# (least balances pending tokens, not calls: the h100 llm engine's larger share of the
# calls, 7-24% in runs here, is too small to check; the encoders' images are even-sized)
check "least: the h100 encoders take more images ($le3 + $le4 vs $le1 + $le2)" '[ $((le3 + le4)) -gt $((le1 + le2)) ]'
# TTFT itself is not checked: it is timing, measured by the bench script alone (run
# beside other tests, least's run came out slower once here); the split is behaviour.
[ $fail -eq 0 ] && echo "t_serve_routing: ok"
exit $fail
