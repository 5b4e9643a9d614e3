#!/usr/bin/env bash
# `modserve sim --engine` and `--kv-block` through the real binary: the default engines
# are the paper's (naming them changes nothing), an engine that lacks a stage is refused
# by name, an engine file drives the stage times (a slower per-iteration cost raises
# TTFT), a text model runs a text trace with an LLM-only engine, and --kv-block sets the
# block that bounds --kv-tokens whatever the option order.
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
