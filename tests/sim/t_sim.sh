#!/usr/bin/env bash
# `modserve sim` through the real binary: help and usage errors, a real trace window,
# byte-identical JSON for equal seeds, --compare, and the per-request CSV checked
# against the JSON summary by an independent pandas computation (nearest-rank p99).
set -u
bin=${MS_BIN:?}
tmp=${MS_TMP:-/tmp}/t_sim.$$
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

"$bin" sim --help >"$tmp/help" 2>&1 && grep -q -- '--slo-scale' "$tmp/help" || bad "--help"
"$bin" sim --gpus x >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && grep -q -- "--gpus: expected an integer" "$tmp/err" || bad "bad --gpus: rc=$rc"
"$bin" sim --deploy pd --pools enc=2x1,llm=2x4 --synth 10 >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && grep -q "prefill=NxTP,decode=NxTP" "$tmp/err" || bad "pd with modserve pools: rc=$rc"
"$bin" sim --trace "$tmp/missing.csv" >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ] && grep -q "missing.csv" "$tmp/err" || bad "missing trace: rc=$rc"
"$bin" sim --model no-such-model --synth 10 >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ] || bad "unknown model: rc=$rc"

# a real window of the 2025 trace, small cluster, table output names every deployment
win=${MS_SHARED:?}/data/azure-lmm-2025-windows/window-2024-10-16T0836.csv
"$bin" sim --trace "$win" --compare --gpus 16 >"$tmp/cmp.txt" 2>"$tmp/err" || bad "compare on window: $(cat "$tmp/err")"
grep -q "SLO: TTFT" "$tmp/cmp.txt" && grep -q "modserve" "$tmp/cmp.txt" || bad "compare table"
grep -q "with images capped to 16" "$tmp/cmp.txt" || bad "capped count not reported"

# deployment files
"$bin" sim --deploy paper-128-mono --synth 500 >"$tmp/dep.txt" 2>"$tmp/err" || bad "deploy file: $(cat "$tmp/err")"
grep -q "mono=32x4 (128 GPUs)" "$tmp/dep.txt" || bad "deploy file pools not shown"
"$bin" sim --deploy no-such-deploy --synth 10 >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ] && grep -q "no-such-deploy.conf" "$tmp/err" || bad "missing deploy file: rc=$rc"

# determinism: same seed, byte-identical JSON
for i in 1 2; do
	"$bin" sim --synth 3000 --rate-scale 400 --gpus 16 --route-llm random --seed 5 --json \
		>"$tmp/j$i.json" 2>/dev/null || bad "json run $i"
done
cmp -s "$tmp/j1.json" "$tmp/j2.json" || bad "JSON differs between equal runs"

"$bin" sim --synth 3000 --rate-scale 400 --gpus 16 --compare --json >"$tmp/c.json" || bad "compare json"
/usr/bin/python3 - "$tmp/c.json" <<'PY' || bad "compare JSON shape"
import json, sys
d = json.load(open(sys.argv[1]))
assert [r["deploy"] for r in d["runs"]] == ["mono", "pd", "modserve"], d["runs"]
for r in d["runs"]:
    assert r["all"]["finished"] == 3000, r["all"]
    assert r["gpus"] <= 16
PY

# per-request CSV against the JSON summary, recomputed by pandas
"$bin" sim --synth 4000 --rate-scale 300 --deploy modserve --gpus 16 --json \
	--per-request "$tmp/req.csv" >"$tmp/one.json" || bad "per-request run"
/usr/bin/python3 - "$tmp/req.csv" "$tmp/one.json" <<'PY' || bad "per-request CSV vs JSON"
import json, math, sys
import pandas as pd
df = pd.read_csv(sys.argv[1])
d = json.load(open(sys.argv[2]))
r = d["runs"][0]
assert len(df) == 4000 and df.row.is_unique
def rank(v, p):
    v = sorted(v)
    k = max(1, math.ceil(p / 100 * len(v)))
    return v[k - 1]
for cls, sel in (("all", df), ("image", df[df.images > 0]), ("text", df[df.images == 0])):
    got = r[cls]["ttft_s"]
    for p in (50, 90, 99):
        want = rank(sel.ttft_s.tolist(), p)
        assert abs(got["p%d" % p] - want) <= 1e-6 * max(1, want), (cls, p, got, want)
    assert abs(got["mean"] - sel.ttft_s.mean()) <= 1e-6 * max(1, got["mean"])
    tp = sel.tpot_s.dropna()
    assert abs(r[cls]["tpot_s"]["p99"] - rank(tp.tolist(), 99)) <= 1e-6
slo_t, slo_p = d["input"]["slo_ttft_s"], d["input"]["slo_tpot_s"]
ok = ((df.ttft_s <= slo_t + 5e-7) & (df.tpot_s.isna() | (df.tpot_s <= slo_p + 5e-7))).mean()
assert abs(ok - r["all"]["slo_both"]) < 2e-3, (ok, r["all"]["slo_both"])
assert (df.e2e_s >= df.ttft_s - 1e-6).all()
assert df.images.max() <= 16
PY

# figures
if command -v gnuplot >/dev/null; then
	"$bin" sim --synth 2000 --rate-scale 300 --gpus 16 --compare --report "$tmp/rep" \
		>/dev/null 2>"$tmp/err" || bad "report: $(cat "$tmp/err")"
	for f in ttft_cdf.png tpot_cdf.svg modserve_enc_queue.png mono_mono_kv.png pd_decode_busy.png; do
		[ -s "$tmp/rep/$f" ] || bad "report file $f missing"
	done
fi
exit $fail
