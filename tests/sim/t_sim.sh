#!/usr/bin/env bash
# `modserve sim` through the real binary: help and usage errors, a real trace window,
# byte-identical JSON for equal seeds, --compare, and the per-request CSV checked
# against the JSON summary by an independent pandas computation (pandas' default linear
# quantile), pools read off --pools, conflicting options, the work-proportional split,
# --per-request -, empty traces and the messages QA found wanting.
set -u
bin=${MS_BIN:?}
tmp=${MS_TMP:-/tmp}/t_sim.$$
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

"$bin" sim --help >"$tmp/help" 2>&1 && grep -q -- '--slo-scale' "$tmp/help" || bad "--help"
"$bin" sim --gpus x >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && grep -q -- "--gpus: expected an integer" "$tmp/err" || bad "bad --gpus: rc=$rc"
"$bin" sim --deploy pd --pools enc=2x1,llm=2x4 --synth 10 >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && grep -q "prefill=NxTP,decode=NxTP" "$tmp/err" || bad "pd with modserve pools: rc=$rc"
grep -q "interpolate linearly between order statistics" "$tmp/help" || bad "--help: percentile definition"

# --pools alone picks the design; a --deploy that does not fit says what it got
"$bin" sim --pools prefill=2x4,decode=2x4 --synth 50 >"$tmp/o" 2>"$tmp/err" &&
	grep -q "^pd  *prefill=2x4,decode=2x4 (16 GPUs)" "$tmp/o" || bad "--pools pd inferred: $(cat "$tmp/err")"
"$bin" sim --pools mono=2x4 --synth 50 >"$tmp/o" 2>"$tmp/err" && grep -q "^mono  *mono=2x4" "$tmp/o" ||
	bad "--pools mono inferred"
"$bin" sim --pools enc=2x1,prefill=1x4,decode=1x4 --synth 50 >"$tmp/o" 2>"$tmp/err" &&
	grep -q "^modserve  *enc=2x1,prefill=1x4,decode=1x4" "$tmp/o" || bad "--pools E-P-D inferred"
"$bin" sim --deploy pd --pools enc=2x1,llm=2x4 --synth 10 >/dev/null 2>"$tmp/err"
grep -q "deploy pd takes prefill=NxTP,decode=NxTP; got enc=2x1,llm=2x4" "$tmp/err" || bad "pd misfit message: $(head -1 "$tmp/err")"
# llm alone is ModServe for a trace without images (what the work split picks for one) ...
"$bin" sim --pools llm=2x4 --synth 10 --max-images 0 >"$tmp/o" 2>"$tmp/err"; rc=$?
[ $rc -eq 0 ] && grep -q "^modserve  *llm=2x4" "$tmp/o" || bad "llm alone, no images: rc=$rc $(head -1 "$tmp/err")"
# ... and refused with a reason when the trace has images
"$bin" sim --pools llm=2x4 --synth 10 >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ] && grep -q "has images but the deployment has no encoder pool (add enc=NxTP)" "$tmp/err" || bad "llm alone, images: rc=$rc"
"$bin" sim --pools mono=1x4, --gpus 4 --synth 10 >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && grep -q "trailing ','" "$tmp/err" || bad "trailing comma: rc=$rc"

# conflicting options are refused, naming both sides
"$bin" sim --pools enc=2x1,llm=2x4 --gpus 16 --synth 10 >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && grep -q "10 GPUs but --gpus says 16" "$tmp/err" || bad "--pools vs --gpus: rc=$rc"
"$bin" sim --pools enc=2x1,llm=2x4 --gpus 10 --synth 10 >/dev/null 2>&1 || bad "--pools with the matching --gpus"
"$bin" sim --deploy paper-128-mono --gpus 16 --synth 10 >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && grep -q "128 GPUs but --gpus says 16" "$tmp/err" || bad "deploy file vs --gpus: rc=$rc"
for order in "--synth 10 --trace x.csv" "--trace x.csv --synth 10"; do
	# shellcheck disable=SC2086
	"$bin" sim $order >/dev/null 2>"$tmp/err"; rc=$?
	[ $rc -eq 2 ] && grep -q "choose one input" "$tmp/err" || bad "$order: rc=$rc"
done

# messages: one prefix, the real cause, the option and its range
"$bin" sim --gpus 3 --synth 10 >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && grep -q "3 GPUs are too few for 'modserve'" "$tmp/err" && ! grep -q "sim: sim:" "$tmp/err" ||
	bad "too few GPUs: rc=$rc $(head -1 "$tmp/err")"
# --kv-tokens below 4 KV blocks of 16 is out of the option's range, like any other
for k in 0 10 63; do
	"$bin" sim --kv-tokens $k --gpus 16 --synth 10 >/dev/null 2>"$tmp/err"; rc=$?
	[ $rc -eq 2 ] && grep -q -- "--kv-tokens: expected an integer from 64 to 1000000000000, got '$k'" "$tmp/err" ||
		bad "--kv-tokens $k: rc=$rc $(head -1 "$tmp/err")"
done
"$bin" sim --kv-tokens 64 --gpus 16 --synth 10 >/dev/null 2>"$tmp/err" || bad "--kv-tokens 64: $(head -1 "$tmp/err")"
# float options name their upper limit
for o in "--rate-scale 1e300" "--slo-ttft 1e300" "--slo-tpot 2e12" "--slo-scale 0"; do
	# shellcheck disable=SC2086
	"$bin" sim $o --synth 10 >/dev/null 2>"$tmp/err"; rc=$?
	[ $rc -eq 2 ] && grep -q -- "${o%% *}: expected a number > 0 and <= 1e+12, got '${o##* }'" "$tmp/err" ||
		bad "$o: rc=$rc $(head -1 "$tmp/err")"
done
"$bin" sim --rate-scale 1e12 --gpus 16 --synth 10 >/dev/null 2>&1 || bad "--rate-scale 1e12 is in range"
# pools are held to --gpus's cap of 1,000,000 GPUs (and a deployment file too)
"$bin" sim --pools mono=100000x64 --synth 10 >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && grep -q -- "--pools mono=100000x64 adds up to 6400000 GPUs; at most 1000000" "$tmp/err" ||
	bad "--pools over the cap: rc=$rc $(head -1 "$tmp/err")"
printf 'kind = mono\npools = mono=100000x16\n' >"$tmp/big.conf"
"$bin" sim --deploy "$tmp/big.conf" --synth 10 >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && grep -q "uses 1600000 GPUs; at most 1000000" "$tmp/err" || bad "deploy over the cap: rc=$rc $(head -1 "$tmp/err")"
# a pool's TP must divide the model's heads (vLLM's rule), from --pools or a file
"$bin" sim --pools mono=1x3 --synth 10 >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && grep -q "pool mono at TP 3: TP must divide llama-3.2-11b-vision's 32 attention heads" "$tmp/err" ||
	bad "mono TP 3: rc=$rc $(head -1 "$tmp/err")"
"$bin" sim --model internvl-2.5-26b --pools enc=1x2,llm=1x8 --synth 10 >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && grep -q "pool enc at TP 2: TP must divide internvl-2.5-26b's 25 encoder attention heads" "$tmp/err" ||
	bad "enc TP 2 on InternVL: rc=$rc $(head -1 "$tmp/err")"
printf 'kind = modserve\npools = enc=2x1,llm=2x6\n' >"$tmp/tp6.conf"
"$bin" sim --deploy "$tmp/tp6.conf" --synth 10 >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] && grep -q "pool llm at TP 6" "$tmp/err" || bad "deploy file TP 6: rc=$rc $(head -1 "$tmp/err")"
"$bin" sim --pools enc=1x2,llm=1x16 --synth 10 >/dev/null 2>"$tmp/err" || bad "TP 16 (KV heads replicated): $(head -1 "$tmp/err")"
# outputs that cannot be what they are named
(cd "$tmp" && "$bin" sim --synth 20 --gpus 16 --per-request pr.csv.gz >/dev/null 2>"$tmp/err"); rc=$?
[ $rc -eq 2 ] && grep -q -- "--per-request writes plain CSV; name it .csv or pipe \`--per-request -\` through gzip" "$tmp/err" &&
	[ ! -e "$tmp/pr.csv.gz" ] || bad "--per-request .gz: rc=$rc $(head -1 "$tmp/err")"
for r in - ""; do
	(cd "$tmp" && "$bin" sim --synth 20 --gpus 16 --report "$r" >/dev/null 2>"$tmp/err"); rc=$?
	[ $rc -eq 2 ] && grep -q "the report needs a directory, not stdout" "$tmp/err" ||
		bad "--report '$r': rc=$rc $(head -1 "$tmp/err")"
done
[ -e "$tmp/-" ] && bad "--report - made a directory named '-'"
# --stats: the RSS is the process's so far, and says so (--compare runs share it)
"$bin" sim --synth 200 --gpus 16 --compare --stats >/dev/null 2>"$tmp/err" || bad "--stats run"
[ "$(grep -c "process peak RSS so far [0-9.]* MB" "$tmp/err")" -eq 3 ] && ! grep -q "B/request, results" "$tmp/err" ||
	bad "--stats RSS label: $(grep RSS "$tmp/err" | head -1)"
for o in "--gpus 2000000" "--max-images 100001" "--max-seqs 1000001" "--token-budget 100000001" \
	"--enc-batch 1000001" "--src-image-tokens 1000001"; do
	# shellcheck disable=SC2086
	"$bin" sim $o --synth 10 >/dev/null 2>"$tmp/err"; rc=$?
	[ $rc -eq 2 ] && grep -q -- "${o%% *}: expected an integer from [0-9]* to [0-9]*, got '${o##* }'" "$tmp/err" ||
		bad "$o: rc=$rc $(head -1 "$tmp/err")"
done

# SLO line: which target came from where, with enough digits
"$bin" sim --slo-ttft 0.0001 --gpus 16 --synth 50 >"$tmp/o" 2>"$tmp/err" || bad "--slo-ttft run"
grep -q "^SLO: TTFT 0.1 ms, TPOT [0-9.]* ms (TTFT from --slo-ttft, TPOT 5 x isolated request on the monolith)" "$tmp/o" ||
	bad "SLO line: $(grep SLO: "$tmp/o")"
"$bin" sim --slo-ttft 2 --slo-tpot 0.05 --gpus 16 --synth 50 >"$tmp/o" 2>&1
grep -q "^SLO: TTFT 2.000 s, TPOT 50 ms (--slo-ttft, --slo-tpot)" "$tmp/o" || bad "SLO line, both given: $(grep SLO: "$tmp/o")"

# a header-only trace is an error, not a table of zeros
head -1 "${MS_TESTDATA:?}/data/azure-lmm-2025-windows/window-2024-10-16T0836.csv" >"$tmp/empty.csv"
"$bin" sim --trace "$tmp/empty.csv" >"$tmp/o" 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ] && grep -q "empty.csv: no requests to simulate" "$tmp/err" && [ ! -s "$tmp/o" ] ||
	bad "empty trace: rc=$rc $(cat "$tmp/err")"

# --per-request -: the CSV on stdout, the table on stderr; never a file named '-'
(cd "$tmp" && "$bin" sim --synth 300 --gpus 16 --per-request - >"$tmp/req-out.csv" 2>"$tmp/req-err") ||
	bad "--per-request -: $(cat "$tmp/req-err")"
[ -e "$tmp/-" ] && bad "--per-request - wrote a file named '-'"
head -1 "$tmp/req-out.csv" | grep -q "^row,arrive_s," && [ "$(wc -l <"$tmp/req-out.csv")" -eq 301 ] ||
	bad "--per-request - CSV on stdout"
grep -q "SLO both met" "$tmp/req-err" || bad "--per-request -: table not on stderr"
"$bin" sim --synth 30 --per-request - --json >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 2 ] || bad "--per-request - with --json: rc=$rc"

# the default split follows the trace: a text-only trace gets no idle encoders, and
# --compare runs all three on the same budget
txt=$MS_TESTDATA/data/azure-llm-2023/AzureLLMInferenceTrace_conv.csv
"$bin" sim --trace "$txt" --compare --gpus 16 --json >"$tmp/txt.json" 2>"$tmp/err" || bad "text compare: $(cat "$tmp/err")"
/usr/bin/python3 - "$tmp/txt.json" <<'PY' || bad "text-only split"
import json, sys
d = json.load(open(sys.argv[1]))
runs = {r["deploy"]: r for r in d["runs"]}
assert d["input"]["gpus"] == 16 and d["input"]["split_by_work"]["encode_gpu_h"] == 0
for k, r in runs.items():
    assert r["gpus"] == 16, (k, r["gpus"])
assert [p["name"] for p in runs["modserve"]["pools"]] == ["llm"], runs["modserve"]["pools"]
PY

"$bin" sim --trace "$tmp/missing.csv" >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ] && grep -q "missing.csv" "$tmp/err" || bad "missing trace: rc=$rc"
"$bin" sim --model no-such-model --synth 10 >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ] || bad "unknown model: rc=$rc"

# a real window of the 2025 trace, small cluster, table output names every deployment
win=${MS_TESTDATA:?}/data/azure-lmm-2025-windows/window-2024-10-16T0836.csv
"$bin" sim --trace "$win" --compare --gpus 16 >"$tmp/cmp.txt" 2>"$tmp/err" || bad "compare on window: $(cat "$tmp/err")"
grep -q "SLO: TTFT" "$tmp/cmp.txt" && grep -q "modserve" "$tmp/cmp.txt" || bad "compare table"
grep -q "with images capped to 16" "$tmp/cmp.txt" || bad "capped count not reported"

# deployment files
"$bin" sim --deploy paper-128-mono --synth 500 >"$tmp/dep.txt" 2>"$tmp/err" || bad "deploy file: $(cat "$tmp/err")"
grep -q "mono=32x4 (128 GPUs)" "$tmp/dep.txt" || bad "deploy file pools not shown"
"$bin" sim --deploy no-such-deploy --synth 10 >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ] && grep -q "no-such-deploy.conf" "$tmp/err" || bad "missing deploy file: rc=$rc"

# determinism: same seed, byte-identical JSON
for i in 1 2; do
	"$bin" sim --synth 3000 --rate-scale 400 --gpus 16 --route-llm random --seed 5 --json \
		>"$tmp/j$i.json" 2>/dev/null || bad "json run $i"
done
cmp -s "$tmp/j1.json" "$tmp/j2.json" || bad "JSON differs between equal runs"

"$bin" sim --synth 3000 --rate-scale 400 --gpus 16 --compare --json >"$tmp/c.json" || bad "compare json"
/usr/bin/python3 - "$tmp/c.json" <<'PY' || bad "compare JSON shape"
import json, sys
d = json.load(open(sys.argv[1]))
assert [r["deploy"] for r in d["runs"]] == ["mono", "pd", "modserve"], d["runs"]
for r in d["runs"]:
    assert r["all"]["finished"] == 3000, r["all"]
    assert r["gpus"] <= 16
PY

# per-request CSV against the JSON summary, recomputed by pandas
"$bin" sim --synth 4000 --rate-scale 300 --deploy modserve --gpus 16 --json \
	--per-request "$tmp/req.csv" >"$tmp/one.json" || bad "per-request run"
/usr/bin/python3 - "$tmp/req.csv" "$tmp/one.json" <<'PY' || bad "per-request CSV vs JSON"
import json, math, sys
import pandas as pd
df = pd.read_csv(sys.argv[1])
d = json.load(open(sys.argv[2]))
r = d["runs"][0]
assert len(df) == 4000 and df.row.is_unique
def rank(s, p):
    return s.quantile(p / 100)  # pandas' default: linear, as trace stats
for cls, sel in (("all", df), ("image", df[df.images > 0]), ("text", df[df.images == 0])):
    got = r[cls]["ttft_s"]
    for p in (50, 90, 99):
        want = rank(sel.ttft_s, p)
        assert abs(got["p%d" % p] - want) <= 1e-6 * max(1, want), (cls, p, got, want)
    assert abs(got["mean"] - sel.ttft_s.mean()) <= 1e-6 * max(1, got["mean"])
    tp = sel.tpot_s.dropna()
    assert abs(r[cls]["tpot_s"]["p99"] - rank(tp, 99)) <= 1e-6
slo_t, slo_p = d["input"]["slo_ttft_s"], d["input"]["slo_tpot_s"]
ok = ((df.ttft_s <= slo_t + 5e-7) & (df.tpot_s.isna() | (df.tpot_s <= slo_p + 5e-7))).mean()
assert abs(ok - r["all"]["slo_both"]) < 2e-3, (ok, r["all"]["slo_both"])
assert (df.e2e_s >= df.ttft_s - 1e-6).all()
assert df.images.max() <= 16
PY

# figures and the HTML page: on a copy of a real window whose name needs escaping
if command -v gnuplot >/dev/null; then
	odd="$tmp/win&<1>.csv"
	cp "$win" "$odd"
	"$bin" sim --trace "$odd" --rate-scale 3 --gpus 16 --compare --report "$tmp/rep" \
		>"$tmp/rep.txt" 2>"$tmp/err" || bad "report: $(cat "$tmp/err")"
	for f in index.html ttft_cdf.png tpot_cdf.svg modserve_enc_queue.png mono_mono_kv.png \
		pd_decode_busy.png; do
		[ -s "$tmp/rep/$f" ] || bad "report file $f missing"
	done
	[ -e "$tmp/rep/modserve_enc_kv.png" ] && bad "encoders have no KV figure"
	/usr/bin/python3 - "$tmp/rep" "$tmp/rep.txt" <<'PY' || bad "report index.html"
import html.parser, os, re, sys
d, txt = sys.argv[1], open(sys.argv[2]).read()
page = open(os.path.join(d, "index.html")).read()

class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.imgs, self.links, self.rows, self.cur, self.cell = [], [], [], None, None
        self.h1 = ""; self.in_h1 = False
    def handle_starttag(self, tag, a):
        a = dict(a)
        if tag == "img": self.imgs.append(a["src"])
        if tag == "a": self.links.append(a["href"])
        if tag == "tr": self.cur = []
        if tag in ("td", "th"): self.cell = ""
        if tag == "h1": self.in_h1 = True
    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cur is not None:
            self.cur.append(self.cell); self.cell = None
        if tag == "tr": self.rows.append(self.cur); self.cur = None
        if tag == "h1": self.in_h1 = False
    def handle_data(self, data):
        if self.cell is not None: self.cell += data
        if self.in_h1: self.h1 += data
p = P(); p.feed(page); p.close()

# every PNG written is on the page, and the page names no missing file
pngs = sorted(f for f in os.listdir(d) if f.endswith(".png"))
assert sorted(p.imgs) == pngs, (sorted(p.imgs), pngs)
assert len(set(p.imgs)) == len(p.imgs), "a figure appears twice"
for f in p.links:
    assert os.path.exists(os.path.join(d, f)), f
assert sorted(p.links) == sorted(f[:-4] + ".svg" for f in pngs)
# CDFs first, then the time series grouped by deployment in run order
assert p.imgs[:2] == ["ttft_cdf.png", "tpot_cdf.png"], p.imgs[:2]
order = {"mono": 0, "pd": 1, "modserve": 2}
seq = [order[f.split("_")[0]] for f in p.imgs[2:]]
assert seq == sorted(seq) and set(seq) == {0, 1, 2}, p.imgs
# the trace name is escaped: the raw '<' never reaches the markup
assert "win&<1>.csv" in p.h1 and "win&amp;&lt;1&gt;.csv" in page, p.h1
# setup names the pools and the SLOs
for s in ("enc=", "llm=", "prefill=", "decode=", "mono=", "SLO TTFT", "SLO TPOT"):
    assert s in page, s
slo = re.search(r"SLO: TTFT ([0-9.]+ m?s), TPOT ([0-9.]+ m?s)", txt)
assert slo and slo.group(1) in page and slo.group(2) in page
# the results table holds the text table's numbers, row by row
text_rows = {}
for line in txt.splitlines():
    m = re.match(r"  (\S.*?)\s{2,}(\S+)\s+(\S+)\s+(\S+)$", line)
    if m:
        text_rows[m.group(1)] = list(m.group(2, 3, 4))
html_rows = {r[0]: r[1:] for r in p.rows if r and len(r) == 4}
assert html_rows.get("") == ["mono", "pd", "modserve"], html_rows.get("")
assert len(text_rows) >= 20, text_rows
for k, v in text_rows.items():
    assert html_rows.get(k) == v, (k, v, html_rows.get(k))
PY
fi
exit $fail
