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

# The option table of engine, serve, bench and profile (cli_opts_parse): each integer's
# bounds (one past refused with both named, the bounds themselves taken), a number's
# range with NaN refused (serve's seconds and engine --speed once took 'nan'), and the
# common tail: -h/--help, an unknown option, a missing value, a value on a flag, an
# argument left over. What is taken goes on to the command's own "required" check.
req_engine="--port is required" req_serve="--config is required"
req_bench="--endpoint is required" req_profile="--endpoint and --out are required"
takes() { # takes OPTION VALUE CMD: parsed, then stopped by CMD's required option
	local opt=$1 val=$2 cmd=$3 want
	eval "want=\$req_$cmd"
	"$bin" "$cmd" "$opt" "$val" >/dev/null 2>"$tmp/err"; rc=$?
	[ $rc -eq 2 ] && grep -qF -- "$want" "$tmp/err" ||
		bad "$cmd $opt '$val' refused: exit $rc, $(head -1 "$tmp/err")"
}
ints() { # ints CMD OPTION LO HI
	local want="an integer from $3 to $4"
	[ "$3" -gt 0 ] && refuses "$2" $(($3 - 1)) "$want" "$bin" "$1"
	refuses "$2" $(($4 + 1)) "$want" "$bin" "$1"
	refuses "$2" x "$want" "$bin" "$1"
	[ "$1 $2" = "engine --port" ] && return # a port taken starts the engine
	takes "$2" "$3" "$1"
	takes "$2" "$4" "$1"
}
nums() { # nums CMD OPTION pos|from0 HI: > 0 and <= HI, or from 0 to HI
	local want="a number > 0 and <= $4" v
	[ "$3" = from0 ] && want="a number from 0 to $4"
	for v in nan -1 x 1e300; do refuses "$2" "$v" "$want" "$bin" "$1"; done
	if [ "$3" = from0 ]; then takes "$2" 0 "$1"; else refuses "$2" 0 "$want" "$bin" "$1"; fi
	takes "$2" 0.5 "$1"
}
while read -r cmd opt lo hi; do
	ints "$cmd" "--$opt" "$lo" "$hi"
done <<'END'
engine port 0 65535
engine tp 1 64
engine max-queue 0 10000000
engine max-seqs 1 1000000
engine token-budget 1 10000000
engine kv-tokens 64 1099511627776
engine max-body 1024 4294967296
engine max-conns 1 1000000
serve port 0 65535
serve image-tokens 1 1000000
serve target-inflight 1 1000000
serve max-body 1024 4294967296
serve max-conns 1 1000000
bench max-concurrency 0 1000000
bench num-requests 1 100000000
bench image-tokens 0 100000
bench max-images 0 64
bench image-pool 1 100000
bench warmup 0 100000
profile tp 1 1024
profile max-images 0 64
profile image-px 16 8192
profile chunk 1 1000000
profile repeats 1 64
END
while read -r cmd opt kind hi; do
	nums "$cmd" "--$opt" "$kind" "$hi"
done <<'END'
engine speed from0 1e+09
engine header-timeout pos 86400
engine body-timeout pos 86400
engine idle-timeout pos 86400
serve probe pos 86400
serve backend-timeout pos 86400
serve scrape from0 86400
serve scale-interval pos 86400
serve scale-cooldown pos 86400
serve scale-window pos 86400
serve header-timeout pos 86400
bench rate-scale pos 1e+09
bench rate pos 1e+09
bench duration pos 1e+09
bench timeout pos 1e+06
profile timeout pos 1e+06
END
exits() { # exits WANT_RC PATTERN ARGS...: modserve ARGS exits so, PATTERN on stderr
	local want=$1 pat=$2
	shift 2
	"$bin" "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?
	[ $rc -eq "$want" ] && grep -q -- "$pat" "$tmp/err" || bad "$*: exit $rc, $(head -1 "$tmp/err")"
}
for cmd in engine serve bench profile; do
	for h in -h --help; do
		"$bin" $cmd $h >"$tmp/out" 2>"$tmp/err"; rc=$?
		[ $rc -eq 0 ] && grep -q "^usage: modserve $cmd" "$tmp/out" && [ ! -s "$tmp/err" ] ||
			bad "$cmd $h: exit $rc"
	done
	grep -q -- "-h, --help" "$tmp/out" || bad "$cmd --help: the help line"
	exits 2 "^usage: modserve $cmd" $cmd --no-such-option
	grep -q "unrecognized option" "$tmp/err" || bad "$cmd --no-such-option: getopt's reason"
	exits 2 "requires an argument" $cmd --model
	exits 2 "^modserve $cmd: unexpected argument 'extra'" $cmd --model m extra
	pre=--max- && [ $cmd = profile ] && pre=--r
	exits 2 "ambiguous" $cmd $pre 1
done
# a prefix names the whole option in the message
exits 2 "^modserve engine: --max-queue: expected an integer from 0 to 10000000, got '1e9'" \
	engine --max-q 1e9
exits 2 "doesn't allow an argument" engine --insecure-tls=1
exits 2 "doesn't allow an argument" serve --quiet=1
exits 2 "doesn't allow an argument" bench --skip-bad=1
exits 2 "$req_bench" bench --skip-bad
# bench: --rate-scale counts as given at its default value too
exits 2 "--rate and --rate-scale exclude each other" bench --endpoint http://127.0.0.1:1 \
	--rate-scale 1 --rate 2
# the rows parsed by a function: their own messages; a runtime failure exits 1
exits 2 "--role: expected all, llm, encode, prefill or decode, got 'gpu'" engine --role gpu
exits 2 "--route: expected least, rr or random, got 'x'" serve --route x
exits 2 "--spawn: expected POOL=CMD with a pool name, got 'gpu=x'" serve --spawn gpu=x
exits 2 "--autoscale: expected POOL=MIN:MAX:CAPACITY" serve --autoscale encode=2:1:5
exits 1 "cannot open the admin key file" serve --admin-key-file "$tmp/none"
exits 2 "--concurrency: expected a list of integers from 1 to 64" profile --concurrency 0

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
