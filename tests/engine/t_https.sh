#!/usr/bin/env bash
# https image URLs in `modserve engine`, on loopback only: a self-signed certificate for
# 127.0.0.1 made here (openssl req), a Python HTTPS server serving one PNG on a port it
# picks, and engines that fetch from it: trusted with --ca-file (200, the image's tiles in
# usage), refused with the system's CAs (400 naming OpenSSL's reason), accepted with
# --insecure-tls, a certificate for another address refused, a bad --ca-file stopping the
# start. Every process is bounded by `timeout`; nothing needs the internet.
set -u
# $tmp, $fail, $pids (killed at exit), start: the loopback helpers
. "$(dirname "$0")/../serve/serve_lib.sh"
bad() { echo "FAIL: $*"; fail=1; }

cert() { # cert NAME IP: a self-signed certificate and key for that address
	openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=$2" \
		-addext "subjectAltName=IP:$2" -keyout "$tmp/$1.key" -out "$tmp/$1.pem" 2>/dev/null ||
		{ echo "FAIL: openssl req"; exit 1; }
}
cert good 127.0.0.1
cert other 127.0.0.2

# a 900 x 400 PNG: InternVL cuts it into 3 x 1 tiles of 448 px plus a thumbnail = 4 tiles
python3 - "$tmp/a.png" <<'PY'
import struct, sys, zlib
w, h = 900, 400
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
raw = b"".join(b"\0" + bytes([(x * 7 + y) & 255 for x in range(w * 3)]) for y in range(h))
open(sys.argv[1], "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                              + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
PY

serve() { # serve NAME: an HTTPS server with that certificate; its port in $tmp/NAME.port
	timeout 120 python3 - "$tmp" "$1" <<'PY' &
import http.server, ssl, sys
tmp, name = sys.argv[1:]
png = open(f"{tmp}/a.png", "rb").read()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        ok = self.path == "/a.png"
        self.send_response(200 if ok else 404)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(png) if ok else 0))
        self.end_headers()
        if ok:
            self.wfile.write(png)
    def log_message(self, *a):
        pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(f"{tmp}/{name}.pem", f"{tmp}/{name}.key")
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
open(f"{tmp}/{name}.port.tmp", "w").write(str(srv.server_address[1]))
import os; os.rename(f"{tmp}/{name}.port.tmp", f"{tmp}/{name}.port")
srv.serve_forever()
PY
	pids+=($!)
	for _ in $(seq 200); do [ -s "$tmp/$1.port" ] && return; sleep 0.05; done
	echo "FAIL: https server $1 did not start"; exit 1
}
serve good
serve other

engine() { # engine NAME ARGS...: an engine; its port in $eport
	start "$1" engine --speed 0 --model internvl-2.5-26b "${@:2}"
	eval "eport=\$port_$1"
}

ask() { # ask ENGINE_PORT URL: status in $status, body in $tmp/r.json
	printf '{"messages":[{"role":"user","content":[{"type":"text","text":"see"},{"type":"image_url","image_url":{"url":"%s"}}]}],"max_tokens":2}' "$2" >"$tmp/req.json"
	status=$(timeout 30 curl -s -o "$tmp/r.json" -w '%{http_code}' -H 'Content-Type: application/json' \
		--data-binary @"$tmp/req.json" "http://127.0.0.1:$1/v1/chat/completions")
}
good=https://127.0.0.1:$(cat "$tmp/good.port")/a.png
other=https://127.0.0.1:$(cat "$tmp/other.port")/a.png

engine trusted --ca-file "$tmp/good.pem"
ask "$eport" "$good"
[ "$status" = 200 ] || bad "trusted: status $status $(head -c 300 "$tmp/r.json")"
python3 -c "import json,sys; u=json.load(open(sys.argv[1]))['usage']; sys.exit(0 if u['prompt_tokens']==1+4*256 else 1)" \
	"$tmp/r.json" 2>/dev/null || bad "trusted: the fetched image's tiles are not in usage: $(head -c 300 "$tmp/r.json")"
ask "$eport" "${good%a.png}nope.png"
[ "$status" = 400 ] && grep -q "status not 200" "$tmp/r.json" || bad "404 behind https: $status"
# the certificate names 127.0.0.2, the server is at 127.0.0.1: refused even with that CA
engine wrongip --ca-file "$tmp/other.pem"
ask "$eport" "$other"
[ "$status" = 400 ] && grep -q "cannot fetch https://127.0.0.1.*TLS: certificate verify failed" "$tmp/r.json" ||
	bad "certificate for another address: $status $(head -c 300 "$tmp/r.json")"

engine system
ask "$eport" "$good"
[ "$status" = 400 ] && grep -q "TLS: certificate verify failed" "$tmp/r.json" ||
	bad "self-signed against the system CAs: $status $(head -c 300 "$tmp/r.json")"
grep -q '"param": *"image_url"' "$tmp/r.json" || bad "the 400 does not name image_url"

engine insecure --insecure-tls
ask "$eport" "$other"
[ "$status" = 200 ] || bad "--insecure-tls: status $status $(head -c 300 "$tmp/r.json")"

timeout 30 "$bin" engine --port 0 --ca-file "$tmp/missing.pem" 2>"$tmp/ca.err"; rc=$?
[ $rc -eq 1 ] && grep -q "missing.pem: cannot load the CA certificates" "$tmp/ca.err" ||
	bad "bad --ca-file: rc=$rc $(head -1 "$tmp/ca.err")"
[ $fail -eq 0 ] && echo "t_https: ok"
exit $fail
