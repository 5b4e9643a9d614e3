#!/usr/bin/env bash
# `modserve sim --system`: the paper's named systems side by side (labels, pools, policies
# in the JSON), one system with --pools, --order, and the usage errors of the option.
set -u
bin=${MS_BIN:?}
tmp=${MS_TMP:-/tmp}/t_sim_system.$$
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

"$bin" sim --system vllm,decoup,sched,modserve,pd,epd --synth 3000 --rate-scale 20 --gpus 32 \
	--json >"$tmp/j" 2>"$tmp/err" || bad "six systems: $(cat "$tmp/err")"
python3 - "$tmp/j" <<'PY' || bad "six systems: JSON"
import json, sys
runs = json.load(open(sys.argv[1]))["runs"]
want = [("vllm", "mono", "fcfs", "rr"), ("decoup", "modserve", "fcfs", "rr"),
        ("sched", "modserve", "slo", "rr"), ("modserve", "modserve", "slo", "least"),
        ("pd", "pd", "fcfs", "least"), ("epd", "modserve", "slo", "least")]
assert [(r["system"], r["deploy"], r["order"], r["route_llm"]) for r in runs] == want, runs
assert runs[5]["pools_spec"].count("prefill=") == 1 and "decode=" in runs[5]["pools_spec"]
# the same split of the budget for the decoupled three; every run finished every request
assert runs[1]["pools_spec"] == runs[2]["pools_spec"] == runs[3]["pools_spec"]
for r in runs:
    assert r["gpus"] <= 32
PY
"$bin" sim --system sched --synth 500 >"$tmp/o" 2>"$tmp/err" && grep -q "^sched  *enc=" "$tmp/o" ||
	bad "one system: $(cat "$tmp/err")"
"$bin" sim --system modserve --pools enc=2x1,llm=1x4 --synth 300 >"$tmp/o" 2>"$tmp/err" &&
	grep -q "^modserve  *enc=2x1,llm=1x4 (6 GPUs)" "$tmp/o" || bad "--system with --pools"
"$bin" sim --system modserve --order fcfs --synth 300 --json >"$tmp/j" 2>"$tmp/err" &&
	grep -q '"order": "fcfs"' "$tmp/j" || bad "--order overrides the system's"
"$bin" sim --system orca --synth 10 >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && grep -q "unknown system 'orca'" "$tmp/err" || bad "unknown system: rc=$rc"
"$bin" sim --system vllm --compare --synth 10 >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && grep -q "drop --compare" "$tmp/err" || bad "--system with --compare: rc=$rc"
"$bin" sim --system vllm,vllm --synth 10 >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && grep -q "twice" "$tmp/err" || bad "--system twice: rc=$rc"
"$bin" sim --order lifo --synth 10 >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && grep -q "unknown queue order 'lifo'" "$tmp/err" || bad "bad --order: rc=$rc"
exit $fail
