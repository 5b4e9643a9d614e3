#!/usr/bin/env bash
# `modserve profile` against `modserve engine --speed 4` on loopback (port picked by the
# engine): the table it writes (6 columns, # model / # gpu, every stage), the fit report,
# `sim --profile` reading it and refusing it for another model, usage errors, a dead
# endpoint. Bounded: every command runs under timeout, a small design (~10 s).
set -u
# $tmp, $fail, start (an engine on a port it picks, killed at exit): the loopback helpers
. "$(dirname "$0")/../serve/serve_lib.sh"

start engine engine --speed 4
port=$port_engine

timeout 90 "$bin" profile --endpoint "http://127.0.0.1:$port" --out "$tmp/p.csv" --prompts 64,256 \
	--outputs 16 --concurrency 1,2 --max-images 2 --repeats 3 >"$tmp/out" 2>"$tmp/err" ||
	{ echo "FAIL: profile exit $?"; cat "$tmp/err"; fail=1; }
grep -q "^# model: llama-3.2-11b-vision$" "$tmp/p.csv" && grep -q "^# gpu: a100-80gb$" "$tmp/p.csv" &&
	grep -q "^stage,tp,batch,tokens,context,latency_s$" "$tmp/p.csv" ||
	{ echo "FAIL: table header"; cat "$tmp/p.csv"; fail=1; }
for st in preprocess encode prefill decode; do
	grep -q "^$st,4\|^$st,48" "$tmp/p.csv" || { echo "FAIL: no $st rows"; cat "$tmp/p.csv"; fail=1; }
done
# context rows (chunked prefill) and a batch-2 prefill row are there
grep -q "^prefill,4,1,64,4096," "$tmp/p.csv" && grep -q "^prefill,4,2,512,0," "$tmp/p.csv" ||
	{ echo "FAIL: context or batch rows"; cat "$tmp/p.csv"; fail=1; }
grep -q "^fit decode: " "$tmp/out" && grep -q "held out" "$tmp/out" &&
	grep -q "^[0-9]* requests, 0 failed" "$tmp/out" || { echo "FAIL: fit report"; cat "$tmp/out"; fail=1; }
grep -q "wrote $tmp/p.csv" "$tmp/err" || { echo "FAIL: no 'wrote' line"; cat "$tmp/err"; fail=1; }

# sim reads it; another model refuses it at its # model line
timeout 60 "$bin" sim --synth 200 --profile "$tmp/p.csv" --pools mono=1x4 --json >"$tmp/sim.json" 2>"$tmp/err" ||
	{ echo "FAIL: sim --profile"; cat "$tmp/err"; fail=1; }
timeout 60 "$bin" sim --synth 50 --model internvl-2.5-26b --profile "$tmp/p.csv" >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "p.csv:[0-9]*: model: profile is for llama-3.2-11b-vision, simulating internvl-2.5-26b" "$tmp/err" ||
	{ echo "FAIL: model check"; cat "$tmp/err"; fail=1; }

# usage errors: exit 2 with the reason
expect_usage() { # expect_usage WANT ARGS...
	local want=$1
	shift
	timeout 10 "$bin" profile "$@" >/dev/null 2>"$tmp/err"
	[ $? -eq 2 ] && grep -q -- "$want" "$tmp/err" || { echo "FAIL: usage '$want'"; cat "$tmp/err"; fail=1; }
}
expect_usage "--endpoint and --out are required" --endpoint http://127.0.0.1:1
expect_usage "--prompts: expected a list of integers from 1 to" --endpoint http://127.0.0.1:1 --out x --prompts 1,x
expect_usage "--concurrency: expected a list of integers from 1 to 64" --endpoint http://127.0.0.1:1 --out x --concurrency 65
expect_usage "expected http://HOST:PORT" --endpoint https://127.0.0.1:1 --out x
expect_usage "unexpected argument" --endpoint http://127.0.0.1:1 --out x extra
timeout 10 "$bin" profile --help | grep -q "^usage: modserve profile" || { echo "FAIL: --help"; fail=1; }

# nothing listening: exit 1 with the endpoint named (the model must be given then)
kill "$pid_engine"; wait "$pid_engine" 2>/dev/null; pids=()
timeout 60 "$bin" profile --endpoint "http://127.0.0.1:$port" --served-model m --out "$tmp/q.csv" \
	--timeout 5 >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "no 4096-token request succeeded" "$tmp/err" && [ ! -e "$tmp/q.csv" ] ||
	{ echo "FAIL: dead endpoint"; cat "$tmp/err"; fail=1; }
timeout 10 "$bin" profile --endpoint "http://127.0.0.1:$port" --out "$tmp/q.csv" >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "/v1/models" "$tmp/err" || { echo "FAIL: dead endpoint, models"; cat "$tmp/err"; fail=1; }
[ $fail -eq 0 ] && echo "t_profile: ok"
exit $fail
