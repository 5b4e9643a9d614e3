#!/usr/bin/env bash
# Backends' own metrics steer routing (issue 13): two gateways over the same engines.
# Gateway B (a tenant pinned to e1) keeps six long streams running on e1; gateway A
# (e1 and e2, scraping every 0.1 s) then sends four short requests at once: it sees
# e1's vllm:num_requests_running and puts all four on e2. The control, gateway C over
# the same two engines without scraping, sees nothing of B's load and puts work on e1.
set -u
. "$(dirname "$0")/serve_lib.sh"

start e1 engine --role llm --speed 1
start e2 engine --role llm --speed 1
printf 'prefill_decode = http://127.0.0.1:%s\n' "$port_e1" >"$tmp/b.conf"
printf 'prefill_decode = http://127.0.0.1:%s, http://127.0.0.1:%s\n' "$port_e1" "$port_e2" >"$tmp/ac.conf"
start gb serve --config "$tmp/b.conf" --probe 0.2 --scrape 0 --quiet
start ga serve --config "$tmp/ac.conf" --probe 0.2 --scrape 0.1 --quiet
start gc serve --config "$tmp/ac.conf" --probe 0.2 --scrape 0 --quiet

long='{"messages":[{"role":"user","content":"tell a long story"}],"max_tokens":3000,"stream":true}'
for i in 1 2 3 4 5 6; do
	curl -s --max-time 60 -o /dev/null "http://127.0.0.1:$port_gb/v1/chat/completions" --data-binary "$long" &
done
check "six streams running on e1" 'wait_for 10 "[ \"\$(metric $port_e1 ^vllm:num_requests_running)\" = 6 ]"'
check "gateway A scraped them" 'wait_for 5 "[ \"\$(metric $port_ga \"backend_running.*$port_e1\")\" = 6 ]"'
check "gateway A: e1 queue view exported as waiting" '[ "$(metric "$port_ga" "backend_waiting.*$port_e1")" = 0 ]'

for i in 1 2 3 4; do gpost "$port_ga" /v1/chat/completions a$i "$text_req" & done
check "gateway A: 4 short requests done" 'wait_for 20 "[ \$(served $port_e2) -ge 4 ] || [ \$(served $port_e1) -ge 1 ]"'
sleep 0.3
ok=0
for i in 1 2 3 4; do [ "$(status a$i)" = 200 ] && ok=$((ok + 1)); done
check "gateway A: 4 of 4 answered ($ok)" '[ $ok = 4 ]'
check "gateway A: all four on e2 ($(served "$port_e2")), none on busy e1 ($(served "$port_e1"))" \
	'[ "$(served "$port_e2")" = 4 ] && [ "$(served "$port_e1")" = 0 ]'

e2_before=$(served "$port_e2")
for i in 1 2 3 4; do gpost "$port_gc" /v1/chat/completions c$i "$text_req" & done
check "gateway C: 4 short requests done" 'wait_for 20 "[ \$(( \$(served $port_e1) + \$(served $port_e2) - e2_before )) -ge 4 ]"'
check "gateway C (no scrape) put work on the busy e1 ($(served "$port_e1"))" '[ "$(served "$port_e1")" -ge 1 ]'
stop_clean ga
stop_clean gc
stop_clean gb
[ $fail -eq 0 ] && echo "t_serve_scrape: ok"
exit $fail
