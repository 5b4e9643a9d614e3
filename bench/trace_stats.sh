#!/bin/bash
# Benchmark: `modserve trace stats FILE --json` (load a 1M-row .csv.gz + exact stats)
# against the same statistics in pandas. Not a CTest test: run by hand.
#
# usage: bench/trace_stats.sh [MODSERVE_BINARY]
#   env: BENCH_DIR (where the 1M-row trace is made or reused; default /tmp),
#        BENCH_ROWS (default 1000000)
# Prints best-of-3 wall seconds and peak RSS of each, their ratio, and modserve's
# peak RSS in bytes per request.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
BIN=${1:-${MS_BIN:-}}
if [ -z "$BIN" ]; then
	BIN=$here/../build/modserve # the release build; a sanitizer build would measure ASan
fi
[ -n "$BIN" ] && [ -x "$BIN" ] || { echo "usage: $0 MODSERVE_BINARY (build/modserve not built: bash scripts/build.sh)" >&2; exit 2; }
PY=/usr/bin/python3
ROWS=${BENCH_ROWS:-1000000}
DIR=${BENCH_DIR:-/tmp}
FILE="$DIR/modserve-bench-$ROWS-seed1.csv.gz"

if [ ! -s "$FILE" ]; then
	echo "making $FILE ($ROWS rows)"
	if ! "$BIN" trace synth --requests "$ROWS" --seed 1 --out "$FILE" 2>/dev/null; then
		echo "  (trace synth not available: python fallback generator)"
		"$PY" - "$FILE" "$ROWS" <<'PYEOF'
# Fallback: a week of rows shaped roughly like the Azure LMM trace (lognormal tokens,
# ~60% text, heavy-tailed image counts); only the size and format matter here.
import gzip, random, sys, datetime as dt
path, rows = sys.argv[1], int(sys.argv[2])
rnd = random.Random(1)
t0 = dt.datetime(2024, 10, 15, 12, 0, 0, tzinfo=dt.timezone.utc).timestamp()
step = 7 * 86400 / rows
with gzip.open(path, "wt", compresslevel=6) as f:
    f.write("TIMESTAMP,NumImages,ContextTokens,GeneratedTokens\n")
    t = t0
    for i in range(rows):
        t += rnd.expovariate(1 / step)
        img = 0 if rnd.random() < 0.6 else min(int(rnd.paretovariate(0.9)), 9000)
        ctx = int(rnd.lognormvariate(7.0 if img == 0 else 7.3, 1.0))
        gen = int(rnd.lognormvariate(4.7, 1.0))
        ms = int(round(t * 1000))
        s = dt.datetime.fromtimestamp(ms // 1000, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
        f.write(f"{s}.{ms % 1000:03d}Z,{img},{ctx},{gen}\n")
PYEOF
	fi
fi
echo "trace: $FILE ($(stat -c %s "$FILE") bytes)"

# run_best NAME CMD...: best of 3 wall seconds and the peak RSS (KiB) of that run
run_best() {
	local name=$1 best="" rss="" i out
	shift
	for i in 1 2 3; do
		out=$(/usr/bin/time -f '%e %M' "$@" 2>&1 >/dev/null | tail -1)
		local w=${out% *} r=${out#* }
		if [ -z "$best" ] || awk "BEGIN{exit !($w < $best)}"; then best=$w; rss=$r; fi
	done
	echo "$best $rss"
}
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time" >&2; exit 1; }
read -r ms_s ms_kb < <(run_best modserve "$BIN" trace stats "$FILE" --json)
read -r pd_s pd_kb < <(run_best pandas "$PY" "$here/trace_stats_pandas.py" "$FILE")
rows=$("$BIN" trace stats "$FILE" --json | "$PY" -c 'import json,sys;print(json.load(sys.stdin)["rows"])')
printf '%-28s %10s %12s\n' "" "wall s" "peak RSS MB"
printf '%-28s %10.3f %12.1f\n' "modserve trace stats --json" "$ms_s" "$(awk "BEGIN{print $ms_kb/1024}")"
printf '%-28s %10.3f %12.1f\n' "pandas (same numbers)" "$pd_s" "$(awk "BEGIN{print $pd_kb/1024}")"
awk "BEGIN{printf \"speed-up %.1fx; modserve peak RSS %.1f bytes/request (%d rows)\n\", $pd_s/($ms_s>0?$ms_s:0.001), $ms_kb*1024/$rows, $rows}"
