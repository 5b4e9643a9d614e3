#!/usr/bin/env bash
# Dynamic registration (issue 13): POST /instances with the admin key (vLLM's proxy
# shape too: /instances/add, {"type", "instance": "IP:PORT"}, X-API-Key), 403 without
# or with a wrong key, 400 on a bad role or address or a duplicate; a registered
# backend takes no work while STARTING (a port where nothing listens stays so), enters
# routing once its probe answers, and /instances/remove drains it out of routing.
set -u
. "$(dirname "$0")/serve_lib.sh"

# the LLM instances at real speed: requests overlap, so least-pending spreads them
start e0 engine --role llm --ec-storage "$tmp/ec" --speed 1
start enc engine --role encode --ec-storage "$tmp/ec" --speed 0
start e1 engine --role llm --ec-storage "$tmp/ec" --speed 1
printf 'encode =\nprefill_decode = http://127.0.0.1:%s\n' "$port_e0" >"$tmp/pools.conf"
printf 'admin-key-0001\n' >"$tmp/admin"
start gw serve --config "$tmp/pools.conf" --probe 0.2 --admin-key-file "$tmp/admin"
key=(-H 'x-api-key: admin-key-0001')
reg() { gpost "$port_gw" /instances "$@"; }

img=$(img_req_of "$(png 64 48 3)")
gpost "$port_gw" /v1/chat/completions noenc "$img"
check "no encoder registered yet: image 503" '[ "$(status noenc)" = 503 ]'

reg nokey '{"role":"encode","url":"http://127.0.0.1:'$port_enc'"}'
check "no admin key: 403" '[ "$(status nokey)" = 403 ]'
reg badkey '{"role":"encode","url":"http://127.0.0.1:'$port_enc'"}' -H 'x-api-key: admin-key-0002'
check "wrong admin key: 403" '[ "$(status badkey)" = 403 ]'
reg badrole '{"role":"vision","url":"http://127.0.0.1:'$port_enc'"}' "${key[@]}"
check "unknown role: 400" '[ "$(status badrole)" = 400 ] && grep -q "Invalid instance type" "$tmp/badrole"'
reg badaddr '{"role":"encode","url":"http://localhost:80"}' "${key[@]}"
check "host name address: 400" '[ "$(status badaddr)" = 400 ]'
reg nopool '{"role":"decode","url":"http://127.0.0.1:'$port_enc'"}' "${key[@]}"
check "a pool the pools file lacks: 400" '[ "$(status nopool)" = 400 ] && grep -q "no decode pool" "$tmp/nopool"'

reg add '{"role":"encode","url":"http://127.0.0.1:'$port_enc'"}' "${key[@]}"
check "register encode: 200" '[ "$(status add)" = 200 ] && grep -q "Added 127.0.0.1:'$port_enc' to encode_instances" "$tmp/add"'
check "register encode: starting" 'grep -q "\"state\":\"starting\"" "$tmp/add"'
reg dup '{"role":"encode","url":"http://127.0.0.1:'$port_enc'"}' "${key[@]}"
check "the same again: 400" '[ "$(status dup)" = 400 ]'
list() { curl -s --max-time 5 "http://127.0.0.1:$port_gw/instances" "${key[@]}"; }
check "encoder becomes ready after its probe" 'wait_for 5 "list | grep -q \"encode\\\",\\\"url\\\":\\\"http://127.0.0.1:$port_enc\\\",\\\"state\\\":\\\"ready\""'
check "listing needs the key" '[ "$(curl -s -o /dev/null -w "%{http_code}" --max-time 5 "http://127.0.0.1:$port_gw/instances")" = 403 ]'

# a registered address where nothing listens stays starting and never takes work
dead=$(free_port)
reg dead '{"role":"encode","url":"http://127.0.0.1:'$dead'"}' "${key[@]}"
ok=0
for i in 1 2 3 4; do
	gpost "$port_gw" /v1/chat/completions im$i "$(img_req_of "$(png 64 48 $((10 + i)))")"
	[ "$(status im$i)" = 200 ] && ok=$((ok + 1))
done
check "images through the registered encoder: 4 of 4 ($ok)" '[ $ok = 4 ]'
check "the encoder did them" '[ "$(served "$port_enc")" = 4 ]'
# the final body is spliced from the client's bytes: the uuids must still be there
check "prefill_decode found all 4 in the encoder cache" '[ "$(metric "$port_e0" "ec_lookups_total.*hit")" = 4 ]'
# forms the splice leaves to serialising: the URL also as a text part, a key after url,
# image_url as a string with spaces
u="data:image/png;base64,$(png 64 48 20)"
gpost "$port_gw" /v1/chat/completions f1 '{"messages":[{"role":"user","content":[{"type":"text","text":"'$u'"},{"type":"image_url","image_url":{"url":"'$u'"}}]}],"max_tokens":2}'
gpost "$port_gw" /v1/chat/completions f2 '{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"'$u'","detail":"low"}}]}],"max_tokens":2}'
gpost "$port_gw" /v1/chat/completions f3 '{"messages":[{"role":"user","content":[{"type":"image_url", "image_url" : "'$u'" }]}],"max_tokens":2}'
check "other part forms: 200 and found in the cache" '[ "$(status f1)$(status f2)$(status f3)" = 200200200 ] && [ "$(metric "$port_e0" "ec_lookups_total.*hit")" = 7 ]'
check "the dead one is still starting" 'list | grep -q "http://127.0.0.1:'$dead'\",\"state\":\"starting\""'
check "no retry was needed (nothing sent to the starting one)" '[ "$(metric "$port_gw" "^modserve_serve_retries_total")" = 0 ]'

# vLLM's proxy form: /instances/add, type + instance, for a second prefill_decode
gpost "$port_gw" /instances/add vadd '{"type":"prefill_decode","instance":"127.0.0.1:'$port_e1'"}' "${key[@]}"
check "vLLM form: 200" '[ "$(status vadd)" = 200 ]'
check "vLLM form: ready" 'wait_for 5 "list | grep -q \"$port_e1\\\",\\\"state\\\":\\\"ready\""'
before0=$(served "$port_e0")
for i in 1 2 3 4 5 6; do gpost "$port_gw" /v1/chat/completions t$i "$text_req" & done
wait_for 10 '[ $(( $(served "$port_e0") + $(served "$port_e1") - before0 )) -ge 6 ]'
n1=$(served "$port_e1")
check "text spread onto the new instance ($n1 of 6)" '[ "$n1" -ge 1 ]'

gpost "$port_gw" /instances/remove rm '{"role":"prefill_decode","url":"http://127.0.0.1:'$port_e1'"}' "${key[@]}"
check "remove: 200, draining" '[ "$(status rm)" = 200 ] && grep -q "draining" "$tmp/rm"'
check "removed from the list once drained" 'wait_for 5 "! list | grep -q \"$port_e1\""'
for i in 1 2 3 4; do gpost "$port_gw" /v1/chat/completions u$i "$text_req"; done
check "nothing more to the removed instance" '[ "$(served "$port_e1")" = "$n1" ]'
gpost "$port_gw" /instances/remove rm2 '{"role":"prefill_decode","url":"http://127.0.0.1:'$port_e1'"}' "${key[@]}"
check "remove unknown: 404" '[ "$(status rm2)" = 404 ]'
stop_clean gw
[ $fail -eq 0 ] && echo "t_serve_register: ok"
exit $fail
