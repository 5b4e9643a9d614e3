#!/bin/bash
# `modserve trace plot` and `trace report`: 14 figure files (PNG magic, SVG), and an
# index.html that references every figure by relative path.
set -u
: "${MS_BIN:?}" "${MS_TMP:=/tmp}"
if [ -z "${MS_TESTDATA:-}" ] || [ ! -d "$MS_TESTDATA/data" ]; then
	echo "FAIL: MS_TESTDATA/data not found (${MS_TESTDATA:-unset})"
	exit 1
fi
work=$(mktemp -d "$MS_TMP/trace_report.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail=0
names="0-images-per-request-cdf 1-input-tokens-cdf 2-generated-tokens-cdf
 3-invocations-per-minute 4-images-per-minute 5-input-tokens-per-minute
 6-output-tokens-per-minute"
check_figs() {
	local dir=$1 n
	for n in $names; do
		for ext in png svg; do
			if [ ! -s "$dir/$n.$ext" ]; then
				echo "FAIL: $dir/$n.$ext missing or empty"
				fail=1
			fi
		done
		if [ "$(head -c 8 "$dir/$n.png" | od -An -tx1 | tr -d ' \n')" != "89504e470d0a1a0a" ]; then
			echo "FAIL: $dir/$n.png: not PNG"
			fail=1
		fi
		grep -q '<svg' "$dir/$n.svg" || { echo "FAIL: $dir/$n.svg: no <svg"; fail=1; }
		grep -q '</svg>' "$dir/$n.svg" || { echo "FAIL: $dir/$n.svg: not closed"; fail=1; }
	done
	[ "$(ls "$dir" | grep -c -E '\.(png|svg)$')" -eq 14 ] || { echo "FAIL: $dir: not 14 figures"; fail=1; }
}
win="$MS_TESTDATA/data/azure-lmm-2025-windows/window-2024-10-21T1216.csv"
"$MS_BIN" trace plot "$win" --out "$work/plot/sub" >"$work/plot.out" || { echo "FAIL: trace plot exited $?"; fail=1; }
check_figs "$work/plot/sub"
[ "$(wc -l <"$work/plot.out")" -eq 14 ] || { echo "FAIL: trace plot should list 14 files"; fail=1; }
# The titles and legends are in the SVG text.
grep -q 'Image Requests' "$work/plot/sub/1-input-tokens-cdf.svg" &&
	grep -q 'Text Requests' "$work/plot/sub/1-input-tokens-cdf.svg" &&
	grep -q 'Input Tokens' "$work/plot/sub/1-input-tokens-cdf.svg" ||
	{ echo "FAIL: input tokens CDF lacks legend or title"; fail=1; }
grep -q '2024-10-21' "$work/plot/sub/3-invocations-per-minute.svg" ||
	{ echo "FAIL: time series lacks readable dates"; fail=1; }

# report on a text-only trace: the image figures are empty but present
txt="$MS_TESTDATA/data/azure-llm-2023/AzureLLMInferenceTrace_code.csv"
"$MS_BIN" trace report "$txt" --out "$work/rep" >/dev/null || { echo "FAIL: trace report exited $?"; fail=1; }
check_figs "$work/rep"
html="$work/rep/index.html"
[ -s "$html" ] || { echo "FAIL: no index.html"; fail=1; }
for n in $names; do
	grep -q "src=\"$n.png\"" "$html" || { echo "FAIL: index.html lacks $n.png"; fail=1; }
	grep -q "href=\"$n.svg\"" "$html" || { echo "FAIL: index.html lacks $n.svg"; fail=1; }
done
grep -q '<table>' "$html" && grep -q '8819' "$html" || { echo "FAIL: index.html lacks the stats table"; fail=1; }

# usage and runtime failures
"$MS_BIN" trace plot "$win" >/dev/null 2>&1; [ $? -eq 2 ] || { echo "FAIL: missing --out should exit 2"; fail=1; }
"$MS_BIN" trace report --help | grep -q 'index.html' || { echo "FAIL: report --help"; fail=1; }
# --out must name a directory: not empty, not stdout (it used to make a directory "-")
for v in plot report; do
	for o in "" "-"; do
		(cd "$work" && "$MS_BIN" trace $v "$win" --out "$o" >/dev/null 2>&1); rc=$?
		[ $rc -eq 2 ] || { echo "FAIL: trace $v --out '$o' exited $rc"; fail=1; }
	done
done
[ -e "$work/-" ] && { echo "FAIL: a directory named - was made"; fail=1; }
# a trace too long to bucket: the message names the file
printf 'TIMESTAMP,NumImages,ContextTokens,GeneratedTokens\n2000-01-01T00:00:00Z,1,10,5\n2024-01-01T00:00:00Z,0,10,5\n' >"$work/long.csv"
"$MS_BIN" trace plot "$work/long.csv" --out "$work/long" >/dev/null 2>"$work/err"; rc=$?
[ $rc -eq 1 ] && grep -q "long.csv: trace spans" "$work/err" ||
	{ echo "FAIL: long trace: exit $rc, $(cat "$work/err")"; fail=1; }
# empty CDFs (no image requests in a text-only trace) keep the 0-100 percent axis and
# show no empty legend box
# (gnuplot's SVG draws an opaque key as a filled polygon; a full CDF has one)
e="$work/rep/0-images-per-request-cdf.svg"
grep -q '> *100<' "$e" || { echo "FAIL: empty CDF lacks the 100 percent tick"; fail=1; }
grep -q "<polygon fill = " "$work/rep/1-input-tokens-cdf.svg" ||
	{ echo "FAIL: full CDF has no key box (check the SVG signature)"; fail=1; }
grep -q "<polygon fill = " "$e" && { echo "FAIL: empty CDF shows a legend box"; fail=1; }
MS_GNUPLOT=/nonexistent/gnuplot "$MS_BIN" trace plot "$win" --out "$work/x" 2>"$work/err"
rc=$?
[ $rc -eq 1 ] && grep -q 'not found' "$work/err" || { echo "FAIL: missing gnuplot: exit $rc, $(cat "$work/err")"; fail=1; }
exit $fail
