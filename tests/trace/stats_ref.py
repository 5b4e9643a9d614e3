"""Independent pandas computation of `modserve trace stats --json`, and the comparison.

usage: stats_ref.py TRACE.csv[.gz] MODSERVE.json
Recomputes every number with pandas (percentiles: Series.quantile, linear; minutes:
dt.floor('min') and a full minute range; CV: std(ddof=0)/mean) and compares: integers
exactly, floats to 1e-9 relative, undefined (NaN) against null. Exit 1 on any mismatch.
"""
import json
import math
import sys

import pandas as pd


def dist(s):
    s = s.astype("int64")
    n = len(s)
    if n == 0:
        return {"n": 0, "sum": 0, "mean": None, "p50": None, "p90": None, "p99": None,
                "p99_9": None, "max": None}
    q = s.quantile([0.5, 0.9, 0.99, 0.999])
    return {"n": n, "sum": int(s.sum()), "mean": float(s.mean()), "p50": float(q.iloc[0]),
            "p90": float(q.iloc[1]), "p99": float(q.iloc[2]), "p99_9": float(q.iloc[3]),
            "max": int(s.max())}


def nan_none(x):
    x = float(x)
    return None if math.isnan(x) or math.isinf(x) else x


def burst(s):
    mean = s.mean()
    return {"total": int(s.sum()), "mean": float(mean), "p99": float(s.quantile(0.99)),
            "max": int(s.max()),
            "cv": nan_none(s.std(ddof=0) / mean) if mean > 0 else None,
            "peak_to_mean": nan_none(s.max() / mean) if mean > 0 else None}


def reference(path):
    df = pd.read_csv(path)
    if "NumImages" not in df.columns:
        df["NumImages"] = 0
    ts = pd.to_datetime(df["TIMESTAMP"], utc=True)
    img = df["NumImages"] > 0
    ref = {"rows": len(df), "image_requests": int(img.sum()),
           "text_requests": int((~img).sum()),
           "image_share": float(img.mean()),
           "time": {"first_ns": int(ts.iloc[0].value), "last_ns": int(ts.iloc[-1].value),
                    "first_unix_s": ts.iloc[0].value / 1e9,
                    "last_unix_s": ts.iloc[-1].value / 1e9,
                    "span_s": (ts.iloc[-1].value - ts.iloc[0].value) / 1e9},
           "num_images": dist(df.loc[img, "NumImages"]),
           "context_tokens": {"image": dist(df.loc[img, "ContextTokens"]),
                              "text": dist(df.loc[~img, "ContextTokens"])},
           "generated_tokens": {"image": dist(df.loc[img, "GeneratedTokens"]),
                                "text": dist(df.loc[~img, "GeneratedTokens"])}}
    minute = ts.dt.floor("min")
    full = pd.date_range(minute.iloc[0], minute.iloc[-1], freq="min")
    per = {"minutes": len(full)}
    frames = {}
    for name, mask in (("image", img), ("text", ~img)):
        sub = df[mask].assign(minute=minute[mask])
        g = sub.groupby("minute").agg(requests=("NumImages", "size"),
                                      images=("NumImages", "sum"),
                                      input_tokens=("ContextTokens", "sum"),
                                      output_tokens=("GeneratedTokens", "sum"))
        g = g.reindex(full, fill_value=0)
        frames[name] = g
        per[name] = {col: burst(g[col].astype("int64"))
                     for col in ("requests", "images", "input_tokens", "output_tokens")}
    ref["per_minute"] = per
    total = frames["image"]["requests"] + frames["text"]["requests"]
    best = total.idxmax()  # first maximum, as modserve picks the earliest
    ref["busiest_minute"] = {"start_ns": int(best.value), "requests": int(total[best]),
                             "image_requests": int(frames["image"]["requests"][best]),
                             "images": int(frames["image"]["images"][best])}
    ref["first_minute_ns"] = int(full[0].value)
    return ref


def compare(got, want, where, errors):
    errors.checked = getattr(errors, "checked", 0) + (not isinstance(want, dict))
    if isinstance(want, dict):
        for k, v in want.items():
            if k not in got:
                errors.append(f"{where}.{k}: missing")
                continue
            compare(got[k], v, f"{where}.{k}", errors)
    elif want is None:
        if got is not None:
            errors.append(f"{where}: got {got!r}, want null")
    elif isinstance(want, bool) or isinstance(want, int):
        if not isinstance(got, int) or got != want:
            errors.append(f"{where}: got {got!r}, want {want!r} (exact)")
    else:
        if got is None or not isinstance(got, (int, float)):
            errors.append(f"{where}: got {got!r}, want {want!r}")
        elif abs(got - want) > 1e-9 * max(abs(want), abs(got)) and abs(got - want) > 1e-12:
            errors.append(f"{where}: got {got!r}, want {want!r} (rel 1e-9)")


class Errors(list):
    checked = 0


def ns_of(iso):
    return int(pd.Timestamp(iso).value)


def main():
    path, jpath = sys.argv[1], sys.argv[2]
    with open(jpath) as f:
        got = json.load(f)
    ref = reference(path)
    errors = Errors()
    # Times come back as ISO strings: parse them with pandas and compare the ns exactly.
    t = got.get("time", {})
    got["time"]["first_ns"] = ns_of(t["first"])
    got["time"]["last_ns"] = ns_of(t["last"])
    got["first_minute_ns"] = ns_of(got["per_minute"]["first_minute"])
    bm = got["busiest_minute"]
    bm["start_ns"] = ns_of(bm["start"])
    if bm["start_unix_s"] * 10**9 != bm["start_ns"]:
        errors.append("busiest_minute.start_unix_s disagrees with start")
    compare(got, ref, "", errors)
    for e in errors:
        print(f"{path}: {e}")
    if errors:
        return 1
    print(f"{path}: rows {ref['rows']}: {errors.checked} values equal")
    return 0


if __name__ == "__main__":
    sys.exit(main())
