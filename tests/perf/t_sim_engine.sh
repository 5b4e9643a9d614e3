#!/usr/bin/env bash
# `modserve sim --engine` and `--kv-block` through the real binary: the default engines
# are the paper's (naming them changes nothing), an engine that lacks a stage is refused
# by name, an engine file drives the stage times (a slower per-iteration cost raises
# TTFT), a text model runs a text trace with an LLM-only engine, the monolith's inline
# encoder is its own role (`inline=hf-eager` gives the old monolith: its encode costs what
# the two engine files say more, computed here from the data files), and --kv-block sets
# the block that bounds --kv-tokens whatever the option order.
set -u
bin=${MS_BIN:?}
src=${MS_SRC_DIR:?}
tmp=${MS_TMP:-/tmp}/t_sim_engine.$$
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
run() { "$bin" sim --synth 300 --gpus 16 --json "$@"; }

run >"$tmp/default.json" 2>"$tmp/err" || bad "default: $(head -1 "$tmp/err")"
run --engine llm=vllm,enc=hf-eager >"$tmp/named.json" 2>"$tmp/err" || bad "named: $(head -1 "$tmp/err")"
cmp -s "$tmp/default.json" "$tmp/named.json" || bad "naming the default engines changed the result"

run --engine hf-eager >/dev/null 2>"$tmp/err"
grep -q "engine hf-eager: no llm_\* constants" "$tmp/err" || bad "hf-eager as LLM: $(head -1 "$tmp/err")"
grep -v '^enc_\|^prep_' "$src/data/engines/vllm.conf" >"$tmp/llm-only.conf"
run --engine "$tmp/llm-only.conf" >/dev/null 2>"$tmp/err"
grep -q "no enc_\* constants: it cannot run the vision encoder" "$tmp/err" ||
	bad "LLM-only engine for a vision model: $(head -1 "$tmp/err")"
run --engine vllm >/dev/null 2>"$tmp/err" || bad "vllm for both stages: $(head -1 "$tmp/err")"
run --engine llm=nope >/dev/null 2>"$tmp/err"
grep -q "nope: unknown engine" "$tmp/err" || bad "unknown engine: $(head -1 "$tmp/err")"

# the inline encoder: only LLM instances that encode (mono, pd's prefill) use it, so a
# modserve deployment (images on the encoder pool) times every request the same; the SLO,
# 5 x a request alone on the monolith, moves with it (the report says which)
run --engine llm=vllm,enc=hf-eager,inline=vllm >"$tmp/named3.json" 2>&1 && cmp -s "$tmp/default.json" "$tmp/named3.json" ||
	bad "naming the default inline engine changed the result"
run --per-request "$tmp/ms-default.csv" >/dev/null 2>"$tmp/err" &&
	run --engine inline=hf-eager --per-request "$tmp/ms-inl.csv" >"$tmp/inl.json" 2>"$tmp/err" ||
	bad "inline=hf-eager: $(head -1 "$tmp/err")"
cmp -s "$tmp/ms-default.csv" "$tmp/ms-inl.csv" || bad "the inline engine changed a modserve deployment's times"
python3 - "$tmp/default.json" "$tmp/inl.json" <<'PY' || bad "inline engine: SLO reference"
import json, sys
a, b = (json.load(open(p))["input"] for p in sys.argv[1:])
sys.exit(0 if a["slo_ttft_s"] < b["slo_ttft_s"] and a["slo_tpot_s"] == b["slo_tpot_s"] else 1)
PY
run --engine inline=nope >/dev/null 2>"$tmp/err"
grep -q "engine inline=nope: nope: unknown engine" "$tmp/err" || bad "unknown inline engine: $(head -1 "$tmp/err")"
run --engine inlin=vllm >/dev/null 2>"$tmp/err"
grep -q "inlin: unknown key (expected llm, enc or inline)" "$tmp/err" || bad "bad key: $(head -1 "$tmp/err")"
# one 1-image request alone on a TP-4 monolith: the old monolith (hf-eager inline) and the
# new default differ in TTFT by the two engines' encode of its 4 tiles, and in nothing else
printf 'TIMESTAMP,NumImages,ContextTokens,GeneratedTokens\n2024-10-16T08:36:32.709Z,1,885,10\n' >"$tmp/one.csv"
for e in vllm hf-eager; do
	"$bin" sim --trace "$tmp/one.csv" --deploy mono --pools mono=1x4 --engine "inline=$e" \
		--per-request "$tmp/one-$e.csv" >/dev/null 2>"$tmp/err" || bad "one request, inline=$e: $(head -1 "$tmp/err")"
done
python3 - "$src/data" "$tmp/one-vllm.csv" "$tmp/one-hf-eager.csv" <<'PY' || bad "inline encode difference"
import csv, math, sys
data = sys.argv[1]
def conf(path, gpu="a100-80gb"):
    out = {}
    for line in open(path):
        line = line.split("#", 1)[0].strip()
        if "=" not in line:
            continue
        k, v = (x.strip() for x in line.split("=", 1))
        if "@" in k:
            k, g = k.split("@")
            if g != gpu:
                continue
            out[k + "@"] = v
        else:
            out[k] = v
    return {k.rstrip("@"): out[k] for k in sorted(out, key=lambda k: k.endswith("@"))}
m = conf(f"{data}/models/llama-3.2-11b-vision.conf")
g = conf(f"{data}/gpus/a100-80gb.conf")
f = lambda d, k: float(d[k])
tp, tiles = 4, int(m["tiles_per_image"])
s = (int(m["tile_px"]) // int(m["enc_patch"])) ** 2          # patches per tile
L, d = int(m["enc_layers"]), f(m, "enc_hidden")
flops_tile = 2 * f(m, "enc_params") * s + 4 * L * s * s * d  # docs/perf.md: F_tile
def encode(e):
    # docs/perf.md: max(compute, weight reads) + launch + L x layer + L x c x log2(tp) (+ the
    # all-reduce volume, the LLM engine's link: the same for both, so it cancels)
    tc = tiles * flops_tile / (tp * f(g, "flops") * f(e, "enc_flops_share"))
    tm = f(m, "enc_params") * 2 / (tp * f(g, "hbm_bw") * f(e, "bw_share"))
    return max(tc, tm) + f(e, "enc_launch_s") + L * f(e, "enc_layer_s") + L * f(e, "enc_tp_comm_s") * math.log2(tp)
want = encode(conf(f"{data}/engines/hf-eager.conf")) - encode(conf(f"{data}/engines/vllm.conf"))
new, old = (next(csv.DictReader(open(p))) for p in sys.argv[2:])
got = float(old["ttft_s"]) - float(new["ttft_s"])
print(f"inline encode: hf-eager - vllm = {got:.6f} s (data files: {want:.6f} s)")
same = all(old[k] == new[k] for k in ("prefill_served_s", "decode_served_s", "tpot_s"))
sys.exit(0 if abs(got - want) < 3e-6 and want > 0.3 and same else 1)
PY

# the same engine with a 10x per-iteration cost: every TTFT rises
sed 's/^llm_launch_s = .*/llm_launch_s = 30e-3/; s/^name = .*/name = slow/' \
	"$src/data/engines/vllm.conf" >"$tmp/slow.conf"
run --engine "llm=$tmp/slow.conf" >"$tmp/slow.json" 2>"$tmp/err" || bad "slow engine: $(head -1 "$tmp/err")"
python3 - "$tmp/default.json" "$tmp/slow.json" <<'PY' || bad "slow engine did not slow TTFT"
import json, sys
def ttft(path):
    runs = json.load(open(path))["runs"]
    return runs[0]["all"]["ttft_s"]["mean"]
a, b = ttft(sys.argv[1]), ttft(sys.argv[2])
sys.exit(0 if b > a + 0.02 else 1)
PY

# a plain LLM on the LLM trace with an engine that has only llm_* constants
trace=${MS_TESTDATA:?}/data/azure-llm-2023/AzureLLMInferenceTrace_conv.csv
"$bin" sim --trace "$trace" --model llama-3.1-8b --gpu h100-80gb --deploy mono --gpus 8 \
	--engine "$tmp/llm-only.conf" >"$tmp/o" 2>"$tmp/err" && grep -q "model llama-3.1-8b" "$tmp/o" ||
	bad "text model: $(head -1 "$tmp/err")"

# --kv-block bounds --kv-tokens (4 blocks) in either order
"$bin" sim --synth 50 --gpus 16 --kv-tokens 8 --kv-block 2 >/dev/null 2>"$tmp/err" ||
	bad "--kv-tokens 8 --kv-block 2: $(head -1 "$tmp/err")"
"$bin" sim --synth 50 --gpus 16 --kv-block 32 --kv-tokens 100 >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && grep -q -- "--kv-tokens: expected an integer from 128 to" "$tmp/err" ||
	bad "--kv-block 32 --kv-tokens 100: rc=$rc $(head -1 "$tmp/err")"
"$bin" sim --synth 50 --gpus 16 --kv-block 0 >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] || bad "--kv-block 0: rc=$rc"
exit $fail
