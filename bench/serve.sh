#!/usr/bin/env bash
# Gateway overhead on loopback (issue 13, Benchmarks), in one run: wrk POSTs a streamed
# 16-token chat completion, text-only and with one 512x384 PNG, at 1 and 16 connections,
#   direct: to `modserve engine --speed 0` (role all: encodes the image itself);
#   gw-pd:  through `modserve serve` with that engine as its prefill_decode pool (parse,
#           uuid on the image part, policy routing, relay);
#   gw-epd: through `modserve serve` with an encode engine and a prefill_decode engine
#           (the image goes to the encoder first: two backend calls per image request).
# Prints requests/s and wrk's mean latency for each, and gw/direct ratios.
# Usage: bench/serve.sh [BUILD_DIR] [SECONDS]   (default build/, 3 s per point)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../build}/modserve
secs=${2:-3}
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

run() { # run PORT BODY CONNS: prints "req/s mean_latency"
	SERVE_BODY=$tmp/$2.json timeout $((secs + 30)) wrk -t1 -c"$3" -d"${secs}s" --latency \
		-s "$here/serve_post.lua" "http://127.0.0.1:$1/v1/chat/completions" >"$tmp/wrk.out"
	if grep -q "Non-2xx" "$tmp/wrk.out"; then echo "serve.sh: non-2xx answers:" >&2; cat "$tmp/wrk.out" >&2; exit 1; fi
	awk '/Requests\/sec/ { r = $2 } /^    Latency/ { l = $2 } END { print r, l }' "$tmp/wrk.out"
}
printf '%-6s %-5s %-7s %12s %10s %8s\n' body conns target "req/s" "mean lat" "vs direct"
for body in text image; do
	for c in 1 16; do
		read -r d dl <<<"$(run "$port_eng" $body $c)"
		printf '%-6s %-5s %-7s %12s %10s %8s\n' $body $c direct "$d" "$dl" "1.00"
		for gw in gwpd gwepd; do
			eval "p=\$port_$gw"
			read -r g gl <<<"$(run "$p" $body $c)"
			printf '%-6s %-5s %-7s %12s %10s %8s\n' $body $c $gw "$g" "$gl" \
				"$(python3 -c "print('%.2f' % ($g / $d))")"
		done
	done
done
