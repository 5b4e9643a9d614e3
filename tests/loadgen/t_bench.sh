#!/usr/bin/env bash
# `modserve bench` against `modserve engine` on loopback (ports picked by the engine):
# vllm-bench JSON keys, every request accounted for, refusals and dead endpoints counted
# by reason, usage errors. Bounded: every command runs under timeout.
set -u
bin=${MS_BIN:?}
tmp=${MS_TMP:-/tmp}/t_bench.$$
mkdir -p "$tmp"
fail=0
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT

start_engine() { # start_engine NAME ARGS...: sets $port
	local name=$1
	shift
	timeout 120 "$bin" engine --port 0 "$@" 2>"$tmp/$name.err" &
	pids+=($!)
	port=
	for _ in $(seq 100); do
		port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/$name.err")
		[ -n "$port" ] && return 0
		sleep 0.05
	done
	echo "FAIL: engine $name did not start"; cat "$tmp/$name.err"; exit 1
}

start_engine fast --speed 0
timeout 60 "$bin" bench --endpoint "http://127.0.0.1:$port" --trace synth --num-requests 200 \
	--rate-scale 50 --warmup 5 --out "$tmp/r.json" --per-request "$tmp/r.csv" >"$tmp/out" 2>"$tmp/err" ||
	{ echo "FAIL: bench exit $?"; cat "$tmp/err"; fail=1; }
grep -q "^Successful requests: *200" "$tmp/out" || { echo "FAIL: summary"; cat "$tmp/out"; fail=1; }
grep -q "^Mean TTFT (ms):" "$tmp/out" || { echo "FAIL: no TTFT line"; fail=1; }
grep -q "warm-up: 5 requests, 0 failed" "$tmp/err" || { echo "FAIL: warm-up"; cat "$tmp/err"; fail=1; }
python3 - "$tmp/r.json" "$tmp/r.csv" <<'PY' || fail=1
import csv, json, sys
r = json.load(open(sys.argv[1]))
keys = ["duration", "completed", "failed", "request_throughput", "output_throughput",
        "total_token_throughput", "input_lens", "output_lens", "ttfts", "itls", "errors"]
for m in ["ttft_ms", "tpot_ms", "itl_ms", "e2el_ms"]:
    keys += [p + m for p in ("mean_", "median_", "std_", "p99_")]
missing = [k for k in keys if k not in r]
assert not missing, "missing keys %s" % missing
assert r["completed"] == 200 and r["failed"] == 0, (r["completed"], r["failed"])
pm = r["per_modality"]
assert pm["text"]["completed"] + pm["image"]["completed"] == 200
assert pm["image"]["completed"] > 0 and pm["text"]["completed"] > 0
# output tokens are the trace's GeneratedTokens (ignore_eos), itls one fewer
assert all(len(i) == o - 1 for i, o in zip(r["itls"], r["output_lens"]))
rows = list(csv.DictReader(open(sys.argv[2])))
assert len(rows) == 200 and all(int(x["output_tokens"]) == int(x["max_tokens"]) for x in rows)
print("t_bench: json and csv ok")
PY

# images from a directory: both the PNG and the JPEG reach the engine as images
mkdir -p "$tmp/img" "$tmp/noimg"
cp "$MS_SRC_DIR/fuzz/corpus/image_header/png_3x2.png" "$MS_SRC_DIR/fuzz/corpus/image_header/jpeg_5x4.jpg" "$tmp/img/"
echo "not an image" >"$tmp/img/notes.txt"
timeout 60 "$bin" bench --endpoint "http://127.0.0.1:$port" --trace synth --num-requests 40 --rate-scale 50 \
	--image-dir "$tmp/img" --out "$tmp/i.json" >"$tmp/out" 2>"$tmp/err" || { echo "FAIL: image-dir bench exit $?"; cat "$tmp/err"; fail=1; }
python3 -c "import json,sys; r=json.load(open(sys.argv[1])); assert r['failed']==0 and r['per_modality']['image']['completed']>0, r['failures']" "$tmp/i.json" || fail=1
timeout 10 "$bin" bench --endpoint "http://127.0.0.1:$port" --num-requests 5 --image-dir "$tmp/noimg" >/dev/null 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "no PNG or JPEG" "$tmp/err" || { echo "FAIL: empty image dir"; cat "$tmp/err"; fail=1; }

# a full queue: refusals are counted as status 429, nothing is dropped
start_engine slow --speed 1 --max-seqs 1 --max-queue 1
timeout 60 "$bin" bench --endpoint "http://127.0.0.1:$port" --trace synth --num-requests 20 \
	--rate 2000 --out "$tmp/q.json" >"$tmp/out" 2>"$tmp/err" || { echo "FAIL: bench exit $?"; cat "$tmp/err"; fail=1; }
python3 - "$tmp/q.json" <<'PY' || fail=1
import json, sys
r = json.load(open(sys.argv[1]))
assert r["completed"] + r["failed"] == 20, r
assert r["failures"]["status_429"] > 0 and r["failures"]["http_status"] == r["failures"]["status_429"], r["failures"]
print("t_bench: 429 counted")
PY

# nothing listening: connection failures, counted (the model name must be given then)
kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null
dead=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/fast.err")
timeout 60 "$bin" bench --endpoint "http://127.0.0.1:$dead" --model m --num-requests 5 --rate 100 \
	--out "$tmp/d.json" >"$tmp/out" 2>"$tmp/err" || { echo "FAIL: bench exit $?"; fail=1; }
python3 -c "import json,sys; r=json.load(open(sys.argv[1])); assert r['failed']==5 and r['failures']['connection']==5, r['failures']" "$tmp/d.json" || fail=1
timeout 10 "$bin" bench --endpoint "http://127.0.0.1:$dead" --num-requests 5 >"$tmp/out" 2>"$tmp/err"
[ $? -eq 1 ] && grep -q "v1/models" "$tmp/err" || { echo "FAIL: no model and no endpoint"; cat "$tmp/err"; fail=1; }

# usage errors
timeout 10 "$bin" bench >/dev/null 2>"$tmp/err"; [ $? -eq 2 ] && grep -q "endpoint is required" "$tmp/err" || { echo "FAIL: no endpoint"; fail=1; }
timeout 10 "$bin" bench --endpoint http://x:1 --rate 1 --rate-scale 2 >/dev/null 2>&1; [ $? -eq 2 ] || { echo "FAIL: rate + rate-scale"; fail=1; }
timeout 10 "$bin" bench --endpoint ftp://x >/dev/null 2>&1; [ $? -eq 2 ] || { echo "FAIL: bad endpoint"; fail=1; }
timeout 10 "$bin" engine --port 0 --role boss >/dev/null 2>&1; [ $? -eq 2 ] || { echo "FAIL: bad role"; fail=1; }
timeout 10 "$bin" engine --port 0 --model nope >/dev/null 2>"$tmp/err"; [ $? -eq 1 ] || { echo "FAIL: bad model"; fail=1; }
for c in engine bench; do
	"$bin" $c --help | grep -q "^usage: modserve $c" || { echo "FAIL: $c --help"; fail=1; }
done
[ $fail -eq 0 ] && echo "t_bench: ok"
exit $fail
