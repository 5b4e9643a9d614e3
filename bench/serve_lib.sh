# Helpers of bench/serve.sh, serve_routing.sh and serve_autoscale.sh (sourced, not run):
# processes on 127.0.0.1 ports they pick, a phased trace in the LMM 2025 format.
# Needs: bin (the modserve binary), tmp (a scratch directory).
pids=()
stop_all() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; pids=(); }

start() { # start NAME ARGS...: runs modserve ARGS --port 0; sets port_NAME
	local name=$1 port=
	shift
	timeout --foreground 900 "$bin" "$@" --port 0 2>"$tmp/$name.err" &
	pids+=($!)
	for _ in $(seq 200); do
		port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$tmp/$name.err" 2>/dev/null)
		[ -n "$port" ] && break
		sleep 0.05
	done
	[ -n "$port" ] || { cat "$tmp/$name.err" >&2; exit 1; }
	eval "port_$name=$port"
}

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# start_pool NAME N ARGS...: N engines (NAME1..NAMEN); sets urls_NAME ("http://..., ...")
start_pool() {
	local name=$1 n=$2 i u=
	shift 2
	for i in $(seq "$n"); do
		start "$name$i" engine "$@"
		eval "u=\"\$u\${u:+, }http://127.0.0.1:\$port_$name$i\""
	done
	eval "urls_$name=\"\$u\""
}

# trace SEED PHASE...: writes the trace to stdout; PHASE = FROM:TO:TEXT_RPS:IMAGE_RPS
# (seconds, Poisson arrivals). Text prompts log-normal around 900 tokens (50 to 12,000);
# image requests 1 to 8 images (about 2.7 on average), 20-300 text tokens besides the
# trace's 85 per image; 16-64 generated tokens. Deterministic for a seed.
trace() {
	python3 - "$@" <<'PY'
import math, random, sys
rng = random.Random(int(sys.argv[1]))
rows = []
for ph in sys.argv[2:]:
    a, b, trps, irps = (float(x) for x in ph.split(":"))
    for rps, img in ((trps, 0), (irps, 1)):
        t = a
        while rps > 0:
            t += rng.expovariate(rps)
            if t >= b: break
            if img:
                n = min(8, 1 + int(rng.expovariate(0.45)))
                rows.append((t, n, n * 85 + rng.randint(20, 300), rng.randint(16, 64)))
            else:
                ctx = min(12000, max(50, int(rng.lognormvariate(math.log(900), 0.9))))
                rows.append((t, 0, ctx, rng.randint(16, 64)))
rows.sort()
print("TIMESTAMP,NumImages,ContextTokens,GeneratedTokens")
for t, n, c, g in rows:
    ms = int(round(t * 1000))
    print("2024-10-15T12:%02d:%02d.%03dZ,%d,%d,%d" % (ms // 60000, ms // 1000 % 60, ms % 1000, n, c, g))
PY
}
trace_counts() { # trace_counts FILE: "text image images"
	awk -F, 'NR > 1 { if ($2 > 0) { i++; k += $2 } else t++ } END { print t + 0, i + 0, k + 0 }' "$1"
}
