#!/usr/bin/env bash
# Layering (DESIGN.md section 4): each part of src/ includes only the parts below it.
# The build links each part only to these (CMakeLists.txt, ms_add_part); this check also
# catches a header-only use (a struct or an inline function) that linking cannot see.
set -eu
src=${MS_SRC_DIR:?}/src
# part: the parts it may include (itself always)
allowed() {
	case $1 in
	base) echo "" ;;
	trace | model | policy | metrics | net) echo "base" ;;
	perf) echo "base model" ;;
	sim) echo "base trace model perf policy metrics" ;;
	plan) echo "base trace model perf policy metrics sim" ;;
	repro) echo "base trace model perf policy metrics sim plan report" ;;
	report) echo "base trace metrics sim model perf policy" ;;
	engine) echo "base net trace model perf policy metrics sim" ;;
	loadgen) echo "base net trace model perf metrics" ;;
	serve) echo "base net trace model perf policy metrics" ;;
	cli) echo "*" ;;
	*) echo "?" ;;
	esac
}
bad=0
for dir in "$src"/*/; do
	part=$(basename "$dir")
	ok=$(allowed "$part")
	if [ "$ok" = "?" ]; then
		echo "t_layering: src/$part is not in the layering table (tests/cli/t_layering.sh, DESIGN.md)" >&2
		bad=1
		continue
	fi
	[ "$ok" = "*" ] && continue
	for f in "$dir"*.c "$dir"*.h; do
		[ -e "$f" ] || continue
		while IFS= read -r inc; do
			dep=${inc%%/*}
			[ "$dep" = "$part" ] && continue
			case " $ok " in
			*" $dep "*) ;;
			*)
				echo "t_layering: ${f#"$src"/} includes \"$inc\": $part may include only: ${ok:-nothing outside base}" >&2
				bad=1
				;;
			esac
		done < <(sed -n 's/^#[[:space:]]*include[[:space:]]*"\([a-z_]*\/[^"]*\)".*/\1/p' "$f")
	done
done
[ -n "${MS_LAYERING_SELFTEST:-}" ] && exit $bad
# the check itself must see a violation: a policy file including sim/ is refused
tmp=${MS_TMP:-/tmp}/layering.$$
mkdir -p "$tmp/src/policy"
printf '#include "sim/sim.h"\n' >"$tmp/src/policy/x.c"
if MS_SRC_DIR=$tmp MS_LAYERING_SELFTEST=1 bash "$0" 2>/dev/null; then
	echo "t_layering: self-test: policy including sim/ was not refused" >&2
	bad=1
fi
rm -rf "$tmp"
[ $bad -eq 0 ] && echo "t_layering: every include follows the layering"
exit $bad
