#!/bin/bash
# `modserve trace synth`: determinism, --days, gzip output, usage errors; pandas cross-check.
set -u
T="$MS_TMP/t_synth"; rm -rf "$T"; mkdir -p "$T"
fail() { echo "FAIL: $*"; exit 1; }

"$MS_BIN" trace synth --requests 20000 --seed 5 --out "$T/a.csv" || fail "synth a"
"$MS_BIN" trace synth --requests 20000 --seed 5 --out "$T/b.csv" || fail "synth b"
"$MS_BIN" trace synth --requests 20000 --seed 6 --out "$T/c.csv" || fail "synth c"
cmp -s "$T/a.csv" "$T/b.csv" || fail "same seed differs"
cmp -s "$T/a.csv" "$T/c.csv" && fail "different seed, same bytes"
"$MS_BIN" trace synth --requests 20000 --seed 5 --out "$T/a.csv.gz" || fail "synth gz"
zcat "$T/a.csv.gz" | cmp -s - "$T/a.csv" || fail "gz content differs from plain"
"$MS_BIN" trace synth --requests 20000 --seed 5 --out - | cmp -s - "$T/a.csv" || fail "stdout differs"
# a device is written in place, never replaced by a renamed temporary file
"$MS_BIN" trace synth --requests 100 --out /dev/null || fail "synth to /dev/null"
[ -c /dev/null ] || fail "/dev/null is no longer a character device"
[ "$(head -1 "$T/a.csv")" = "TIMESTAMP,NumImages,ContextTokens,GeneratedTokens" ] || fail header
[ "$(wc -l < "$T/a.csv")" -eq 20001 ] || fail "row count"

# --days sets the span; pandas reads the file independently
"$MS_BIN" trace synth --requests 5000 --days 2 --out "$T/d.csv" || fail "synth days"
/usr/bin/python3 - "$T/d.csv" <<'PY' || fail "pandas check"
import sys, pandas as pd
d = pd.read_csv(sys.argv[1])
t = pd.to_datetime(d.TIMESTAMP)
assert len(d) == 5000, len(d)
assert t.is_monotonic_increasing
span = (t.iloc[-1] - t.iloc[0]).total_seconds()
assert 2 * 86400 - 3600 < span <= 2 * 86400, span
assert str(t.iloc[0]).startswith("2024-10-15 12:0"), t.iloc[0]
assert 0.4 < (d.NumImages > 0).mean() < 0.7
PY

# usage errors: exit 2 with a message; --help exit 0 on stdout
"$MS_BIN" trace synth --requests 0 --out "$T/x.csv" 2>"$T/err"; [ $? -eq 2 ] || fail "requests 0"
grep -q -- "--requests: expected an integer from 1 to 4294967295, got '0'" "$T/err" || fail "requests message: $(cat "$T/err")"
"$MS_BIN" trace synth --requests 10 2>"$T/err"; [ $? -eq 2 ] || fail "no --out"
"$MS_BIN" trace synth --days -1 --out "$T/x.csv" 2>"$T/err"; [ $? -eq 2 ] || fail "days -1"
# range messages read like `modserve sim`'s: option, range, what was given
grep -q -- "--days: expected a number > 0 and <= 3650, got '-1'" "$T/err" || fail "days message: $(cat "$T/err")"
"$MS_BIN" trace synth --seed x --out "$T/x.csv" 2>"$T/err"; [ $? -eq 2 ] || fail "seed x"
grep -q -- "--seed: expected an integer from 0 to 18446744073709551615, got 'x'" "$T/err" || fail "seed message: $(cat "$T/err")"
"$MS_BIN" trace synth --requests 10 --out "" 2>"$T/err"; [ $? -eq 2 ] || fail "empty --out exit"
grep -q "empty" "$T/err" || fail "empty --out message: $(cat "$T/err")"
"$MS_BIN" trace synth --help >"$T/out" || fail "help exit"
grep -q "usage: modserve trace synth" "$T/out" || fail "help text"
# a bad parameter file is a runtime failure naming file and line
printf 'image_share = 2\n' >"$T/bad.conf"
"$MS_BIN" trace synth --params "$T/bad.conf" --requests 10 --out "$T/x.csv" 2>"$T/err"
[ $? -eq 1 ] || fail "bad params exit"
grep -q "bad.conf" "$T/err" || fail "bad params message: $(cat "$T/err")"
[ -e "$T/x.csv" ] && fail "output written despite error"
echo ok
