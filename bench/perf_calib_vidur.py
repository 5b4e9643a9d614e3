#!/usr/bin/env python3
"""Extract calibration points from Vidur's public GPU profiles (microsoft/vidur, MIT).

usage: bench/perf_calib_vidur.py GIT_DIR > data/calibration/vidur.csv

GIT_DIR is a clone (or bare mirror) of github.com/microsoft/vidur. Reads, at HEAD:
  data/profiling/compute/{a100,h100}/<org>/<model>/mlp.csv   per-operator kernel times
  data/profiling/network/{a100,h100}_dgx/all_reduce.csv       NCCL all-reduce times
Writes one row per point, times in seconds (Vidur records milliseconds, the median of
its repeats; where Vidur has several rows for one shape, the median of their medians):
  layer   one decoder layer's linear and elementwise kernels at `tokens` rows on `tp`
          GPUs: attn_pre_proj (QKV) + attn_rope + attn_post_proj (O) + mlp_up_proj
          (gate+up) + mlp_act + mlp_down_proj + input/post layernorms + add. Attention
          itself is not in these files (attention.csv is not in the snapshot).
  allreduce  one all-reduce of tokens x hidden bf16 elements across tp GPUs of a DGX.
"""
import csv
import io
import statistics
import subprocess
import sys

MODELS = [  # (path under compute/<gpu>/, name); gated-MLP Llama-family only
    ("meta-llama/Llama-2-7b-hf", "llama-2-7b"),
    ("meta-llama/Llama-2-70b-hf", "llama-2-70b"),
    ("meta-llama/Meta-Llama-3-8B", "llama-3-8b"),
    ("meta-llama/Meta-Llama-3-70B", "llama-3-70b"),
    ("codellama/CodeLlama-34b-Instruct-hf", "codellama-34b"),
    ("internlm/internlm-20b", "internlm-20b"),
    ("Qwen/Qwen-72B", "qwen-72b"),
]
TOKENS = [1, 8, 32, 64, 128, 256, 512, 1024, 2048, 4096]
OPS = ["input_layernorm", "attn_pre_proj", "attn_rope", "attn_post_proj",
       "post_attention_layernorm", "mlp_up_proj", "mlp_act", "mlp_down_proj", "add"]
AR_TOKENS = [1, 16, 64, 256, 1024, 4096]
AR_HIDDEN = 8192


def show(gitdir, path):
    r = subprocess.run(["git", "--git-dir=" + gitdir, "show", "HEAD:" + path],
                       capture_output=True, text=True)
    return r.stdout if r.returncode == 0 else None


def main():
    gitdir = sys.argv[1]
    head = subprocess.run(["git", "--git-dir=" + gitdir, "rev-parse", "HEAD"],
                          capture_output=True, text=True, check=True).stdout.strip()
    out = csv.writer(sys.stdout, lineterminator="\n")
    print("# Source: github.com/microsoft/vidur at %s, data/profiling/ (measured by the" % head)
    print("# Vidur authors on A100-80GB and H100-80GB; per-operator CUDA kernel times).")
    print("# Licence: MIT. The repository's notice, which applies to these derived numbers:")
    lic = show(gitdir, "LICENSE") or ""
    for line in lic.strip().splitlines():
        print("#   " + line.strip())
    print("# Extracted by bench/perf_calib_vidur.py; stage meanings in that script and docs/perf.md.")
    out.writerow(["stage", "gpu", "model", "tp", "tokens", "hidden", "heads", "kv_heads", "ffn",
                  "measured_s", "source"])
    for gpu in ("a100", "h100"):
        gname = gpu + "-80gb"
        for path, name in MODELS:
            text = show(gitdir, "data/profiling/compute/%s/%s/mlp.csv" % (gpu, path))
            if not text:
                continue
            groups = {}
            for row in csv.DictReader(io.StringIO(text)):
                if row["use_gated_mlp"] != "True":
                    continue
                key = (int(row["num_tensor_parallel_workers"]), int(row["num_tokens"]))
                s = sum(float(row["time_stats.%s.median" % o]) for o in OPS) / 1e3
                groups.setdefault(key, []).append((s, row))
            for (tp, tok), vals in sorted(groups.items()):
                if tok not in TOKENS:
                    continue
                row = vals[0][1]
                out.writerow(["layer", gname, name, tp, tok, row["n_embd"], row["n_head"],
                              row["n_kv_head"], row["n_expanded_embd"],
                              "%.6g" % statistics.median(v[0] for v in vals),
                              "vidur:compute/%s/%s/mlp.csv" % (gpu, path)])
        text = show(gitdir, "data/profiling/network/%s_dgx/all_reduce.csv" % gpu)
        groups = {}
        for row in csv.DictReader(io.StringIO(text)):
            key = (int(row["num_workers"]), int(row["size"]))
            groups.setdefault(key, []).append(float(row["time_stats.all_reduce.median"]) / 1e3)
        for tp in (2, 4, 8):
            for tok in AR_TOKENS:
                size = tok * AR_HIDDEN
                # nearest profiled size (Vidur's grid is not every token count)
                cand = min((k for k in groups if k[0] == tp), key=lambda k: abs(k[1] - size))
                if abs(cand[1] - size) > 0.05 * size:
                    continue
                out.writerow(["allreduce", gname, "-", tp, cand[1] // AR_HIDDEN, AR_HIDDEN, 0, 0, 0,
                              "%.6g" % statistics.median(groups[cand]),
                              "vidur:network/%s_dgx/all_reduce.csv size %d" % (gpu, cand[1])])


if __name__ == "__main__":
    main()
