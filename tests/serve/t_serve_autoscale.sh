#!/usr/bin/env bash
# The autoscaler acting (issue 13), sim's rule (policy_scale) on the gateway's load:
#  --spawn: an empty prefill_decode pool gets its minimum (1) engine process; a load
#    step (about 4,000 prompt tokens/s against 500 per instance, for 8 s) brings it to
#    its maximum (3) within the rate window, interval and startup; new engines take work only once
#    healthy; after the load stops they are drained and stopped (the processes exit)
#    after the window and cooldown; every request is answered;
#  --scale-cmd: the command runs with {pool} and {n} replaced: the step up, then 1.
# Rate window, interval and cooldown 2 s; bounded: about 40 s in all.
set -u
. "$(dirname "$0")/serve_lib.sh"

words=$(printf 'w%.0s ' $(seq 200))
req='{"messages":[{"role":"user","content":"'$words'"}],"max_tokens":4,"stream":true}'
load() { # load PORT N TAG: N requests, 20 a second, in the background
	local i
	for i in $(seq "$2"); do
		curl -s --max-time 30 -o "$tmp/$3.$i" -w '%{http_code}\n' \
			"http://127.0.0.1:$1/v1/chat/completions" --data-binary "$req" >>"$tmp/$3.codes" &
		sleep 0.05
	done
}
ready() { metric "$port_gw" "pool_ready\{pool=\"prefill_decode\"\}"; }
children() { pgrep -P "$(pgrep -P "$pid_gw")" -c 2>/dev/null || echo 0; } # the gateway's children

printf 'prefill_decode =\n' >"$tmp/pools.conf"
scale=(--scale-interval 2 --scale-cooldown 2 --scale-window 2 --probe 0.2 --scrape 0.2)
start gw serve --config "$tmp/pools.conf" "${scale[@]}" --autoscale prefill_decode=1:3:500 \
	--spawn "prefill_decode=$bin engine --role llm --speed 4 --port {port}"
check "spawn: the minimum engine comes up" 'wait_for 10 "[ \$(ready) = 1 ]"'
check "spawn: one engine process" '[ "$(children)" = 1 ]'
desired() { metric "$port_gw" "desired_replicas\{pool=\"prefill_decode\"\}"; }
t0=$(date +%s.%N)
load "$port_gw" 160 step &
loader=$!
# seen together while the load lasts: 3 ready, 3 processes, the gauge at 3
check "spawn: the load step brings the pool to 3 ready engines, gauge 3" \
	'wait_for 15 "[ \$(ready) = 3 ] && [ \$(children) = 3 ] && [ \$(desired) = 3 ]"'
t_up=$(python3 -c "print('%.1f' % ($(date +%s.%N) - $t0))")
check "spawn: up within window + interval + startup ($t_up s)" 'python3 -c "import sys; sys.exit(not $t_up <= 10)"'
wait "$loader"
wait_for 30 '[ "$(wc -l <"$tmp/step.codes")" = 160 ]'
check "spawn: 160 of 160 requests answered 200" '[ "$(grep -c "^200$" "$tmp/step.codes")" = 160 ]'
check "spawn: after the load, drained back to 1" 'wait_for 15 "[ \$(ready) = 1 ]"'
check "spawn: the drained engines were stopped" 'wait_for 5 "[ \$(children) = 1 ]"'
check "spawn: the log says started and stopped" '[ "$(grep -c "autoscale: prefill_decode: started" "$tmp/gw.err")" = 3 ] && [ "$(grep -c "autoscale: prefill_decode: stopped" "$tmp/gw.err")" = 2 ]'
gpost "$port_gw" /v1/chat/completions after "$text_req"
check "spawn: still serving on the one left" '[ "$(status after)" = 200 ]'
stop_clean gw
check "spawn: no engine left after the gateway stops" '! pgrep -f "engine --role llm --speed 4 --port" >/dev/null'

start e1 engine --role llm --speed 4
printf 'prefill_decode = http://127.0.0.1:%s\n' "$port_e1" >"$tmp/static.conf"
start gw serve --config "$tmp/static.conf" "${scale[@]}" --autoscale prefill_decode=1:4:500 \
	--scale-cmd "echo {pool} {n} >>$tmp/cmds"
load "$port_gw" 80 cmd
wait_for 30 '[ "$(wc -l <"$tmp/cmd.codes")" = 80 ]'
check "scale-cmd: asked for more replicas ($(tr '\n' ';' <"$tmp/cmds"))" 'grep -Eq "^prefill_decode [234]$" "$tmp/cmds"'
check "scale-cmd: then back to 1" 'wait_for 15 "[ \"\$(tail -1 $tmp/cmds)\" = \"prefill_decode 1\" ] && grep -Eq \"^prefill_decode [234]\$\" $tmp/cmds"'
stop_clean gw
[ $fail -eq 0 ] && echo "t_serve_autoscale: ok"
exit $fail
