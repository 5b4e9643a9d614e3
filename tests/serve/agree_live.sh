#!/usr/bin/env bash
# The live half of tests/serve/test_serve_agree.c (not a test by itself): replays TRACE
# with `modserve bench` through `modserve serve` over 2 encode and 2 llm engines at
# real speed (--speed 1, the simulator's stage times), the gateway writing its routing
# picks to OUT (--decision-log; --scrape 0: only the gateway's own charges route, as in
# the simulator). Usage: agree_live.sh TRACE OUT
set -u
. "$(dirname "$0")/serve_lib.sh"
trace=$1 out=$2
start enc1 engine --role encode --ec-storage "$tmp/ec" --speed 1
start enc2 engine --role encode --ec-storage "$tmp/ec" --speed 1
start llm1 engine --role llm --ec-storage "$tmp/ec" --speed 1
start llm2 engine --role llm --ec-storage "$tmp/ec" --speed 1
printf 'encode = http://127.0.0.1:%s, http://127.0.0.1:%s\nprefill_decode = http://127.0.0.1:%s, http://127.0.0.1:%s\n' \
	"$port_enc1" "$port_enc2" "$port_llm1" "$port_llm2" >"$tmp/pools.conf"
start gw serve --config "$tmp/pools.conf" --scrape 0 --probe 5 --quiet --decision-log "$out"
timeout --foreground 120 "$bin" bench --endpoint "http://127.0.0.1:$port_gw" --trace "$trace" \
	--out "$tmp/bench.json" >"$tmp/bench.out" 2>&1
rc=$?
check "bench ran (exit $rc)" '[ $rc = 0 ]'
check "every request completed" 'grep -q "\"failed\": *0" "$tmp/bench.json"'
[ $fail -ne 0 ] && cat "$tmp/bench.out" >&2
stop_clean gw
exit $fail
