#!/usr/bin/env bash
# The top-level command: usage and exit codes, and `--help` on every command and verb.
set -u
bin=${MS_BIN:?}
fail=0
check() { # check WANT_RC DESCRIPTION CMD...
	want=$1 what=$2
	shift 2
	"$@" >/tmp/t_main.out.$$ 2>/tmp/t_main.err.$$
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		echo "FAIL: $what: exit $rc, wanted $want"; cat /tmp/t_main.err.$$; fail=1
	fi
}
check 2 "no arguments" "$bin"
grep -q "^usage: modserve" /tmp/t_main.err.$$ || { echo "FAIL: no usage on stderr"; fail=1; }
check 0 "--help" "$bin" --help
grep -q "trace" /tmp/t_main.out.$$ || { echo "FAIL: --help lists no commands"; fail=1; }
check 0 "--version" "$bin" --version
grep -qE "^modserve [0-9]+\.[0-9]+\.[0-9]+$" /tmp/t_main.out.$$ || { echo "FAIL: --version"; fail=1; }
check 2 "unknown command" "$bin" frobnicate
grep -q "unknown command 'frobnicate'" /tmp/t_main.err.$$ || { echo "FAIL: unknown command message"; fail=1; }
check 2 "unknown trace verb" "$bin" trace frobnicate
check 2 "trace without verb" "$bin" trace
for c in "trace" "trace stats" "trace plot" "trace report" "trace slice" "trace synth" \
	"trace fetch" "sim"; do
	# shellcheck disable=SC2086
	check 0 "$c --help" "$bin" $c --help
	grep -q "usage: modserve" /tmp/t_main.out.$$ || { echo "FAIL: $c --help: no usage on stdout"; fail=1; }
	# shellcheck disable=SC2086
	check 2 "$c --no-such-option" "$bin" $c --no-such-option
done
rm -f /tmp/t_main.out.$$ /tmp/t_main.err.$$
[ $fail -eq 0 ] && echo "t_main: all passed"
exit $fail
