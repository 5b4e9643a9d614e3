#!/usr/bin/env bash
# Numeric option values on every command: what strtoull/strtod would quietly take (a
# leading space, a sign after it, a plus) is refused with the one option error style,
# and a seed the JSON cannot hold is refused instead of being reported wrong (issue 10:
# `--seed " -1"` was accepted and reported as -1).
set -u
bin=${MS_BIN:?}
tmp=${MS_TMP:-/tmp}/t_options.$$
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
W="$MS_TESTDATA/data/azure-lmm-2025-windows/window-2024-10-16T0836.csv"

# CMD... OPTION VALUE exits 2 with `OPTION: expected WANT..., got 'VALUE'`
refuses() { # refuses OPTION VALUE EXPECT CMD...
	opt=$1 val=$2 want=$3
	shift 3
	"$@" "$opt" "$val" >/dev/null 2>"$tmp/err"; rc=$?
	[ $rc -eq 2 ] || { bad "$* $opt '$val': exit $rc, wanted 2"; return; }
	grep -F -- "$opt: expected $want" "$tmp/err" | grep -qF -- ", got '$val'" ||
		bad "$* $opt '$val': message: $(head -1 "$tmp/err")"
}

for v in " -1" "-1" " 1" "+1" "1 " "" " " "0x10" "1e3" "-0"; do
	refuses --seed "$v" "an integer from 0 to 9223372036854775807" "$bin" sim --synth 100
	refuses --seed "$v" "an integer from 0 to 18446744073709551615" "$bin" trace synth --requests 10 --out "$tmp/x.csv"
	refuses --seed "$v" "an integer from 0 to 18446744073709551615" "$bin" trace slice "$W" --sample 0.5 --out "$tmp/x.csv"
	refuses --gpus "$v" "an integer from 1 to" "$bin" sim --synth 100
	refuses --requests "$v" "an integer from 1 to" "$bin" trace synth --out "$tmp/x.csv"
done
[ -e "$tmp/x.csv" ] && bad "output written after a usage error"
# 2^63 does not fit the JSON report's integer; 2^64 does not fit at all
refuses --seed 9223372036854775808 "an integer from 0 to 9223372036854775807" "$bin" sim --synth 100
refuses --seed 18446744073709551616 "an integer from 0 to 18446744073709551615" "$bin" trace synth --requests 10 --out "$tmp/x.csv"
for v in " 3" " -3" "-3" "3x" ""; do
	refuses --rate-scale "$v" "a number > 0" "$bin" sim --synth 100
done

# what is accepted is reported as given
"$bin" sim --synth 200 --gpus 8 --seed 9223372036854775807 --json >"$tmp/j" 2>/dev/null ||
	bad "largest seed refused"
/usr/bin/python3 - "$tmp/j" <<'PY' || bad "largest seed not reported as given"
import json, sys
j = json.load(open(sys.argv[1]))
seeds = []
def walk(o):
    if isinstance(o, dict):
        for k, v in o.items():
            if k == "seed":
                seeds.append(v)
            walk(v)
    elif isinstance(o, list):
        for v in o:
            walk(v)
walk(j)
assert seeds and all(s == 9223372036854775807 for s in seeds), seeds
PY
"$bin" sim --synth 200 --gpus 8 --seed 0 >"$tmp/t" 2>/dev/null || bad "seed 0 refused"
"$bin" trace synth --requests 10 --seed 18446744073709551615 --out "$tmp/y.csv" 2>/dev/null ||
	bad "trace synth: largest seed refused"
[ $fail -eq 0 ] && echo ok
exit $fail
