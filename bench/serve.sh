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
# Prints requests/s, wrk's p50/p99 latency, the added p50/p99 against direct, each
# target's rate against direct, and the gateway against the vLLM proxy.
# Usage: bench/serve.sh [BUILD_DIR] [SECONDS] [PATH/TO/disagg_epd_proxy.py]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../build}/modserve
secs=${2:-3}
proxy=${3:-}
tmp=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill $p 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT
command -v wrk >/dev/null || { echo "serve.sh: wrk is not installed (apt-get install wrk)" >&2; exit 1; }

start() { # start NAME ARGS...: sets port_NAME
	local name=$1 port=
	shift
	"$bin" "$@" --port 0 2>"$tmp/$name.err" &
	pids+=($!)
	for _ in $(seq 100); do
		port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/$name.err" 2>/dev/null)
		[ -n "$port" ] && break
		sleep 0.05
	done
	[ -n "$port" ] || { cat "$tmp/$name.err"; exit 1; }
	eval "port_$name=$port"
}
mkdir -p "$tmp/ec"
start eng engine --speed 0 --ec-storage "$tmp/ec"
start enc engine --role encode --speed 0 --ec-storage "$tmp/ec"
start llm engine --role llm --speed 0 --ec-storage "$tmp/ec"
echo "prefill_decode = http://127.0.0.1:$port_eng" >"$tmp/pd.conf"
printf 'encode = http://127.0.0.1:%s\nprefill_decode = http://127.0.0.1:%s\n' "$port_enc" "$port_llm" >"$tmp/epd.conf"
start gwpd serve --config "$tmp/pd.conf" --quiet
start gwepd serve --config "$tmp/epd.conf" --quiet
targets="direct gwpd gwepd"
if [ -n "$proxy" ]; then
	[ -f "$proxy" ] || { echo "serve.sh: no proxy at $proxy" >&2; exit 1; }
	mkdir -p "$tmp/shim"
	printf 'import json as _j\nclass json:\n    encode = staticmethod(lambda o: _j.dumps(o).encode())\n    decode = staticmethod(lambda b: _j.loads(b))\n' >"$tmp/shim/msgspec.py"
	port_vllm=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
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
