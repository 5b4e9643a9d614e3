#!/bin/bash
# `modserve trace fetch` without the internet: file:// full and resumed fetches, cache reuse,
# and the no-network message on an unreachable port.
set -u
T="$MS_TMP/t_fetch"; rm -rf "$T"; mkdir -p "$T/src"
fail() { echo "FAIL: $*"; exit 1; }
SRC="$T/src/AzureLMMInferenceTrace_multimodal.csv.gz"
# a source file of ~1 MB (the real windows, gzipped, repeated)
for i in $(seq 1 40); do cat "$MS_TESTDATA/data/azure-lmm-2025-windows/window-2024-10-16T0836.csv"; done | gzip -1 >"$SRC"
SIZE=$(stat -c %s "$SRC")

# full fetch into --cache; stdout is exactly the path
out=$("$MS_BIN" trace fetch --url "file://$SRC" --cache "$T/c1" 2>"$T/err") || fail "fetch: $(cat "$T/err")"
[ "$out" = "$T/c1/AzureLMMInferenceTrace_multimodal.csv.gz" ] || fail "path '$out'"
cmp -s "$SRC" "$out" || fail "content differs"
[ -e "$out.part" ] && fail ".part left behind"
# second run: cached, no download
out2=$("$MS_BIN" trace fetch --url "file://$SRC" --cache "$T/c1" 2>"$T/err") || fail "cached fetch"
[ "$out2" = "$out" ] || fail "cached path"
grep -q "already cached" "$T/err" || fail "cached message"

# resumed fetch: a .part with the first half
mkdir -p "$T/c2"
head -c $((SIZE / 2)) "$SRC" >"$T/c2/AzureLMMInferenceTrace_multimodal.csv.gz.part"
out=$("$MS_BIN" trace fetch --url "file://$SRC" --cache "$T/c2" 2>"$T/err") || fail "resume: $(cat "$T/err")"
cmp -s "$SRC" "$out" || fail "resumed content differs"
grep -q "resumed at byte $((SIZE / 2))" "$T/err" || fail "resume message: $(cat "$T/err")"

# --force downloads again; XDG_CACHE_HOME picks the default cache
out=$(XDG_CACHE_HOME="$T/xdg" "$MS_BIN" trace fetch --url "file://$SRC" --force 2>/dev/null) || fail "xdg"
[ "$out" = "$T/xdg/modserve/AzureLMMInferenceTrace_multimodal.csv.gz" ] || fail "xdg path '$out'"
cmp -s "$SRC" "$out" || fail "xdg content"

# no network: exit 1 and a message that says what to do; nothing on stdout
out=$("$MS_BIN" trace fetch --url "http://127.0.0.1:9/x/trace.csv.gz" --cache "$T/c3" 2>"$T/err")
[ $? -eq 1 ] || fail "unreachable exit"
[ -z "$out" ] || fail "stdout on failure"
grep -q "cannot reach 127.0.0.1: .*no network? download the file by hand and pass its path" "$T/err" \
	|| fail "message: $(cat "$T/err")"
[ -e "$T/c3/trace.csv.gz" ] && fail "file created on failure"
# a missing source file is a failure too
"$MS_BIN" trace fetch --url "file://$T/src/none.csv.gz" --cache "$T/c4" 2>/dev/null; [ $? -eq 1 ] || fail "missing"
[ -e "$T/c4/none.csv.gz" ] && fail "missing source left a file"
"$MS_BIN" trace fetch --bogus 2>/dev/null; [ $? -eq 2 ] || fail "bad option"
"$MS_BIN" trace fetch --help | grep -q "usage: modserve trace fetch" || fail help
echo ok
