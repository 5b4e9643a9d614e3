#!/bin/bash
# `modserve trace stats --json` against an independent pandas computation
# (tests/trace/stats_ref.py) on real traces and a synthetic one: every number equal
# (integers exactly, floats to 1e-9 relative).
set -u
PY=/usr/bin/python3
: "${MS_BIN:?}" "${MS_SRC_DIR:?}" "${MS_TMP:=/tmp}"
if [ -z "${MS_TESTDATA:-}" ] || [ ! -d "$MS_TESTDATA/data" ]; then
	echo "FAIL: MS_TESTDATA/data not found (${MS_TESTDATA:-unset}): no real traces to compare"
	exit 1
fi
if ! "$PY" -c 'import pandas' 2>/dev/null; then
	echo "FAIL: $PY has no pandas"
	exit 1
fi
work=$(mktemp -d "$MS_TMP/stats_pandas.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail=0
check() {
	local f=$1 out="$work/$(basename "$1").json"
	if ! "$MS_BIN" trace stats --json "$f" >"$out"; then
		echo "FAIL: modserve trace stats --json $f exited non-zero"
		fail=1
		return
	fi
	"$PY" "$MS_SRC_DIR/tests/trace/stats_ref.py" "$f" "$out" || fail=1
}
n=0
for f in "$MS_TESTDATA"/data/azure-lmm-2025-windows/*.csv "$MS_TESTDATA"/data/azure-llm-2023/*.csv; do
	[ -f "$f" ] || continue
	check "$f"
	n=$((n + 1))
done
if [ "$n" -lt 3 ]; then
	echo "FAIL: expected the two LMM windows and a 2023 trace, found $n files"
	fail=1
fi
# Synthetic week slice: exercises many minutes and long image tails.
if "$MS_BIN" trace synth --requests 50000 --seed 7 --out "$work/synth.csv.gz" 2>"$work/synth.err"; then
	check "$work/synth.csv.gz"
else
	echo "NOTE: trace synth not available, synthetic case skipped: $(head -c 200 "$work/synth.err")"
fi
# The text table is printed too and names the busiest minute.
if ! "$MS_BIN" trace stats "$MS_TESTDATA/data/azure-lmm-2025-windows/window-2024-10-16T0836.csv" |
	grep -q 'busiest minute 2024-10-16T'; then
	echo "FAIL: text output lacks the busiest minute"
	fail=1
fi
# The human table has no always-zero "text images" row, says why, and pluralizes.
W="$MS_TESTDATA/data/azure-lmm-2025-windows/window-2024-10-16T0836.csv"
"$MS_BIN" trace stats "$W" >"$work/table.txt"
if grep -q '^  text images ' "$work/table.txt" || ! grep -q 'no "text images" row' "$work/table.txt"; then
	echo "FAIL: text table: text images row or its footnote"
	fail=1
fi
"$MS_BIN" trace stats --json "$W" | /usr/bin/python3 -c '
import json, sys
assert json.load(sys.stdin)["per_minute"]["text"]["images"]["max"] == 0' ||
	{ echo "FAIL: JSON lost per_minute.text.images"; fail=1; }
printf 'TIMESTAMP,NumImages,ContextTokens,GeneratedTokens\n2024-10-16T08:36:00.000Z,1,10,5\n' >"$work/one.csv"
"$MS_BIN" trace stats "$work/one.csv" | grep -q ', 1 minute)' || { echo "FAIL: 1 minute(s)"; fail=1; }
# a trace too long to bucket: the message names the file
printf 'TIMESTAMP,NumImages,ContextTokens,GeneratedTokens\n2000-01-01T00:00:00Z,1,10,5\n2024-01-01T00:00:00Z,0,10,5\n' >"$work/long.csv"
"$MS_BIN" trace stats "$work/long.csv" >/dev/null 2>"$work/long.err"; rc=$?
if [ $rc -ne 1 ] || ! grep -q "long.csv: trace spans .* minutes" "$work/long.err"; then
	echo "FAIL: long trace: exit $rc, $(cat "$work/long.err")"
	fail=1
fi
# Usage errors exit 2, --help exits 0 on stdout.
"$MS_BIN" trace stats >/dev/null 2>&1; [ $? -eq 2 ] || { echo "FAIL: no FILE should exit 2"; fail=1; }
"$MS_BIN" trace stats --help | grep -q 'q\*(n-1)' || { echo "FAIL: --help lacks definitions"; fail=1; }
"$MS_BIN" trace stats "$work/missing.csv" >/dev/null 2>&1; [ $? -eq 1 ] || { echo "FAIL: missing file should exit 1"; fail=1; }
exit $fail
