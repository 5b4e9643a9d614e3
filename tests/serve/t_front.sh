#!/usr/bin/env bash
# The gateway's front end (issue 13) over `modserve engine --role llm` backends on
# loopback: slow clients cut by the header and body deadlines while they still send
# (slowloris), a head sent slowly but in time still served; the connection cap (the
# connection above it closed at once, counted); per-key request and token limits (429
# with retry-after and the OpenAI error body, refilled after the wait); TLS with a
# certificate made here by the openssl CLI (streamed and whole replies, plain http
# refused); the access log in its own file; hostile bodies t_serve.sh does not send
# (invalid base64, too many images, wrong types, a header flood) and a broken key file
# on SIGHUP. Every process and client call is bounded in time.
set -u
. "$(dirname "$0")/serve_lib.sh"
for t in openssl python3; do
	command -v $t >/dev/null || { echo "FAIL: t_front needs $t (scripts/debian-packages.txt)"; exit 1; }
done
post() { gpost "$gw" /v1/chat/completions "$@"; } # post OUT BODY [curl args]
# start_tls NAME ARGS...: like start, for a server that says https://
start_tls() {
	local name=$1 port=
	shift
	timeout --foreground 300 "$bin" "$@" --port 0 2>"$tmp/$name.err" &
	pids+=($!)
	eval "pid_$name=$!"
	wait_for 10 'port=$(sed -n "s/.*listening on https:\/\/127.0.0.1:\([0-9]*\).*/\1/p" "$tmp/$name.err"); [ -n "$port" ]' ||
		{ echo "FAIL: $name did not start"; cat "$tmp/$name.err"; exit 1; }
	eval "port_$name=$port"
}

start llm engine --role llm --speed 0
printf 'prefill_decode = http://127.0.0.1:%s\n' "$port_llm" >"$tmp/pd.conf"

# ---- slow clients: deadlines, not inactivity timeouts ----
start gw serve --config "$tmp/pd.conf" --header-timeout 1 --body-timeout 1
gw=$port_gw
cat >"$tmp/slow.py" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
def trickle(prefix, data, gap, limit):
    """Sends prefix, then data one byte per gap s; seconds until the server closed (None: never within limit)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=limit)
    s.sendall(prefix)
    t0 = time.time()
    s.setblocking(False)
    for b in data:
        try:
            s.send(bytes([b]))
        except OSError:
            return time.time() - t0
        time.sleep(gap)
        try:
            if s.recv(4096) == b"":
                return time.time() - t0
        except BlockingIOError:
            pass
        except OSError:
            return time.time() - t0
        if time.time() - t0 > limit:
            return None
    return None
head = b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + b"X-Pad: " + b"a" * 200 + b"\r\n"
# a header byte every 0.1 s: cut by the 1 s head deadline although bytes keep coming
print("header", trickle(b"", head, 0.1, 8))
# the head at once, then the body a byte every 0.1 s: cut by the 1 s body deadline
body = b'{"messages":[{"role":"user","content":"' + b"x" * 200 + b'"}]}'
print("body", trickle(head + b"Content-Length: %d\r\n\r\n" % len(body), body, 0.1, 8))
# a whole head over 0.4 s (within the deadline) is served
s = socket.create_connection(("127.0.0.1", port), timeout=10)
req = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
for i in range(0, len(req), 4):
    s.sendall(req[i:i + 4])
    time.sleep(0.05)
print("slow-ok", s.recv(100).split(b"\r\n")[0].decode())
PY
python3 "$tmp/slow.py" "$gw" >"$tmp/slow.out"
cat "$tmp/slow.out"
cut_h=$(awk '$1 == "header" { print $2 }' "$tmp/slow.out")
cut_b=$(awk '$1 == "body" { print $2 }' "$tmp/slow.out")
check "slowloris head: cut after the 1 s deadline ($cut_h s)" 'python3 -c "import sys; sys.exit(not (0.8 <= float(\"$cut_h\") <= 4))" 2>/dev/null'
check "slow body: cut after the 1 s deadline ($cut_b s)" 'python3 -c "import sys; sys.exit(not (0.8 <= float(\"$cut_b\") <= 4))" 2>/dev/null'
check "a head sent slowly within the deadline is served" 'grep -q "^slow-ok HTTP/1.1 200" "$tmp/slow.out"'
check "metrics: a header timeout counted" '[ "$(metric "$gw" "read_timeouts_total\{phase=\"header\"\}")" -ge 1 ]'
check "metrics: a body timeout counted" '[ "$(metric "$gw" "read_timeouts_total\{phase=\"body\"\}")" -ge 1 ]'
post after "$text_req"
check "after the slow clients: a request served" '[ "$(status after)" = 200 ]'
stop_clean gw
# the engine shares the server code and takes the same options
start slowe engine --role llm --speed 0 --header-timeout 1 --body-timeout 1
python3 "$tmp/slow.py" "$port_slowe" >"$tmp/slowe.out"
check "engine: slowloris head and body cut at 1 s, a slow head in time served" 'awk "(\$1 == \"header\" || \$1 == \"body\") && \$2 >= 0.8 && \$2 <= 4 { n++ } /^slow-ok HTTP\/1.1 200/ { n++ } END { exit n != 3 }" "$tmp/slowe.out"'
stop_clean slowe

# ---- connection cap ----
start gw serve --config "$tmp/pd.conf" --max-conns 3 --header-timeout 5
gw=$port_gw
python3 - "$gw" >"$tmp/cap.out" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
held = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(3)]
time.sleep(0.3)
extra = socket.create_connection(("127.0.0.1", port), timeout=5)
t0 = time.time()
try:
    extra.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    got = extra.recv(100)
except OSError:
    got = b""
print("extra", "closed" if got == b"" else "answered", "%.3f" % (time.time() - t0))
# a held connection is still served
held[0].sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
print("held", held[0].recv(100).split(b"\r\n")[0].decode())
for s in held:
    s.close()
PY
cat "$tmp/cap.out"
check "above --max-conns: closed at once, before the head deadline" 'awk "\$1 == \"extra\" && \$2 == \"closed\" && \$3 < 2 { ok = 1 } END { exit !ok }" "$tmp/cap.out"'
check "within the cap: still served" 'grep -q "^held HTTP/1.1 200" "$tmp/cap.out"'
sleep 0.2
check "metrics: the refused connection counted" '[ "$(metric "$gw" "^modserve_serve_connections_refused_total")" -ge 1 ]'
post capafter "$text_req"
check "after the held connections close: served" '[ "$(status capafter)" = 200 ]'
stop_clean gw

# ---- per-key limits, access log file ----
cat >"$tmp/keys" <<'KEYS'
# request limit: 2 per second, bursts of 3
alice = key-alice-0001 rps=2 burst=3
# token limit: 600 per minute (prompt words + max_tokens)
bob = key-bob-00000001 tpm=600
carol = key-carol-00001
KEYS
start gw serve --config "$tmp/pd.conf" --api-keys "$tmp/keys" --access-log "$tmp/access.log"
gw=$port_gw
ok=0 lim=0
for i in 1 2 3 4 5 6; do
	post a$i "$text_req" -H 'authorization: Bearer key-alice-0001' -H "x-request-id: alice-$i"
	case $(status a$i) in 200) ok=$((ok + 1)) ;; 429) lim=$((lim + 1)); last=a$i ;; esac
done
check "a burst of 6 at rps=2 burst=3: 3 or 4 served ($ok), the rest 429 ($lim)" '[ $ok -ge 3 ] && [ $ok -le 4 ] && [ $((ok + lim)) = 6 ]'
check "429: OpenAI error body" '[ $lim -ge 1 ] && grep -q "\"error\":{\"message\":\"Rate limit reached for requests on key alice" "$tmp/$last" && grep -q "\"code\":429" "$tmp/$last"'
ra=$(sed -n 's/^retry-after: *\([0-9]*\).*/\1/Ip' "$tmp/$last.h")
check "429: retry-after in whole seconds ($ra)" '[ -n "$ra" ] && [ "$ra" -ge 1 ] && [ "$ra" -le 2 ]'
post c1 "$text_req" -H 'authorization: Bearer key-carol-00001'
post cimg "$(img_req_of "$(png 64 48 3)")" -H 'authorization: Bearer key-carol-00001' -H 'x-request-id: carol-img'
check "an image request through the keyed gateway" '[ "$(status cimg)" = 200 ]'
check "another key is not limited by alice's" '[ "$(status c1)" = 200 ]'
sleep "$ra"
post arefill "$text_req" -H 'authorization: Bearer key-alice-0001'
check "after retry-after: alice served again" '[ "$(status arefill)" = 200 ]'
big='{"messages":[{"role":"user","content":"three words here"}],"max_tokens":200}'
post b1 "$big" -H 'authorization: Bearer key-bob-00000001'
post b2 "$big" -H 'authorization: Bearer key-bob-00000001'
post b3 "$big" -H 'authorization: Bearer key-bob-00000001'
check "tpm=600: two 203-token requests served, the third 429" '[ "$(status b1)" = 200 ] && [ "$(status b2)" = 200 ] && [ "$(status b3)" = 429 ] && grep -q "Rate limit reached for tokens" "$tmp/b3"'
post b4 '{"messages":[{"role":"user","content":"x"}],"max_tokens":5000}' -H 'authorization: Bearer key-bob-00000001'
check "a request above the whole minute's tokens: 429 that says so" '[ "$(status b4)" = 429 ] && grep -q "Request too large for key bob" "$tmp/b4"'
rb=$(sed -n 's/^retry-after: *\([0-9]*\).*/\1/Ip' "$tmp/b3.h")
sleep "$rb"
post b5 "$big" -H 'authorization: Bearer key-bob-00000001'
check "tokens refilled after retry-after ($rb s)" '[ "$(status b5)" = 200 ]'
check "metrics: limited requests counted" '[ "$(metric "$gw" "rate_limited_total\{limit=\"requests\"\}")" = "$lim" ]'
check "metrics: limited tokens counted" '[ "$(metric "$gw" "rate_limited_total\{limit=\"tokens\"\}")" = 2 ]'
check "metrics: 429s in requests_total" '[ "$(metric "$gw" "requests_total\{modality=\"text\",status=\"429\"\}")" = $((lim + 2)) ]'
post nokey "$text_req"
post badjson '{"messages": [' -H 'authorization: Bearer key-carol-00001'
# a broken key file on SIGHUP: the old keys stay
printf 'broken line without equals\n' >"$tmp/keys"
kill -HUP "$(pgrep -P "$pid_gw")"
for _ in $(seq 50); do grep -q "keys not reloaded" "$tmp/gw.err" && break; sleep 0.05; done
check "SIGHUP with a broken key file: said on stderr with file:line" 'grep -q "keys not reloaded.*keys:1" "$tmp/gw.err"'
post c2 "$text_req" -H 'authorization: Bearer key-carol-00001'
check "SIGHUP with a broken key file: the old keys still work" '[ "$(status c2)" = 200 ]'
stop_clean gw
log=$tmp/access.log
check "access log: one line per request to the file" '[ "$(grep -c "^access " "$log")" = $((6 + 2 + 1 + 5 + 1 + 1 + 1)) ]'
check "access log: nothing of it on stderr" '! grep -q "access id=" "$tmp/gw.err"'
check "access log: id, key, modality, images, status, ttft, e2e" 'grep -Eq "^access id=alice-1 key=alice modality=text images=0 status=200 ttft_ms=[0-9.]+ e2e_ms=[0-9.]+$" "$log"'
check "access log: an image request with its count and times" 'grep -Eq "^access id=carol-img key=carol modality=image images=1 status=200 ttft_ms=[0-9.]+ e2e_ms=[0-9.]+$" "$log"'
check "access log: a 429 with its limit" 'grep -Eq "^access id=alice-[4-6] key=alice .*status=429 .*limit=requests$" "$log" && grep -q "key=bob .*status=429 .*limit=tokens" "$log"'
check "access log: a 401 (no key name) and a 400" 'grep -q "key=- .*status=401" "$log" && grep -q "key=carol .*status=400" "$log"'

# ---- TLS ----
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
	-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
	-keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>"$tmp/openssl.err" ||
	{ echo "FAIL: openssl req"; cat "$tmp/openssl.err"; exit 1; }
timeout 10 "$bin" serve --config "$tmp/pd.conf" --port 0 --tls-cert "$tmp/nope.pem" --tls-key "$tmp/key.pem" 2>"$tmp/badcert.err"
rc=$?
check "a missing certificate: exit 1 naming the file (exit $rc)" '[ $rc = 1 ] && grep -q "nope.pem" "$tmp/badcert.err"'
openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:prime256v1 -out "$tmp/other.pem" 2>/dev/null
timeout 10 "$bin" serve --config "$tmp/pd.conf" --port 0 --tls-cert "$tmp/cert.pem" --tls-key "$tmp/other.pem" 2>"$tmp/mismatch.err"
rc=$?
check "a key that does not match the certificate: exit 1, said ($rc)" '[ $rc = 1 ] && grep -q "other.pem: .*mismatch" "$tmp/mismatch.err"'
timeout 10 "$bin" serve --config "$tmp/pd.conf" --port 0 --tls-cert "$tmp/cert.pem" 2>/dev/null
check "--tls-cert without --tls-key: usage error (exit $?)" '[ $? = 2 ]'
start_tls tls serve --config "$tmp/pd.conf" --tls-cert "$tmp/cert.pem" --tls-key "$tmp/key.pem"
curl -s --max-time 20 --cacert "$tmp/cert.pem" -D "$tmp/tls1.h" -o "$tmp/tls1" \
	"https://127.0.0.1:$port_tls/v1/chat/completions" -H 'content-type: application/json' --data-binary "$text_req"
check "TLS: a streamed completion to [DONE]" '[ "$(status tls1)" = 200 ] && [ "$(grep -c "\" tok\"" "$tmp/tls1")" = 4 ] && [ "$(tail -c 14 "$tmp/tls1" | tr -d "\n")" = "data: [DONE]" ]'
curl -s --max-time 20 --cacert "$tmp/cert.pem" -o "$tmp/tls2" -w '%{http_code}' \
	"https://127.0.0.1:$port_tls/v1/chat/completions" --data-binary '{"messages":[{"role":"user","content":"hi"}],"max_tokens":2}' \
	--next --cacert "$tmp/cert.pem" -s -o /dev/null -w '%{http_code}%{num_connects}' \
	"https://127.0.0.1:$port_tls/health" >"$tmp/tls2.codes"
check "TLS: a whole reply, then /health on the same connection" '[ "$(cat "$tmp/tls2.codes")" = 2002000 ] && grep -q "\"object\":\"chat.completion\"" "$tmp/tls2"'
curl -s --max-time 5 -o /dev/null "http://127.0.0.1:$port_tls/health"
check "TLS: plain http on the TLS port gets no HTTP answer (curl exit $?)" '[ $? -ne 0 ]'
curl -s --max-time 5 -o /dev/null "https://127.0.0.1:$port_tls/health"
check "TLS: an unknown CA is refused by the client (curl exit $?)" '[ $? = 60 ]'
stop_clean tls

# ---- hostile bodies ----
start gw serve --config "$tmp/pd.conf"
gw=$port_gw
post b64 '{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,!!!notbase64!!!"}}]}],"max_tokens":2}'
check "invalid base64: 400 from the backend, relayed in the error shape" '[ "$(status b64)" = 400 ] && grep -q "\"code\":400" "$tmp/b64"'
many=$(python3 -c 'import json; print(json.dumps({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA%d" % i}} for i in range(65)]}]}))')
post many "$many"
check "65 images: 400 too many images" '[ "$(status many)" = 400 ] && grep -q "too many images" "$tmp/many"'
post nourl '{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{}}]}]}'
check "an image part without a url: 400 naming image_url" '[ "$(status nourl)" = 400 ] && grep -q "\"param\":\"image_url\"" "$tmp/nourl"'
post notlist '{"messages":"hello"}'
check "messages not a list: 400 naming messages" '[ "$(status notlist)" = 400 ] && grep -q "\"param\":\"messages\"" "$tmp/notlist"'
post notobj '[1, 2]'
check "a JSON array body: 400" '[ "$(status notobj)" = 400 ] && grep -q "not an object" "$tmp/notobj"'
post modeltype '{"model": 7, "messages": []}'
check "model not a string: 400 naming model" '[ "$(status modeltype)" = 400 ] && grep -q "\"param\":\"model\"" "$tmp/modeltype"'
post empty ''
check "an empty body: 400" '[ "$(status empty)" = 400 ]'
curl -s --max-time 10 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$gw/health" \
	-H "x-flood: $(head -c 70000 /dev/zero | tr '\0' 'a')" >"$tmp/flood.code"
check "a 70 KB header: refused (4xx or closed), not served ($(cat "$tmp/flood.code"))" '[ "$(cat "$tmp/flood.code")" != 200 ]'
post alive "$text_req"
check "after the hostile inputs: the gateway still serves" '[ "$(status alive)" = 200 ]'
stop_clean gw

# a client that keeps sending while its stream is written: closed, not buffered forever
start slow1 engine --role llm --speed 1
printf 'prefill_decode = http://127.0.0.1:%s\n' "$port_slow1" >"$tmp/slow1.conf"
start gw serve --config "$tmp/slow1.conf" --max-body 1024
gw=$port_gw
python3 - "$gw" >"$tmp/flood.out" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
body = b'{"messages":[{"role":"user","content":"a long story"}],"max_tokens":2000,"stream":true}'
s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
got = s.recv(65536)
t0, sent = time.time(), 0
try:
    while time.time() - t0 < 10:
        s.sendall(b"x" * 16384)
        sent += 16384
        if sent > (1 << 20):
            break
except OSError:
    pass
closed = False
try:
    while time.time() - t0 < 15:
        d = s.recv(65536)
        if not d:
            closed = True
            break
        got += d
except OSError:
    closed = True
print("flood", "closed" if closed else "open", "done" if b"[DONE]" in got else "cut", "%.1f" % (time.time() - t0))
PY
cat "$tmp/flood.out"
check "flooding during its stream: the connection closed before the stream's end" 'grep -q "^flood closed cut" "$tmp/flood.out"'
check "metrics: the flood counted" '[ "$(metric "$gw" "^modserve_serve_connections_flooded_total")" = 1 ]'
post alive2 "$text_req"
check "after the flood: the gateway still serves" '[ "$(status alive2)" = 200 ]'
stop_clean gw
[ $fail -eq 0 ] && echo "t_front: ok"
exit $fail
