# Helpers of the gateway's loopback tests (t_serve_*.sh source this; not a test itself).
# Every process runs under `timeout --foreground` (it signals only its child, once);
# servers listen on 127.0.0.1 on ports they pick (--port 0, read off their stderr line).
bin=${MS_BIN:?}
tmp=${MS_TMP:-/tmp}/$(basename "$0" .sh).$$
mkdir -p "$tmp/ec"
fail=0
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
command -v curl >/dev/null || { echo "FAIL: needs curl (scripts/debian-packages.txt)"; exit 1; }

# start NAME ARGS...: runs modserve ARGS --port 0; sets port_NAME and pid_NAME
start() {
	local name=$1 port=
	shift
	timeout --foreground 300 "$bin" "$@" --port 0 2>"$tmp/$name.err" &
	pids+=($!)
	eval "pid_$name=$!"
	for _ in $(seq 200); do
		port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/$name.err" 2>/dev/null)
		[ -n "$port" ] && break
		sleep 0.05
	done
	[ -n "$port" ] || { echo "FAIL: $name did not start"; cat "$tmp/$name.err"; exit 1; }
	eval "port_$name=$port"
}
check() { if eval "$2"; then :; else echo "FAIL: $1"; fail=1; fi; }
metric() { # metric PORT REGEX: sum of the matching samples
	curl -s --max-time 5 "http://127.0.0.1:$1/metrics" | grep -E "$2" | awk '{ s += $NF } END { print s + 0 }'
}
# gpost PORT PATH OUT BODY [curl args]: status in OUT.h's first line, body in OUT
gpost() {
	local port=$1 path=$2 out=$3 body=$4
	shift 4
	curl -s --max-time 20 -D "$tmp/$out.h" -o "$tmp/$out" "http://127.0.0.1:$port$path" \
		-H 'content-type: application/json' --data-binary "$body" "$@"
}
status() { sed -n '1s/^HTTP\/1.1 \([0-9]*\).*/\1/p' "$tmp/$1.h"; }
served() { metric "$1" '^vllm:request_success_total'; } # requests an engine finished
# wait_for SECONDS COMMAND: polls COMMAND every 0.1 s; 0 once it succeeds
wait_for() {
	local i
	for i in $(seq $(( $1 * 10 ))); do eval "$2" && return 0; sleep 0.1; done
	return 1
}
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
stop_clean() { # stop_clean NAME: SIGTERM, exit status 0 expected
	local p
	eval "p=\$pid_$1"
	kill "$p"
	wait "$p"
	local rc=$?
	check "$1 stops cleanly on SIGTERM (exit $rc)" '[ $rc = 0 ]'
}
text_req='{"messages":[{"role":"user","content":"hello there gateway"}],"max_tokens":4,"stream":true}'
png() { # a small valid PNG (w x h, colour seed), base64
	python3 - "$@" <<'PY'
import base64, struct, sys, zlib
w, h, s = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
raw = b''.join(b'\0' + bytes([(s + y) % 256] * (3 * w)) for y in range(h))
print(base64.b64encode(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0)) + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b'')).decode())
PY
}
img_req_of() { # img_req_of BASE64: a streamed request with one image
	printf '{"messages":[{"role":"user","content":[{"type":"text","text":"what is this"},{"type":"image_url","image_url":{"url":"data:image/png;base64,%s"}}]}],"max_tokens":3,"stream":true}' "$1"
}
