#!/usr/bin/env bash
# `modserve sim --autoscale`: ModServe's stage-aware rule and the monolith's baseline side by
# side, the GPU series in JSON (cost from the run itself, bounds kept), the report's figures,
# and the options' usage errors.
set -u
bin=${MS_BIN:?}
tmp=${MS_TMP:-/tmp}/t_sim_scale.$$
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

"$bin" sim --system modserve,vllm --autoscale --synth 20000 --gpus 32 --scale-interval 300 \
	--startup 90 --json >"$tmp/j" 2>"$tmp/err" || bad "autoscale: $(cat "$tmp/err")"
python3 - "$tmp/j" <<'PY' || bad "autoscale: JSON"
import json, sys
runs = json.load(open(sys.argv[1]))["runs"]
assert [r["autoscale"]["rule"] for r in runs] == ["modserve", "baseline"], runs
m, v = runs[0]["autoscale"], runs[1]["autoscale"]
assert [p["load"] for p in m["pools"]] == ["image tokens/s", "prompt tokens/s"], m["pools"]
assert [p["load"] for p in v["pools"]] == ["requests/s"]
for r in runs:
    a = r["autoscale"]
    assert a["startup_s"] == 90 and a["interval_s"] == 300
    assert abs(a["gpu_hours"] * 3600 - r["gpu_s"]) < 1e-6 * max(1, r["gpu_s"])
    assert len(a["series"]) > 10
    ts = [p["t"] for p in a["series"]]
    assert ts == sorted(ts)
    for p, pool in enumerate(a["pools"]):
        assert pool["min"] <= pool["initial"] <= pool["max"] and pool["capacity"] > 0
        for pt in a["series"]:
            assert pool["min"] <= pt["live"][p] <= pool["max"], (pool, pt)
PY
"$bin" sim --system modserve --autoscale --synth 5000 --gpus 32 --report "$tmp/rep" \
	>"$tmp/o" 2>"$tmp/err" || bad "autoscale report: $(cat "$tmp/err")"
grep -q "^autoscale modserve (modserve, every 300 s, startup 60 s)" "$tmp/o" || bad "table line"
for f in autoscale_gpus.png autoscale_gpus.svg autoscale_load.png; do
	[ -s "$tmp/rep/$f" ] || bad "report: $f"
done
grep -q 'autoscale_gpus.png' "$tmp/rep/index.html" || bad "report: html figure"
"$bin" sim --min 2 --synth 10 >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && grep -q "go with --autoscale" "$tmp/err" || bad "--min alone: rc=$rc"
"$bin" sim --autoscale --min 5 --max 2 --synth 10 >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && grep -q "above --max" "$tmp/err" || bad "--min > --max: rc=$rc"
"$bin" sim --system epd --autoscale --synth 100 >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && grep -q "not E-P-D" "$tmp/err" || bad "epd autoscale: rc=$rc $(cat "$tmp/err")"
exit $fail
