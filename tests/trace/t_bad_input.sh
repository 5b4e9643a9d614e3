#!/usr/bin/env bash
# Bad trace input through the real binary: exit status 1, one `file:line: column: what`
# line on stderr, never a crash; --skip-bad loads the good rows and reports the rest.
set -u
bin=${MS_BIN:?}
tmp=${MS_TMP:-/tmp}/t_bad_input.$$
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
fail=0
hdr='TIMESTAMP,NumImages,ContextTokens,GeneratedTokens'

# expect_err FILE EXPECTED-STDERR-SUBSTRING
expect_err() {
	"$bin" trace stats "$1" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ $rc -ne 1 ] || ! grep -qF -- "$2" "$tmp/err"; then
		echo "FAIL: $1: rc=$rc, wanted 1 and '$2', stderr:"; cat "$tmp/err"; fail=1
	fi
}

printf '%s\n2024-10-15T12:00:00.000Z,1,2,3\n2024-10-15T12:00:01.000Z,1,2\n' "$hdr" >"$tmp/fields.csv"
expect_err "$tmp/fields.csv" "fields.csv:3: wrong number of fields: expected 4"
printf '%s\n2024-10-15T12:00:00.000Z,1,12a,3\n' "$hdr" >"$tmp/nan.csv"
expect_err "$tmp/nan.csv" "nan.csv:2: ContextTokens: not a number: '12a'"
printf '%s\n2024-10-15T12:00:00.000Z,-3,12,3\n' "$hdr" >"$tmp/neg.csv"
expect_err "$tmp/neg.csv" "neg.csv:2: NumImages: negative value: '-3'"
printf '%s\n2024-10-15T12:00:00.000Z,3,12,99999999999999\n' "$hdr" >"$tmp/ovf.csv"
expect_err "$tmp/ovf.csv" "ovf.csv:2: GeneratedTokens: value too large"
printf '%s\n2024-13-15T12:00:00.000Z,3,12,9\n' "$hdr" >"$tmp/ts.csv"
expect_err "$tmp/ts.csv" "ts.csv:2: TIMESTAMP: bad timestamp: '2024-13-15T12:00:00.000Z'"
printf '%s\n2024-10-15T12:00:01.000Z,3,12,9\n2024-10-15T12:00:00.000Z,3,12,9\n' "$hdr" >"$tmp/order.csv"
expect_err "$tmp/order.csv" "order.csv:3: TIMESTAMP: timestamp earlier than the row before"
: >"$tmp/empty.csv"
expect_err "$tmp/empty.csv" "empty.csv: empty file"
printf '2024-10-15T12:00:00.000Z,1,2,3\n' >"$tmp/nohdr.csv"
expect_err "$tmp/nohdr.csv" "nohdr.csv:1: missing header"
seq 1 20000 | awk -v h="$hdr" 'BEGIN{print h} {printf "2024-10-15T%02d:%02d:%02d.000Z,1,%d,5\n", 12+int($1/3600), int($1/60)%60, $1%60, $1}' | gzip -c >"$tmp/full.csv.gz"
head -c 20000 "$tmp/full.csv.gz" >"$tmp/trunc.csv.gz"
expect_err "$tmp/trunc.csv.gz" "trunc.csv.gz: truncated gzip stream"
expect_err "$tmp/missing.csv" "missing.csv: cannot open"

# CRLF and BOM load like plain files
printf '\xef\xbb\xbf%s\r\n2024-10-15T12:00:00.000Z,1,2,3\r\n2024-10-15T12:00:01.000Z,0,5,6\r\n' "$hdr" >"$tmp/crlf.csv"
if ! "$bin" trace stats "$tmp/crlf.csv" --json >"$tmp/out" 2>"$tmp/err"; then
	echo "FAIL: crlf.csv did not load:"; cat "$tmp/err"; fail=1
fi

# --skip-bad: good rows kept, bad ones counted by reason on stderr
printf '%s\n2024-10-15T12:00:00.000Z,1,2,3\nx,1,2,3\n2024-10-15T12:00:01.000Z,1,2\n2024-10-15T12:00:02.000Z,0,7,8\n' "$hdr" >"$tmp/mixed.csv"
"$bin" trace stats "$tmp/mixed.csv" --skip-bad --json >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ $rc -ne 0 ] || ! grep -q "skipped 2 bad rows of 4" "$tmp/err" ||
   ! grep -q "1  bad timestamp" "$tmp/err" || ! grep -q "1  wrong number of fields" "$tmp/err"; then
	echo "FAIL: --skip-bad: rc=$rc stderr:"; cat "$tmp/err"; fail=1
fi
if ! /usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["rows"]==2 else 1)' "$tmp/out"; then
	echo "FAIL: --skip-bad did not keep exactly the 2 good rows"; fail=1
fi

[ $fail -eq 0 ] && echo "t_bad_input: all passed"
exit $fail
