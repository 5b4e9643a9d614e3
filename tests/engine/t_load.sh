#!/usr/bin/env bash
# A bounded loopback load test of `modserve engine` (issue 12, Reliability): measure the
# engine's capacity with a closed loop, then offer Poisson load at that rate and at 2x for
# a fixed number of requests: no crash, every request answered (200) or refused with a
# status (429 from the queue limit), no connection or stream errors, the queue drained
# at the end, memory flat between the 1x and the 2x run. Bounded by counts and timeouts.
set -u
# $tmp, $fail, start (an engine on a port it picks, killed at exit): the loopback helpers
. "$(dirname "$0")/../serve/serve_lib.sh"

# 8 running, 32 waiting; speed 20: a batch iteration of the 11B model takes well under 1 ms
start e engine --speed 20 --max-seqs 8 --max-queue 32
ep=http://127.0.0.1:$port_e
awk 'BEGIN { print "TIMESTAMP,NumImages,ContextTokens,GeneratedTokens";
	for (i = 0; i < 400; i++) print "2024-10-15T12:00:00.000Z," (i % 4 == 0 ? 1 : 0) "," 100 + i % 7 ",16" }' >"$tmp/t.csv"

run() { # run NAME ARGS...: bench into $tmp/NAME.json, checks every request is accounted for
	timeout 120 "$bin" bench --endpoint "$ep" --trace "$tmp/t.csv" --timeout 30 --image-pool 4 \
		--out "$tmp/$1.json" "${@:2}" >"$tmp/$1.out" 2>"$tmp/$1.err" ||
		{ echo "FAIL: $1: bench exit $?"; cat "$tmp/$1.err"; fail=1; }
	python3 - "$tmp/$1.json" "$1" <<'PY' || fail=1
import json, sys
r, name = json.load(open(sys.argv[1])), sys.argv[2]
f = r["failures"]
assert r["completed"] + r["failed"] == 400, (name, r["completed"], r["failed"])
assert f["connection"] == 0 and f["timeout"] == 0 and f["stream_error"] == 0, (name, f)
assert f["http_status"] == f.get("status_429", 0), (name, f)
print("t_load: %s: %d completed, %d refused (429), %.0f req/s" % (name, r["completed"], r["failed"], r["request_throughput"]))
PY
}
# the engine is the child of its `timeout` wrapper
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$(pgrep -P "$pid_e" | head -1)/status"; }

run closed --max-concurrency 40
cap=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['request_throughput'])" "$tmp/closed.json")
run at1x --rate "$cap" --seed 2
rss1=$(rss)
run at2x --rate "$(python3 -c "print(2 * $cap)")" --seed 3
rss2=$(rss)
kill -0 "$pid_e" 2>/dev/null || { echo "FAIL: the engine died"; fail=1; }
# memory flat: the 2x run holds no more than the 1x run plus a margin for allocator slack
[ "$rss2" -le $((rss1 * 3 / 2 + 8192)) ] || { echo "FAIL: engine RSS grew from $rss1 kB to $rss2 kB"; fail=1; }
after=$(timeout 10 "$bin" bench --endpoint "$ep" --num-requests 1 --trace "$tmp/t.csv" 2>/dev/null | grep -c "Successful requests: *1")
[ "$after" -ge 1 ] || { echo "FAIL: the engine does not answer after the load"; fail=1; }
[ $fail -eq 0 ] && echo "t_load: ok (capacity $cap req/s, RSS $rss1 -> $rss2 kB)"
exit $fail
