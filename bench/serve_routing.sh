#!/usr/bin/env bash
# ModServe routing against round-robin through `modserve serve` (issue 13, Benchmarks):
# one trace with an image burst replayed by `modserve bench` through the gateway over
# emulated engines (E encode + L llm engines at --speed K), once with `--route least`
# (ModServe: least pending image tokens per image, least pending tokens for the LLM)
# and once with `--route rr` (round-robin per image and per LLM call, load-blind), each
# over fresh engines with a fresh encoder-cache directory (no cache hit carries over).
# The trace (LMM 2025 format, written by bench/serve_lib.sh's `trace`, deterministic):
# text requests all along (Poisson, prompts log-normal around 900 tokens, up to 12,000)
# and, from a third of the way in to two thirds, a burst of image requests (1 to 8
# images each). Prints p50/p99
# TTFT per modality for both and rr / least.
# Usage: bench/serve_routing.sh [BUILD_DIR] [SPEED] [SECONDS] [TEXT_RPS] [IMAGE_RPS]
#   defaults: build 1 30 10 20 (text all along, images during the middle third)
#   SPEED: engines' --speed K and bench's --rate-scale K (the same trace, K times
#   faster, stage times K times shorter) [1]; SECONDS: trace length at speed 1 [30].
# Env: ENC (encode engines, 4), LLM (llm engines, 2), SEED (trace seed, 1),
#   GPU2 (a GPU spec: half of each pool runs on it, the rest on the default a100-80gb:
#   a mixed pool), OUT (a directory to keep, per route, bench's JSON (ROUTE.json), the
#   gateway's /metrics at the end (ROUTE.metrics), the calls per backend (ROUTE.calls:
#   "POOL N N ..." in the pools file's order), and the trace).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../build}/modserve
speed=${2:-1}
secs=${3:-30}
text_rps=${4:-10}
image_rps=${5:-20}
enc=${ENC:-4}
llm=${LLM:-2}
seed=${SEED:-1}
enc2=0 llm2=0
[ -n "${GPU2:-}" ] && enc2=$((enc / 2)) llm2=$((llm / 2))
tmp=$(mktemp -d)
. "$here/serve_lib.sh"
trap 'stop_all; rm -rf "$tmp"' EXIT

s3=$(python3 -c "print($secs / 3)")
s23=$(python3 -c "print(2 * $secs / 3)")
trace "$seed" "0:$s3:$text_rps:0" "$s3:$s23:$text_rps:$image_rps" "$s23:$secs:$text_rps:0" >"$tmp/trace.csv"
read -r n_text n_img n_items <<<"$(trace_counts "$tmp/trace.csv")"
echo "trace: $n_text text + $n_img image requests ($n_items images, burst from $s3 s to $s23 s)," \
	"$enc encode + $llm llm engines at --speed $speed${GPU2:+ ($enc2 + $llm2 of them on $GPU2)}"

run() { # run ROUTE: fresh engines + gateway, the trace through bench; leaves $tmp/ROUTE.json
	local route=$1
	rm -rf "$tmp/ec" && mkdir -p "$tmp/ec"
	# with GPU2, the second half of each pool (rounded down) runs on that GPU
	start_pool e $((enc - enc2)) --role encode --speed "$speed" --ec-storage "$tmp/ec"
	start_pool l $((llm - llm2)) --role llm --speed "$speed" --ec-storage "$tmp/ec"
	urls_f= urls_m=
	[ "$enc2" -gt 0 ] && start_pool f "$enc2" --role encode --gpu "$GPU2" --speed "$speed" --ec-storage "$tmp/ec"
	[ "$llm2" -gt 0 ] && start_pool m "$llm2" --role llm --gpu "$GPU2" --speed "$speed" --ec-storage "$tmp/ec"
	printf 'encode = %s%s%s\nprefill_decode = %s%s%s\n' "$urls_e" "${urls_f:+, }" "$urls_f" \
		"$urls_l" "${urls_m:+, }" "$urls_m" >"$tmp/$route.conf"
	start gw serve --config "$tmp/$route.conf" --route "$route" --quiet
	timeout $((secs * 3 + 120)) "$bin" bench --endpoint "http://127.0.0.1:$port_gw" \
		--trace "$tmp/trace.csv" --rate-scale "$speed" --seed "$seed" --out "$tmp/$route.json" \
		>"$tmp/$route.bench" 2>&1 || { cat "$tmp/$route.bench" >&2; exit 1; }
	curl -s --max-time 5 "http://127.0.0.1:$port_gw/metrics" >"$tmp/$route.metrics"
	# calls per backend, in the pools file's order: "pool calls calls ..."
	for pool in encode prefill_decode; do
		echo "$pool $(grep "^modserve_serve_backend_calls_total{pool=\"$pool\"" "$tmp/$route.metrics" | awk '{ printf "%s ", $NF }')"
	done >"$tmp/$route.calls"
	stop_all
}
run least
run rr
[ -n "${OUT:-}" ] && mkdir -p "$OUT" && cp "$tmp"/least.* "$tmp"/rr.* "$tmp"/trace.csv "$OUT"/
for route in least rr; do
	echo "$route: calls per backend (pools file order${GPU2:+, $GPU2 last}): $(tr '\n' ';' <"$tmp/$route.calls")"
done

python3 - "$tmp/least.json" "$tmp/rr.json" <<'PY'
import json, sys
least, rr = (json.load(open(p)) for p in sys.argv[1:3])
def get(r, m, k):
    v = r["per_modality"].get(m, {}).get(k)
    return float("nan") if v is None else v
for name, r in (("least", least), ("rr", rr)):
    f = r["failures"]
    bad = sum(v for v in f.values() if isinstance(v, int))
    print("%-5s completed %s, failed %d, duration %.1f s" % (name, r.get("completed"), bad, r["duration"]))
print("%-6s %-8s %12s %12s %8s" % ("modality", "", "least (ms)", "rr (ms)", "rr/least"))
for m in ("text", "image"):
    for k, lab in (("median_ttft_ms", "p50 TTFT"), ("p99_ttft_ms", "p99 TTFT")):
        a, b = get(least, m, k), get(rr, m, k)
        print("%-6s %-10s %12.1f %12.1f %8.2f" % (m, lab, a, b, b / a if a else float("nan")))
PY
