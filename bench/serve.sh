#!/usr/bin/env bash
# Gateway overhead on loopback (issue 13, Benchmarks), in one run: wrk POSTs a streamed
# 16-token chat completion, text-only and with one 512x384 PNG, at 1 and 16 connections,
#   direct: to `modserve engine --speed 0` (role all: encodes the image itself);
#   gwpd:   through `modserve serve` with that engine as its prefill_decode pool (parse,
#           uuid on the image part, policy routing, relay);
#   gwepd:  through `modserve serve` with an encode engine and a prefill_decode engine
#           (the image goes to the encoder first: two backend calls per image request);
#   vllm:   (optional) vLLM's example EPD proxy (disagg_epd_proxy.py, given by path: its
#           code is never part of this repository) over the same encode + llm engines,
#           run with /usr/bin/python3 (Debian: python3-fastapi python3-uvicorn
#           python3-aiohttp python3-uvloop; bench only, see docs/serve.md); Debian 12 has
#           no msgspec, so a three-line stand-in on json is put on its PYTHONPATH.
# BACKEND=nginx: the same targets over fixed-answer backends instead of the engines, so
# the gateway's own cost shows (the engine decoding the image bounds the image rows):
# nginx (nginx-light; bench only, not in scripts/debian-packages.txt), one worker, two
# servers on 127.0.0.1 answering `return 200` with a 16-token SSE stream (final stage:
# direct, gwpd's and gwepd's prefill_decode, the proxy's decode) and with a JSON answer
# carrying ec_transfer_params (encode); direct = wrk to the SSE server.
# Prints requests/s, wrk's p50/p99 latency, the added p50/p99 against direct, each
# target's rate against direct, and the gateway against the vLLM proxy.
# Usage: [BACKEND=nginx] bench/serve.sh [BUILD_DIR] [SECONDS] [PATH/TO/disagg_epd_proxy.py]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../build}/modserve
secs=${2:-3}
proxy=${3:-}
tmp=$(mktemp -d)
. "$here/serve_lib.sh" # start, stop_all, free_port
trap 'stop_all; rm -rf "$tmp"' EXIT
command -v wrk >/dev/null || { echo "serve.sh: wrk is not installed (apt-get install wrk)" >&2; exit 1; }

# nginx_fixed: one nginx worker with two fixed-answer servers (sets port_eng, port_enc,
# port_llm): the final stage's (a 16-token SSE stream shaped like the engine's) and the
# encoders' (a chat.completion with ec_transfer_params); both answer /health and
# /v1/models, whatever the request says, at no cost of their own beyond HTTP.
nginx_fixed() {
	local d=$tmp/nginx sse enc_body models i
	mkdir -p "$d"
	port_llm=$(free_port)
	port_enc=$(free_port)
	port_eng=$port_llm
	sse='data: {"id":"chatcmpl-fixed","object":"chat.completion.chunk","created":1796173669,"model":"llama-3.2-11b-vision","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}\n\n'
	for i in $(seq 16); do
		sse+='data: {"id":"chatcmpl-fixed","object":"chat.completion.chunk","created":1796173669,"model":"llama-3.2-11b-vision","choices":[{"index":0,"delta":{"content":" tok"},"logprobs":null,"finish_reason":null}]}\n\n'
	done
	sse+='data: [DONE]\n\n'
	sse=${sse//\"/\\\"}
	enc_body='{"id":"chatcmpl-enc","object":"chat.completion","created":1796173669,"model":"llama-3.2-11b-vision","choices":[{"index":0,"message":{"role":"assistant","content":""},"logprobs":null,"finish_reason":"length"}],"usage":{"prompt_tokens":1601,"total_tokens":1602,"completion_tokens":1},"kv_transfer_params":null,"ec_transfer_params":{"connector":"modserve-ec-dir","items":[{"mm_hash":"ms-0123456789abcdef","num_tiles":4,"num_tokens":1601,"image_grid_thw":[1,1,1]}]}}'
	models='{"object":"list","data":[{"id":"llama-3.2-11b-vision","object":"model","owned_by":"modserve"}]}'
	cat >"$d/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $d/body;
	client_body_buffer_size 1m;
	client_max_body_size 64m;
	keepalive_requests 10000000;
	keepalive_timeout 300s;
	server {
		listen 127.0.0.1:$port_llm;
		location = /v1/chat/completions { default_type text/event-stream; return 200 "$sse"; }
		location = /v1/models { default_type application/json; return 200 '$models'; }
		location / { return 200 ''; }
	}
	server {
		listen 127.0.0.1:$port_enc;
		location = /v1/chat/completions { default_type application/json; return 200 '$enc_body'; }
		location = /v1/models { default_type application/json; return 200 '$models'; }
		location / { return 200 ''; }
	}
}
EOF
	/usr/sbin/nginx -p "$d" -c "$d/nginx.conf" -e "$d/error.log" &
	pids+=($!)
	for _ in $(seq 100); do
		curl -s -o /dev/null "http://127.0.0.1:$port_enc/health" && curl -s -o /dev/null "http://127.0.0.1:$port_llm/health" && break
		sleep 0.05
	done
	# the answers parse: 18 SSE events ending in [DONE]; JSON with ec_transfer_params
	curl -s "http://127.0.0.1:$port_llm/v1/chat/completions" -d '{}' >"$d/sse.out" || true
	curl -s "http://127.0.0.1:$port_enc/v1/chat/completions" -d '{}' >"$d/enc.out" || true
	if [ "$(grep -c '^data: ' "$d/sse.out")" != 18 ] || [ "$(tail -2 "$d/sse.out" | head -1)" != "data: [DONE]" ] ||
		! python3 -c 'import json, sys; json.load(open(sys.argv[1]))["ec_transfer_params"]["items"]' "$d/enc.out"; then
		echo "serve.sh: nginx's fixed answers are not what was meant:" >&2
		cat "$d/error.log" "$d/sse.out" "$d/enc.out" >&2
		exit 1
	fi
}
mkdir -p "$tmp/ec"
if [ "${BACKEND:-engine}" = nginx ]; then
	[ -x /usr/sbin/nginx ] || { echo "serve.sh: BACKEND=nginx needs /usr/sbin/nginx (apt-get install nginx-light)" >&2; exit 1; }
	nginx_fixed
else
	start eng engine --speed 0 --ec-storage "$tmp/ec"
	start enc engine --role encode --speed 0 --ec-storage "$tmp/ec"
	start llm engine --role llm --speed 0 --ec-storage "$tmp/ec"
fi
echo "prefill_decode = http://127.0.0.1:$port_eng" >"$tmp/pd.conf"
printf 'encode = http://127.0.0.1:%s\nprefill_decode = http://127.0.0.1:%s\n' "$port_enc" "$port_llm" >"$tmp/epd.conf"
start gwpd serve --config "$tmp/pd.conf" --quiet
start gwepd serve --config "$tmp/epd.conf" --quiet
targets="direct gwpd gwepd"
if [ -n "$proxy" ]; then
	[ -f "$proxy" ] || { echo "serve.sh: no proxy at $proxy" >&2; exit 1; }
	mkdir -p "$tmp/shim"
	printf 'import json as _j\nclass json:\n    encode = staticmethod(lambda o: _j.dumps(o).encode())\n    decode = staticmethod(lambda b: _j.loads(b))\n' >"$tmp/shim/msgspec.py"
	port_vllm=$(free_port)
	PYTHONPATH=$tmp/shim /usr/bin/python3 "$proxy" --host 127.0.0.1 --port "$port_vllm" \
		--encode-servers-urls "http://127.0.0.1:$port_enc" --prefill-servers-urls none \
		--decode-servers-urls "http://127.0.0.1:$port_llm" >"$tmp/vllm.err" 2>&1 &
	pids+=($!)
	for _ in $(seq 200); do
		curl -s -o /dev/null "http://127.0.0.1:$port_vllm/v1/models" && break
		sleep 0.1
	done
	curl -s -o /dev/null "http://127.0.0.1:$port_vllm/v1/models" || { tail -20 "$tmp/vllm.err"; exit 1; }
	targets="$targets vllm"
fi
port_direct=$port_eng

echo '{"model":"llama-3.2-11b-vision","messages":[{"role":"user","content":"hello hello hello hello"}],"max_tokens":16,"ignore_eos":true,"stream":true}' >"$tmp/text.json"
img=$(python3 - <<'PY'
import base64, struct, zlib
w, h = 512, 384
def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
raw = b''.join(b'\0' + bytes([y % 256, (y * 3) % 256, 7] * w) for y in range(h))
print(base64.b64encode(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0)) + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b'')).decode())
PY
)
printf '{"model":"llama-3.2-11b-vision","messages":[{"role":"user","content":[{"type":"text","text":"hello hello"},{"type":"image_url","image_url":{"url":"data:image/png;base64,%s"}}]}],"max_tokens":16,"ignore_eos":true,"stream":true}\n' "$img" >"$tmp/image.json"

run() { # run PORT BODY CONNS: prints "req/s p50_ms p99_ms"
	SERVE_BODY=$tmp/$2.json timeout $((secs + 30)) wrk -t1 -c"$3" -d"${secs}s" --latency \
		-s "$here/serve_post.lua" "http://127.0.0.1:$1/v1/chat/completions" >"$tmp/wrk.out"
	if grep -q "Non-2xx" "$tmp/wrk.out"; then echo "serve.sh: non-2xx answers:" >&2; cat "$tmp/wrk.out" >&2; exit 1; fi
	awk 'function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
	     /Requests\/sec/ { r = $2 } $1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) }
	     END { printf "%s %.3f %.3f\n", r, p50, p99 }' "$tmp/wrk.out"
}
printf '%-6s %-5s %-7s %10s %8s %8s %9s %9s %7s\n' body conns target "req/s" "p50 ms" "p99 ms" "+p50 ms" "+p99 ms" "x dir"
for body in text image; do
	for c in 1 16; do
		for t in $targets; do
			eval "p=\$port_$t"
			read -r r p50 p99 <<<"$(run "$p" $body $c)"
			[ "$t" = direct ] && { d=$r; d50=$p50; d99=$p99; }
			eval "rate_$t=$r"
			printf '%-6s %-5s %-7s %10s %8s %8s %9s %9s %7s\n' $body $c $t "$r" "$p50" "$p99" \
				"$(python3 -c "print('%.3f' % ($p50 - $d50))")" "$(python3 -c "print('%.3f' % ($p99 - $d99))")" \
				"$(python3 -c "print('%.2f' % ($r / $d))")"
		done
		if [ -n "$proxy" ]; then
			printf '%-6s %-5s gateway / vLLM proxy: gwpd %sx, gwepd %sx\n' $body $c \
				"$(python3 -c "print('%.1f' % ($rate_gwpd / $rate_vllm))")" \
				"$(python3 -c "print('%.1f' % ($rate_gwepd / $rate_vllm))")"
		fi
	done
done
