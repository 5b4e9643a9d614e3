#!/bin/bash
# `modserve trace export`: the workload sim replays, as BLIS TraceV2 (yaml + csv) and as
# vLLM-bench JSONL, re-read here and checked row by row against the source trace with the
# mapping docs/sim.md states (computed independently from the trace and the model files):
# counts, token sums, images, output tokens and arrival times (after --rate-scale).
set -u
T="$MS_TMP/t_export"; rm -rf "$T"; mkdir -p "$T"
W="$MS_TESTDATA/data/azure-lmm-2025-windows/window-2024-10-16T0836.csv"
C="$MS_TESTDATA/data/azure-llm-2023/AzureLLMInferenceTrace_conv.csv"
D="$MS_SRC_DIR/data/models"
fail() { echo "FAIL: $*"; exit 1; }

"$MS_BIN" trace export "$W" --format blis --out "$T/w" --rate-scale 2.5 2>"$T/err" || fail "blis: $(head -1 "$T/err")"
grep -q "2000 requests (1434 with images), BLIS TraceV2" "$T/err" || fail "blis summary: $(cat "$T/err")"
"$MS_BIN" trace export "$W" --format vllm-jsonl --out "$T/w.jsonl" --rate-scale 2.5 2>/dev/null || fail jsonl
# a decoder-only model, a low image cap and more image tokens in the source than some rows hold
"$MS_BIN" trace export "$W" --format blis --out "$T/q.csv" --model qwen2.5-vl-7b --max-images 2 \
	--src-image-tokens 2000 2>/dev/null || fail "blis qwen"
"$MS_BIN" trace export "$W" --format vllm-jsonl --out - --model qwen2.5-vl-7b --max-images 2 \
	--src-image-tokens 2000 --no-prompt >"$T/q.jsonl" 2>/dev/null || fail "jsonl qwen"
"$MS_BIN" trace export "$C" --format blis --out "$T/c" --model llama-3.1-8b 2>/dev/null || fail "text model"
[ -f "$T/q.yaml" ] && [ -f "$T/q.csv" ] && [ ! -e "$T/q.csv.csv" ] || fail "a trailing .csv is the data file"

/usr/bin/python3 - "$W" "$C" "$T" "$D" <<'PY' || fail "re-read check"
import csv, json, sys
from datetime import datetime
W, C, T, D = sys.argv[1:]

def conf(name):
    out = {}
    for line in open(f"{D}/{name}.conf"):
        line = line.split("#", 1)[0]
        if "=" in line:
            k, v = (x.strip() for x in line.split("=", 1))
            out[k] = v
    return out

def tokens_per_image(name):
    m = conf(name)
    if m.get("arch", "") == "text":
        return 0, False
    return int(m["tiles_per_image"]) * int(m["tokens_per_tile"]), m.get("arch") == "cross"

def source(path):
    rows = list(csv.DictReader(open(path)))
    def t(s):
        s = s.rstrip("Z")
        if "." in s:  # Python reads at most 6 fractional digits
            a, b = s.split(".")
            s = a + "." + b[:6]
        return datetime.fromisoformat(s.replace(" ", "T"))
    t0 = t(rows[0]["TIMESTAMP"])
    return [((t(r["TIMESTAMP"]) - t0).total_seconds(), int(r.get("NumImages", 0)),
             int(r["ContextTokens"]), int(r["GeneratedTokens"])) for r in rows]

def expect(path, model, k=1.0, src=85, cap=16):
    tpi, cross = tokens_per_image(model)
    out = []
    for t, n, ctx, gen in source(path):
        text = max(ctx - n * src, 0)
        img = min(n, cap)
        itok = img * tpi
        # the prompt holds at least one token: text when there is nothing else
        if cross:
            text = max(text, 1)
        elif text + itok < 1:
            text = 1
        out.append(dict(us=round(t / k * 1e6), text=text, img=img, itok=itok, gen=max(gen, 1)))
    return out

COLS = ("request_id,client_id,tenant_id,slo_class,session_id,round_index,prefix_group,"
        "prefix_length,streaming,input_tokens,output_tokens,text_tokens,image_tokens,"
        "audio_tokens,video_tokens,reason_ratio,model,deadline_us,server_input_tokens,"
        "arrival_time_us,send_time_us,first_chunk_time_us,last_chunk_time_us,num_chunks,"
        "status,error_message,finish_reason").split(",")

def check_blis(prefix, want):
    head = open(prefix + ".yaml").read().split("\n")
    assert head[:4] == ["trace_version: 2", "time_unit: microseconds", "mode: generated",
                        "warm_up_requests: 0"], head
    rows = list(csv.reader(open(prefix + ".csv")))
    assert rows[0] == COLS, rows[0]
    got = [dict(zip(COLS, r)) for r in rows[1:]]
    assert len(got) == len(want), (len(got), len(want))
    for i, (g, w) in enumerate(zip(got, want)):
        assert int(g["request_id"]) == i
        assert abs(int(g["arrival_time_us"]) - w["us"]) <= 1, (i, g["arrival_time_us"], w["us"])
        assert g["send_time_us"] == g["arrival_time_us"]
        assert int(g["text_tokens"]) == w["text"] and int(g["image_tokens"]) == w["itok"], (i, g, w)
        assert int(g["input_tokens"]) == w["text"] + w["itok"]
        assert int(g["output_tokens"]) == w["gen"]
        assert g["streaming"] == "true" and g["status"] == "" and g["reason_ratio"] == "0"
        assert all(g[c] == "0" for c in ("audio_tokens", "video_tokens", "deadline_us", "num_chunks"))
    times = [int(g["arrival_time_us"]) for g in got]
    assert times == sorted(times)
    s = lambda key: sum(int(g[key]) for g in got)
    print(f"{prefix}.csv: {len(got)} rows, text {s('text_tokens')}, image {s('image_tokens')}, "
          f"output {s('output_tokens')} tokens, last arrival {times[-1]} us")
    assert s("text_tokens") == sum(w["text"] for w in want)
    assert s("image_tokens") == sum(w["itok"] for w in want)

def check_jsonl(path, want, prompt):
    got = [json.loads(l) for l in open(path)]
    assert len(got) == len(want)
    for i, (g, w) in enumerate(zip(got, want)):
        assert abs(g["timestamp"] * 1e6 - w["us"]) <= 1.5, (i, g["timestamp"], w["us"])
        assert g["prompt_len"] == w["text"] and g["output_tokens"] == w["gen"], (i, g, w)
        assert g["num_images"] == w["img"] and g["image_tokens"] == w["itok"], (i, g, w)
        if prompt:
            words = g["prompt"].split(" ")
            assert len(words) == w["text"] and set(words) == {"hi"}, (i, len(words))
        else:
            assert "prompt" not in g
    print(f"{path}: {len(got)} objects, {sum(g['num_images'] for g in got)} images")

w = expect(W, "llama-3.2-11b-vision", k=2.5)
check_blis(f"{T}/w", w)
check_jsonl(f"{T}/w.jsonl", w, True)
q = expect(W, "qwen2.5-vl-7b", src=2000, cap=2)
assert any(x["img"] == 2 for x in q) and any(x["text"] == 0 and x["itok"] for x in q)
check_blis(f"{T}/q", q)
check_jsonl(f"{T}/q.jsonl", q, False)
check_blis(f"{T}/c", expect(C, "llama-3.1-8b"))
PY

# refusals: usage (2) and input (1), each naming what is wrong
"$MS_BIN" trace export "$W" --format csv --out "$T/x" 2>"$T/err"; rc=$?
[ $rc -eq 2 ] && grep -q "format: expected blis or vllm-jsonl, got 'csv'" "$T/err" || fail "bad format: rc=$rc"
"$MS_BIN" trace export "$W" --format blis --out - 2>"$T/err"; rc=$?
[ $rc -eq 2 ] && grep -q "blis writes two files" "$T/err" || fail "blis to stdout: rc=$rc"
"$MS_BIN" trace export "$W" --format blis 2>"$T/err"; rc=$?
[ $rc -eq 2 ] && grep -q -- "--out OUT is required" "$T/err" || fail "no --out: rc=$rc"
"$MS_BIN" trace export "$W" --format blis --out "$T/x" --no-prompt 2>"$T/err"; rc=$?
[ $rc -eq 2 ] || fail "--no-prompt with blis: rc=$rc"
"$MS_BIN" trace export "$W" --format blis --out "$T/x" --model llama-3.1-8b 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "1434 requests carry images, but llama-3.1-8b has no vision encoder" "$T/err" ||
	fail "images to a text model: rc=$rc $(head -1 "$T/err")"
"$MS_BIN" trace export "$W" --format blis --out "$T/x" --model llama-3.1-8b --max-images 0 2>/dev/null ||
	fail "--max-images 0 drops the images"
"$MS_BIN" trace export "$W" --format vllm-jsonl --out "$T/nodir/x.jsonl" 2>"$T/err"; rc=$?
[ $rc -eq 1 ] && grep -q "cannot create" "$T/err" && [ ! -e "$T/nodir" ] || fail "unwritable: rc=$rc"
ls "$T" | grep -q '\.tmp$' && fail "a temporary file was left"
echo "t_export: ok"
