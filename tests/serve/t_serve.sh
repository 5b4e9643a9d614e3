#!/usr/bin/env bash
# `modserve serve` over `modserve engine` backends on loopback (issue 13): the EPD data
# path (2 encoders, prefill, decode), text and image requests streamed to [DONE], images
# on the encoders and found by prefill under the gateway's uuids, x-request-id echoed,
# 400/404/413 in the OpenAI error shape, an encoder killed (requests still answered),
# all encoders down (503 + retry-after, text still served), then prefill_decode
# instances: one killed mid-stream (error chunk then [DONE]), one killed before a
# request (retried on the other). Every process is bounded by `timeout`; curl calls too.
set -u
# tmp, pids, cleanup, start, check, metric, status (shared with t_serve_*.sh)
. "$(dirname "$0")/serve_lib.sh"
# kill -9 the modserve under a timeout wrapper
crash() { pkill -9 -P "$1"; sleep 0.1; }
post() { # post OUT BODY [curl args]: headers in OUT.h, body in OUT
	local out=$1 body=$2
	shift 2
	curl -s --max-time 20 -D "$tmp/$out.h" -o "$tmp/$out" "http://127.0.0.1:$port_gw/v1/chat/completions" \
		-H 'content-type: application/json' --data-binary "$body" "$@"
}

png() { # a small valid PNG (w x h, colour seed), base64
	python3 - "$@" <<'PY'
import base64, struct, sys, zlib
w, h, s = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
raw = b''.join(b'\0' + bytes([(x + s) % 256, y % 256, s % 256] * 1) * 0 + b'\0' + bytes([(s + y) % 256] * (3 * w)) for y in range(h) for x in [0])
png = b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0)) + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b'')
print(base64.b64encode(png).decode())
PY
}
img1=$(png 300 200 1)
img2=$(png 500 400 2)
part() { printf '{"type":"image_url","image_url":{"url":"data:image/png;base64,%s"}}' "$1"; }
text_req='{"messages":[{"role":"user","content":"hello there gateway"}],"max_tokens":4,"stream":true}'
img_req='{"messages":[{"role":"user","content":[{"type":"text","text":"what is in these"},'$(part "$img1")','$(part "$img2")']}],"max_tokens":4,"stream":true,"stream_options":{"include_usage":true}}'
one_img_req='{"messages":[{"role":"user","content":[{"type":"text","text":"and this"},'$(part "$img1")']}],"max_tokens":3}'

# ---- EPD: 2 encoders, prefill, decode ----
start enc1 engine --role encode --ec-storage "$tmp/ec" --speed 0
start enc2 engine --role encode --ec-storage "$tmp/ec" --speed 0
start pre engine --role prefill --ec-storage "$tmp/ec" --speed 0
start dec engine --role decode --speed 0
cat >"$tmp/pools.conf" <<CONF
# the test's pools
encode = http://127.0.0.1:$port_enc1, http://127.0.0.1:$port_enc2
prefill = http://127.0.0.1:$port_pre
decode = http://127.0.0.1:$port_dec
CONF
# probes every 5 s: a dead encoder is found by the calls themselves (retries)
start gw serve --config "$tmp/pools.conf" --probe 5 --max-body 65536

post text "$text_req" -H 'x-request-id: t-text-1'
check "text: status 200" '[ "$(status text)" = 200 ]'
check "text: ends with [DONE]" '[ "$(tail -c 14 "$tmp/text" | tr -d "\n")" = "data: [DONE]" ]'
check "text: 4 tokens" '[ "$(grep -c "\" tok\"" "$tmp/text")" = 4 ]'
check "text: x-request-id echoed" 'grep -qi "^x-request-id: t-text-1" "$tmp/text.h"'
check "text: the id reached decode" 'grep -q "chatcmpl-t-text-1" "$tmp/text"'
enc_n=$(( $(metric "$port_enc1" 'request_success_total.*length') + $(metric "$port_enc2" 'request_success_total.*length') ))
check "text: no encoder call ($enc_n)" '[ "$enc_n" = 0 ]'

post img "$img_req"
check "image: status 200" '[ "$(status img)" = 200 ]'
check "image: ends with [DONE]" '[ "$(tail -c 14 "$tmp/img" | tr -d "\n")" = "data: [DONE]" ]'
check "image: usage chunk relayed" 'grep -q "\"choices\":\[\],\"usage\"" "$tmp/img"'
enc_n=$(( $(metric "$port_enc1" 'request_success_total.*length') + $(metric "$port_enc2" 'request_success_total.*length') ))
check "image: both items on encoders ($enc_n)" '[ "$enc_n" = 2 ]'
check "image: the items spread over both encoders" '[ "$(metric "$port_enc1" "request_success_total.*length")" = 1 ]'
hits=$(metric "$port_pre" 'ec_lookups_total.*hit')
check "image: prefill found both items under the gateway's uuids ($hits hits)" '[ "$hits" = 2 ]'
check "image: decode served it remotely prefilled" '[ "$(metric "$port_dec" "request_success_total.*length")" = 2 ]'

post whole "$one_img_req"
check "whole: 200 chat.completion" '[ "$(status whole)" = 200 ] && grep -q "\"object\":\"chat.completion\"" "$tmp/whole"'

post bad '{"messages": [' 
check "malformed JSON: 400 error body" '[ "$(status bad)" = 400 ] && grep -q "\"error\":{\"message\":\"malformed JSON" "$tmp/bad"'
post model '{"model":"nope","messages":[]}'
check "unknown model: 404" '[ "$(status model)" = 404 ] && grep -q "\"param\":\"model\"" "$tmp/model"'
head -c 200000 /dev/zero | tr '\0' 'a' | sed 's/^/{"messages":[{"role":"user","content":"/; s/$/"}]}/' >"$tmp/huge.json"
curl -s --max-time 20 -D "$tmp/huge.h" -o "$tmp/huge" "http://127.0.0.1:$port_gw/v1/chat/completions" --data-binary @"$tmp/huge.json"
check "huge body: 413" '[ "$(status huge)" = 413 ] && grep -q "\"code\":413" "$tmp/huge"'
check "models lists the model" 'curl -s --max-time 5 "http://127.0.0.1:$port_gw/v1/models" | grep -q "\"id\":\"llama-3.2-11b-vision\""'

# an encoder dies: image requests are still answered (retried or routed to the other)
crash "$pid_enc1"
ok=0
for i in 1 2 3 4; do
	post k$i "$img_req"
	[ "$(status k$i)" = 200 ] && [ "$(tail -c 14 "$tmp/k$i" | tr -d "\n")" = "data: [DONE]" ] && ok=$((ok + 1))
done
check "encoder killed: 4 of 4 image requests answered ($ok)" '[ $ok = 4 ]'
check "encoder killed: the failed calls were retried" '[ "$(metric "$port_gw" "^modserve_serve_retries_total")" -ge 1 ]'
check "encoder killed: marked down" '[ "$(metric "$port_gw" "backend_up\{pool=\"encode\",url=\"http://127.0.0.1:$port_enc1\"\}")" = 0 ]'

# every encoder down: 503 with retry-after for images; text still goes through
crash "$pid_enc2"
sleep 0.5
post down "$img_req"
check "encoders down: 503" '[ "$(status down)" = 503 ] && grep -q "\"code\":503" "$tmp/down"'
check "encoders down: retry-after" 'grep -qi "^retry-after:" "$tmp/down.h"'
post text2 "$text_req"
check "encoders down: text still 200" '[ "$(status text2)" = 200 ]'
check "metrics: image 503 counted" '[ "$(metric "$port_gw" "requests_total\{modality=\"image\",status=\"503\"\}")" -ge 1 ]'
check "metrics: desired replicas gauge" '[ "$(metric "$port_gw" "desired_replicas\{pool=\"decode\"\}")" -ge 1 ]'
# a clean stop: exit status 0 (in the ASan build: no leak, nothing left open)
kill "$pid_gw"
wait "$pid_gw"
rc=$?
check "gateway stops cleanly on SIGTERM (exit $rc)" '[ $rc = 0 ]'

# ---- prefill_decode: a stream cut mid-way, a retry before the first byte ----
start llm1 engine --role llm --speed 2
start llm2 engine --role llm --speed 2
printf 'prefill_decode = http://127.0.0.1:%s, http://127.0.0.1:%s\n' "$port_llm1" "$port_llm2" >"$tmp/pd.conf"
start gw serve --config "$tmp/pd.conf" --probe 0.2
long='{"messages":[{"role":"user","content":"tell a long story"}],"max_tokens":2000,"stream":true}'
post cut "$long" &
cpid=$!
victim=
for _ in $(seq 100); do
	sleep 0.05
	[ "$(metric "$port_llm1" '^vllm:num_requests_running')" = 1 ] && { victim=$pid_llm1; break; }
	[ "$(metric "$port_llm2" '^vllm:num_requests_running')" = 1 ] && { victim=$pid_llm2; break; }
done
check "mid-stream: the request is running somewhere" '[ -n "$victim" ]'
sleep 0.3
[ -n "$victim" ] && crash "$victim"
wait "$cpid"
check "mid-stream kill: tokens then an error chunk then [DONE]" 'grep -q "\" tok\"" "$tmp/cut" && grep -q "^data: {\"error\"" "$tmp/cut" && [ "$(tail -c 14 "$tmp/cut" | tr -d "\n")" = "data: [DONE]" ]'
ok=0
for i in 1 2 3; do
	post r$i "$text_req"
	[ "$(status r$i)" = 200 ] && ok=$((ok + 1))
done
check "after the kill: 3 of 3 on the survivor ($ok)" '[ $ok = 3 ]'
check "gateway alive" 'kill -0 "$pid_gw"'
kill "$pid_gw"
wait "$pid_gw"
rc=$?
check "gateway stops cleanly after the kills (exit $rc)" '[ $rc = 0 ]'

# ---- API keys: 401 alike for a missing and a wrong key, reload on SIGHUP ----
printf 'alice = key-alice-0001\n' >"$tmp/keys"
start gw serve --config "$tmp/pd.conf" --probe 0.2 --api-keys "$tmp/keys"
post nokey "$text_req"
post badkey "$text_req" -H 'authorization: Bearer key-alice-0002'
check "no key: 401" '[ "$(status nokey)" = 401 ] && grep -q "\"code\":401" "$tmp/nokey"'
check "wrong key: the same 401 body" '[ "$(status badkey)" = 401 ] && cmp -s "$tmp/nokey" "$tmp/badkey"'
post goodkey "$text_req" -H 'authorization: Bearer key-alice-0001'
check "right key: 200" '[ "$(status goodkey)" = 200 ]'
check "access log names the key" 'grep -q "key=alice .*status=200" "$tmp/gw.err"'
printf 'bob = key-bob-000000001\n' >"$tmp/keys"
pkill -HUP -P "$pid_gw"
for _ in $(seq 50); do grep -q "keys reloaded" "$tmp/gw.err" && break; sleep 0.05; done
post oldkey "$text_req" -H 'authorization: Bearer key-alice-0001'
post newkey "$text_req" -H 'authorization: Bearer key-bob-000000001'
check "after SIGHUP: the old key 401, the new one 200" '[ "$(status oldkey)" = 401 ] && [ "$(status newkey)" = 200 ]'
kill "$pid_gw"
wait "$pid_gw"
rc=$?
check "keyed gateway stops cleanly (exit $rc)" '[ $rc = 0 ]'
[ $fail -eq 0 ] && echo "t_serve: ok"
exit $fail
