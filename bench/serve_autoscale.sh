#!/usr/bin/env bash
# The gateway's autoscaler against a static allocation sized for the peak (issue 13,
# Benchmarks), in one run: one trace with a load step (text at a low rate, then text at
# a higher rate plus an image burst, then the low rate again) replayed by `modserve
# bench` through `modserve serve` over emulated engines at --speed K,
#   static: ENC encode + LLM llm engines all along (the autoscaler's maxima);
#   auto:   empty pools, `--autoscale encode=1:ENC:CAP_E,prefill_decode=1:LLM:CAP_L`
#           with `--spawn` per pool (sim's stage-aware rule on the gateway's own load).
# Each spawned engine runs under a small wrapper that logs its start and its exit, so
# GPU-seconds = instance-seconds x TP are counted from the instances' real lifetimes,
# clipped to the bench's span (a starting instance costs GPU time too); the static
# allocation costs (ENC + LLM) x that span x TP. SLO attainment: the share of requests
# (failed ones count as misses) whose TTFT, from bench's JSON, is within the SLO of its
# modality. Prints both, and auto / static.
# Usage: bench/serve_autoscale.sh [BUILD_DIR] [SPEED]
#   SPEED: engines' --speed K, bench's --rate-scale K, the autoscaler's window, interval
#   and cooldown (5 s at K = 1) and the SLOs divided by K [1].
# Env: ENC (4), LLM (2), CAP_E (image tokens/s per encoder, 24000), CAP_L (prompt
#   tokens/s per llm engine, 9000), SLO_TEXT_MS (1000), SLO_IMAGE_MS (2000) at K = 1,
#   TP (the model's default tensor parallelism: 4 for llama-3.2-11b-vision), SEED (1),
#   OUT (a directory to keep both bench JSONs, the lifetimes log and the trace in).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$(realpath "${1:-$here/../build}/modserve")
speed=${2:-1}
enc=${ENC:-4}
llm=${LLM:-2}
cap_e=${CAP_E:-24000}
cap_l=${CAP_L:-9000}
tp=${TP:-4}
seed=${SEED:-1}
scale_s=$(python3 -c "print(5 / $speed)")
slo_t=$(python3 -c "print(${SLO_TEXT_MS:-1000} / $speed)")
slo_i=$(python3 -c "print(${SLO_IMAGE_MS:-2000} / $speed)")
tmp=$(mktemp -d)
. "$here/serve_lib.sh"
trap 'stop_all; rm -rf "$tmp"' EXIT

trace "$seed" 0:20:4:0 20:40:10:20 40:60:4:0 >"$tmp/trace.csv"
read -r n_text n_img n_items <<<"$(trace_counts "$tmp/trace.csv")"
echo "trace: 60 s at speed 1 ($n_text text + $n_img image requests, $n_items images;" \
	"image burst and 2.5x the text rate from 20 s to 40 s); --speed $speed; TP $tp"

bench_run() { # bench_run NAME PORT: the trace through the gateway; $tmp/NAME.json, .span
	local t0 t1
	t0=$(date +%s.%N)
	timeout 400 "$bin" bench --endpoint "http://127.0.0.1:$2" --trace "$tmp/trace.csv" \
		--rate-scale "$speed" --seed "$seed" --out "$tmp/$1.json" >"$tmp/$1.bench" 2>&1 ||
		{ cat "$tmp/$1.bench" >&2; exit 1; }
	t1=$(date +%s.%N)
	echo "$t0 $t1" >"$tmp/$1.span"
}

# static: the peak allocation
rm -rf "$tmp/ec" && mkdir -p "$tmp/ec"
start_pool e "$enc" --role encode --speed "$speed" --ec-storage "$tmp/ec"
start_pool l "$llm" --role llm --speed "$speed" --ec-storage "$tmp/ec"
printf 'encode = %s\nprefill_decode = %s\n' "$urls_e" "$urls_l" >"$tmp/static.conf"
start gw serve --config "$tmp/static.conf" --quiet
bench_run static "$port_gw"
stop_all

# auto: empty pools, the autoscaler spawns engines through a wrapper logging lifetimes
rm -rf "$tmp/ec" && mkdir -p "$tmp/ec"
cat >"$tmp/inst.sh" <<EOF
#!/bin/sh
# inst.sh POOL ROLE PORT: one engine; its start and exit times in $tmp/life
echo "up \$1 \$\$ \$(date +%s.%N)" >>"$tmp/life"
"$bin" engine --role "\$2" --speed $speed --ec-storage "$tmp/ec" --port "\$3" &
c=\$!
trap 'kill \$c 2>/dev/null' TERM INT
wait \$c || wait \$c
echo "down \$1 \$\$ \$(date +%s.%N)" >>"$tmp/life"
EOF
printf 'encode =\nprefill_decode =\n' >"$tmp/auto.conf"
start gw serve --config "$tmp/auto.conf" --access-log /dev/null --probe 0.2 --scrape 0.2 \
	--scale-window "$scale_s" --scale-interval "$scale_s" --scale-cooldown "$scale_s" \
	--autoscale "encode=1:$enc:$cap_e,prefill_decode=1:$llm:$cap_l" \
	--spawn "encode=sh $tmp/inst.sh encode encode {port}" \
	--spawn "prefill_decode=sh $tmp/inst.sh prefill_decode llm {port}"
for _ in $(seq 100); do
	curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port_gw/health" | grep -q 200 && break
	sleep 0.1
done
bench_run auto "$port_gw"
stop_all
sleep 0.5 # the wrappers log their engines' exits
[ -n "${OUT:-}" ] && mkdir -p "$OUT" && cp "$tmp"/static.json "$tmp"/auto.json "$tmp"/life "$tmp"/trace.csv "$OUT"/
echo "auto: engines started by the autoscaler: encode $(grep -c "autoscale: encode: started" "$tmp/gw.err" || true)," \
	"prefill_decode $(grep -c "autoscale: prefill_decode: started" "$tmp/gw.err" || true)"

python3 - "$tmp" "$enc" "$llm" "$tp" "$slo_t" "$slo_i" <<'PY'
import json, sys
tmp, enc, llm, tp, slo_t, slo_i = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
def span(name):
    return [float(x) for x in open("%s/%s.span" % (tmp, name)).read().split()]
def attain(name):
    r = json.load(open("%s/%s.json" % (tmp, name)))
    ok = {0: 0, 1: 0}; n = {0: 0, 1: 0}
    for ttft, imgs, err in zip(r["ttfts"], r["num_images"], r["errors"]):
        m = 1 if imgs else 0
        n[m] += 1
        ok[m] += (not err) and ttft * 1e3 <= (slo_i if m else slo_t)
    return r, ok, n
# lifetimes: "up POOL PID T" / "down POOL PID T"; one still up at the end ends at the span's end
a0, a1 = span("auto")
life = {}
for line in open(tmp + "/life"):
    ev, pool, pid, t = line.split()
    life.setdefault(pid, [pool, None, None])[1 if ev == "up" else 2] = float(t)
inst_s = {"encode": 0.0, "prefill_decode": 0.0}
for pool, up, down in life.values():
    lo, hi = max(up, a0), min(down if down else a1, a1)
    if hi > lo:
        inst_s[pool] += hi - lo
s0, s1 = span("static")
static_s = {"encode": enc * (s1 - s0), "prefill_decode": llm * (s1 - s0)}
print("%-7s %8s %10s %10s %10s %8s %8s %8s" % ("", "span s", "enc inst-s", "llm inst-s", "GPU-s", "SLO all", "text", "image"))
res = {}
for name, inst, (t0, t1) in (("static", static_s, (s0, s1)), ("auto", inst_s, (a0, a1))):
    r, ok, n = attain(name)
    gpu = (inst["encode"] + inst["prefill_decode"]) * tp
    res[name] = (gpu, (ok[0] + ok[1]) / max(1, n[0] + n[1]))
    print("%-7s %8.1f %10.1f %10.1f %10.1f %7.1f%% %7.1f%% %7.1f%%" % (name, t1 - t0, inst["encode"], inst["prefill_decode"], gpu,
          100 * res[name][1], 100 * ok[0] / max(1, n[0]), 100 * ok[1] / max(1, n[1])))
    print("%-7s p99 TTFT text %.1f ms, image %.1f ms; failed %d" % ("", r["per_modality"]["text"]["p99_ttft_ms"],
          r["per_modality"]["image"]["p99_ttft_ms"], r["failed"]))
print("auto / static: GPU-seconds %.2f, SLO attainment %.1f%% vs %.1f%% (SLO: TTFT text %.0f ms, image %.0f ms)"
      % (res["auto"][0] / res["static"][0], 100 * res["auto"][1], 100 * res["static"][1], slo_t, slo_i))
PY
