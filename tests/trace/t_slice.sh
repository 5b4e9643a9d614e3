#!/bin/bash
# `modserve trace slice`: windows, rate scale, sampling, formats; results load again (pandas).
set -u
T="$MS_TMP/t_slice"; rm -rf "$T"; mkdir -p "$T"
W="$MS_TESTDATA/data/azure-lmm-2025-windows/window-2024-10-16T0836.csv"
C="$MS_TESTDATA/data/azure-llm-2023/AzureLLMInferenceTrace_conv.csv"
fail() { echo "FAIL: $*"; exit 1; }

# no options: byte-identical copy
"$MS_BIN" trace slice "$W" --out "$T/all.csv" 2>/dev/null || fail "copy"
cmp -s "$W" "$T/all.csv" || fail "plain slice is not a copy"

# absolute --from and offset --to, checked against pandas on the source
"$MS_BIN" trace slice "$W" --from 2024-10-16T08:38:00Z --to 5m --out "$T/w.csv.gz" 2>/dev/null || fail window
"$MS_BIN" trace slice "$W" --rate-scale 2 --out "$T/k.csv" 2>/dev/null || fail rate
"$MS_BIN" trace slice "$W" --sample 0.3 --seed 9 --out "$T/s1.csv" 2>/dev/null || fail sample
"$MS_BIN" trace slice "$W" --sample 0.3 --seed 9 --out "$T/s2.csv" 2>/dev/null || fail sample2
cmp -s "$T/s1.csv" "$T/s2.csv" || fail "sampling not deterministic"
"$MS_BIN" trace slice "$C" --from 10m --to 20m --out "$T/c.csv" 2>/dev/null || fail "2023 format"
/usr/bin/python3 - "$W" "$T" "$C" <<'PY' || fail "pandas check"
import sys, pandas as pd
src, T, csrc = sys.argv[1], sys.argv[2], sys.argv[3]
d = pd.read_csv(src); d["t"] = pd.to_datetime(d.TIMESTAMP)
t0 = d.t.iloc[0]
w = pd.read_csv(T + "/w.csv.gz"); w["t"] = pd.to_datetime(w.TIMESTAMP)
ref = d[(d.t >= pd.Timestamp("2024-10-16T08:38:00Z")) & (d.t < t0 + pd.Timedelta(minutes=5))]
assert len(w) == len(ref) > 0, (len(w), len(ref))
assert (w.TIMESTAMP.values == ref.TIMESTAMP.values).all()
assert (w.ContextTokens.values == ref.ContextTokens.values).all()
k = pd.read_csv(T + "/k.csv"); k["t"] = pd.to_datetime(k.TIMESTAMP)
assert len(k) == len(d) and k.t.iloc[0] == t0
off = (k.t - t0).dt.total_seconds(); ref = (d.t - t0).dt.total_seconds() / 2
assert (abs(off - ref) <= 0.0006).all(), abs(off - ref).max()
s = pd.read_csv(T + "/s1.csv")
assert 450 < len(s) < 750, len(s)
assert set(s.TIMESTAMP) <= set(d.TIMESTAMP)
c = pd.read_csv(csrc); c["t"] = pd.to_datetime(c.TIMESTAMP)
o = pd.read_csv(T + "/c.csv")
assert list(o.columns) == ["TIMESTAMP", "ContextTokens", "GeneratedTokens"]
cref = c[(c.t >= c.t.iloc[0] + pd.Timedelta(minutes=10)) & (c.t < c.t.iloc[0] + pd.Timedelta(minutes=20))]
assert len(o) == len(cref) > 0 and (o.TIMESTAMP.values == cref.TIMESTAMP.values).all()
PY
# the slice is a valid trace for modserve too: slice it again
"$MS_BIN" trace slice "$T/w.csv.gz" --out "$T/w2.csv" 2>/dev/null || fail "reload slice"
[ "$(wc -l < "$T/w2.csv")" -eq "$(zcat "$T/w.csv.gz" | wc -l)" ] || fail "reload count"

# mixed precision (issue 10): a whole-second first row must not cut later, finer rows;
# every row is written with the finest precision seen and keeps its time
printf 'TIMESTAMP,NumImages,ContextTokens,GeneratedTokens\n2024-10-15T12:00:00Z,1,10,5\n2024-10-15T12:00:00.750Z,0,20,6\n2024-10-15T12:00:02.5Z,2,30,7\n' > "$T/mixed.csv"
"$MS_BIN" trace slice "$T/mixed.csv" --out "$T/mixed-out.csv" 2>/dev/null || fail "mixed precision slice"
printf 'TIMESTAMP,NumImages,ContextTokens,GeneratedTokens\n2024-10-15T12:00:00.000Z,1,10,5\n2024-10-15T12:00:00.750Z,0,20,6\n2024-10-15T12:00:02.500Z,2,30,7\n' > "$T/mixed-want.csv"
cmp -s "$T/mixed-out.csv" "$T/mixed-want.csv" || fail "mixed precision cut: $(cat "$T/mixed-out.csv")"
"$MS_BIN" trace slice "$T/mixed.csv" --from 1s --out "$T/mixed-from.csv" 2>/dev/null || fail "mixed --from"
grep -q "^2024-10-15T12:00:02.500Z,2,30,7$" "$T/mixed-from.csv" || fail "mixed --from: $(cat "$T/mixed-from.csv")"

# errors
"$MS_BIN" trace slice "$W" --from 5x --out "$T/x.csv" 2>"$T/err"; [ $? -eq 2 ] || fail "bad --from exit"
grep -q "not an offset" "$T/err" || fail "bad --from message"
"$MS_BIN" trace slice "$W" --from 2m --to 1m --out "$T/x.csv" 2>/dev/null; [ $? -eq 2 ] || fail "to<from"
"$MS_BIN" trace slice "$W" --sample 1.5 --out "$T/x.csv" 2>/dev/null; [ $? -eq 2 ] || fail "sample>1"
"$MS_BIN" trace slice "$W" --rate-scale 0 --out "$T/x.csv" 2>/dev/null; [ $? -eq 2 ] || fail "rate 0"
"$MS_BIN" trace slice "$W" 2>/dev/null; [ $? -eq 2 ] || fail "no --out"
"$MS_BIN" trace slice "$W" --from 1d --out "$T/x.csv" 2>"$T/err"; [ $? -eq 1 ] || fail "empty slice exit"
grep -q "no rows left" "$T/err" || fail "empty slice message"
"$MS_BIN" trace slice "$T/missing.csv" --out "$T/x.csv" 2>/dev/null; [ $? -eq 1 ] || fail "missing input"
[ -e "$T/x.csv" ] && fail "output written on error"
"$MS_BIN" trace slice --help | grep -q "usage: modserve trace slice" || fail help
# the help says what the output's columns are, not "FILE's format"
"$MS_BIN" trace slice --help | tr '\n' ' ' | tr -s ' ' | grep -q "canonical column order; other columns are not kept" ||
	fail "help on column order"

# a rate scale that stretches the trace past 2200 is refused before writing (it used
# to wrap the times into a file that did not load again)
rm -f "$T/x.csv"
"$MS_BIN" trace slice "$W" --rate-scale 1e-9 --out "$T/x.csv" 2>"$T/err"; [ $? -eq 1 ] || fail "rate 1e-9 exit"
grep -q "stretches the trace to .* years; the result would end after 2200" "$T/err" || fail "rate 1e-9 message: $(cat "$T/err")"
grep -q "window-2024-10-16T0836.csv" "$T/err" || fail "rate 1e-9 message names no file"
[ -e "$T/x.csv" ] || [ -e "$T/x.csv.tmp" ] && fail "output written for rate 1e-9"
# a large stretch that still fits is written and loads again
"$MS_BIN" trace slice "$W" --rate-scale 1e-5 --out "$T/slow.csv" 2>/dev/null || fail "rate 1e-5"
"$MS_BIN" trace stats "$T/slow.csv" >/dev/null || fail "rate 1e-5 output does not load"
for k in inf nan -1 -inf 1e10; do
	"$MS_BIN" trace slice "$W" --rate-scale "$k" --out "$T/x.csv" 2>/dev/null; [ $? -eq 2 ] || fail "rate $k"
done
# range messages read like `modserve sim`'s: option, range, what was given
"$MS_BIN" trace slice "$W" --rate-scale 1e10 --out "$T/x.csv" 2>"$T/err"
grep -q -- "--rate-scale: expected a number > 0 and <= 1e+09, got '1e10'" "$T/err" || fail "rate message: $(cat "$T/err")"
"$MS_BIN" trace slice "$W" --sample 2 --out "$T/x.csv" 2>"$T/err"; [ $? -eq 2 ] || fail "sample 2"
grep -q -- "--sample: expected a number from 0 to 1, got '2'" "$T/err" || fail "sample message: $(cat "$T/err")"
"$MS_BIN" trace slice "$W" --sample 0.5 --seed -3 --out "$T/x.csv" 2>"$T/err"; [ $? -eq 2 ] || fail "seed -3"
grep -q -- "--seed: expected an integer from 0 to 18446744073709551615, got '-3'" "$T/err" || fail "seed message: $(cat "$T/err")"
# an empty output name is a usage error
"$MS_BIN" trace slice "$W" --out "" 2>"$T/err"; [ $? -eq 2 ] || fail "empty --out exit"
grep -q "empty" "$T/err" || fail "empty --out message"
echo ok
