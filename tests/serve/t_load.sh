#!/usr/bin/env bash
# A bounded loopback load test of `modserve serve` (issue 13, Reliability): two
# `engine --role llm` backends with small queues behind the gateway; the capacity
# through the gateway is measured with a closed loop, then Poisson load at 2x that
# rate is offered twice, 400 requests each. No crash; every request sent is answered
# (200) or refused with a status (429 relayed from a full engine queue, 503), none
# lost to a connection error, a timeout or a broken stream (answered + refused ==
# sent, by `modserve bench` and by the gateway's own counters); nothing left open at
# the end; the gateway's RSS flat from the end of the first 2x run to the end of the
# second. Bounded by counts and timeouts.
set -u
. "$(dirname "$0")/serve_lib.sh"

# 8 running and 16 waiting per engine; speed 20: an iteration well under 1 ms
start e1 engine --role llm --speed 20 --max-seqs 8 --max-queue 16
start e2 engine --role llm --speed 20 --max-seqs 8 --max-queue 16
printf 'prefill_decode = http://127.0.0.1:%s, http://127.0.0.1:%s\n' "$port_e1" "$port_e2" >"$tmp/pd.conf"
# Under ASan freed memory waits in a quarantine (256 MB by default) before reuse, so
# RSS would grow by design: a small one keeps the flat-memory check meaningful there.
ldd "$bin" | grep -q libasan && export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=4
start gw serve --config "$tmp/pd.conf" --quiet
ep=http://127.0.0.1:$port_gw
awk 'BEGIN { print "TIMESTAMP,NumImages,ContextTokens,GeneratedTokens";
	for (i = 0; i < 400; i++) print "2024-10-15T12:00:00.000Z," (i % 4 == 0 ? 1 : 0) "," 100 + i % 7 ",16" }' >"$tmp/t.csv"
sent=0
run() { # run NAME ARGS...: bench into $tmp/NAME.json; every request accounted for
	timeout 120 "$bin" bench --endpoint "$ep" --trace "$tmp/t.csv" --timeout 30 --image-pool 4 \
		--out "$tmp/$1.json" "${@:2}" >"$tmp/$1.out" 2>"$tmp/$1.err" ||
		{ echo "FAIL: $1: bench exit $?"; cat "$tmp/$1.err"; fail=1; }
	sent=$((sent + 400))
	python3 - "$tmp/$1.json" "$1" <<'PY' || fail=1
import json, sys
r, name = json.load(open(sys.argv[1])), sys.argv[2]
f = r["failures"]
assert r["completed"] + r["failed"] == 400, (name, r["completed"], r["failed"])
assert f["connection"] == 0 and f["timeout"] == 0 and f["stream_error"] == 0, (name, f)
assert f["http_status"] == f.get("status_429", 0) + f.get("status_503", 0), (name, f)
print("t_load: %s: %d answered, %d refused (429: %d, 503: %d), %.0f req/s" % (name, r["completed"],
      r["failed"], f.get("status_429", 0), f.get("status_503", 0), r["request_throughput"]))
PY
}
# the gateway is the child of its `timeout` wrapper
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$(pgrep -P "$pid_gw" | head -1)/status"; }

run closed --max-concurrency 32
cap=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['request_throughput'])" "$tmp/closed.json")
rss0=$(rss)
run at2x_a --rate "$(python3 -c "print(2 * $cap)")" --seed 3
rss1=$(rss)
run at2x_b --rate "$(python3 -c "print(2 * $cap)")" --seed 4
rss2=$(rss)
check "the gateway survived" 'kill -0 "$pid_gw"'
refused=$(python3 -c "import json,sys; print(sum(json.load(open(p))['failed'] for p in sys.argv[1:]))" "$tmp"/at2x_*.json)
check "2x capacity refused some requests with a status ($refused)" '[ "$refused" -ge 1 ]'
# the gateway's own count of what it answered, by status, equals what was sent
counted=$(metric "$port_gw" '^modserve_serve_requests_total')
check "gateway: answered + refused == sent ($counted == $sent)" '[ "$counted" = "$sent" ]'
check "gateway: nothing left open" '[ "$(metric "$port_gw" "^modserve_serve_open_requests")" = 0 ]'
check "gateway: no connection refused at the cap" '[ "$(metric "$port_gw" "^modserve_serve_connections_refused_total")" = 0 ]'
# memory flat: the second 2x run ends where the first did, give or take allocator slack
check "gateway RSS flat: $rss0 kB before, $rss1 kB after the first 2x run, $rss2 kB after the second" \
	'[ "$rss2" -le $((rss1 + rss1 / 10 + 4096)) ]'
after=$(timeout 20 "$bin" bench --endpoint "$ep" --num-requests 1 --trace "$tmp/t.csv" 2>/dev/null | grep -c "Successful requests: *1")
check "the gateway answers after the load" '[ "$after" -ge 1 ]'
stop_clean gw
[ $fail -eq 0 ] && echo "t_load: ok (capacity $cap req/s through the gateway, RSS $rss0 -> $rss1 -> $rss2 kB)"
exit $fail
