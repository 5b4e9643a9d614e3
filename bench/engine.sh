#!/usr/bin/env bash
# The live side's speed on loopback, in one run (issue 12, Performance):
#   1. wrk (plain HTTP load, a Lua script POSTs a streamed 16-token chat completion)
#      against `modserve engine --speed 0` at 16 connections: completions/s;
#   2. `modserve bench` driving the same engine with the same requests at 16 open
#      requests (--max-concurrency 16): completions/s and its share of wrk's figure.
# Targets: engine >= 20,000 streamed completions/s, bench >= 50% of wrk.
# Usage: bench/engine.sh [BUILD_DIR] [SECONDS] [REQUESTS]   (default build/, 10 s, 150000)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../build}/modserve
secs=${2:-10}
nreq=${3:-150000}
tmp=$(mktemp -d)
trap 'kill $epid 2>/dev/null || true; wait $epid 2>/dev/null || true; rm -rf "$tmp"' EXIT
command -v wrk >/dev/null || { echo "engine.sh: wrk is not installed (apt-get install wrk)" >&2; exit 1; }

"$bin" engine --port 0 --speed 0 2>"$tmp/engine.err" &
epid=$!
for _ in $(seq 100); do
	port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/engine.err")
	[ -n "$port" ] && break
	sleep 0.05
done
[ -n "$port" ] || { cat "$tmp/engine.err"; exit 1; }
url=http://127.0.0.1:$port/v1/chat/completions

# a trace of nreq requests all due at once: 4 text tokens, 16 generated, no image
awk -v n="$nreq" 'BEGIN { print "TIMESTAMP,NumImages,ContextTokens,GeneratedTokens";
	for (i = 0; i < n; i++) print "2024-10-15T12:00:00.000Z,0,4,16" }' >"$tmp/t.csv"

echo "== wrk -t1 -c16 -d${secs}s (reference: plain HTTP load generator)"
wrk -t1 -c16 -d"${secs}s" -s "$here/engine_post.lua" "$url" | tee "$tmp/wrk.out"
wrk_rps=$(awk '/^Requests\/sec:/ { print $2 }' "$tmp/wrk.out")

echo "== modserve bench --max-concurrency 16, $nreq requests"
"$bin" bench --endpoint "$url" --model llama-3.2-11b-vision --trace "$tmp/t.csv" \
	--max-concurrency 16 | tee "$tmp/bench.out"
bench_rps=$(awk -F: '/^Request throughput/ { gsub(/ /, "", $2); print $2; exit }' "$tmp/bench.out")
tok=$(awk -F: '/^Output token throughput/ { gsub(/ /, "", $2); print $2; exit }' "$tmp/bench.out")

echo "== summary (loopback, $(nproc) cores shared by engine and load generator)"
printf 'wrk:   %s streamed completions/s (16 tokens each; target >= 20000)\n' "$wrk_rps"
printf 'bench: %s completions/s, %s streamed tokens/s, %.0f%% of wrk (target >= 50%%)\n' \
	"$bench_rps" "$tok" "$(echo "$bench_rps * 100 / $wrk_rps" | bc -l)"
