#!/usr/bin/env python3
"""PyTorch's CPU convolutions on the layers `cmt_bench_conv --device cpu` timed, and the ratio table.

    OMP_NUM_THREADS=2 OUT=DIR build/bin/cmt_bench_conv --device cpu [--runs 3] [--dims ...]
    python3 bench/compare/conv_cpu.py DIR/conv.json [--runs 3] [--json out.json]

Per layer and pass (forward, data gradient, weight gradient) PyTorch runs in two layouts: contiguous
(NCDHW) and channels-last (the layout cmt uses, which PyTorch hands to oneDNN). `x` = PyTorch's faster
layout / cmt's time (> 1: cmt faster), for each cmt backend in the file ("auto": the path cmt's default
choice takes for that pass); geometric means at the end.
Threads: torch.set_num_threads(OMP_NUM_THREADS), the same team cmt ran with.
"""
import argparse
import json
import math
import os
import statistics
import time

import torch
import torch.nn.functional as F

PASSES = ("fprop", "dgrad", "wgrad")


def median_ms(fn, runs):
    fn()  # warm-up (oneDNN primitive creation, allocations)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def torch_times(row, runs, channels_last):
    """The three passes of one cmt row (x N,D,H,W,C; w K,T,R,S,C/g) with PyTorch."""
    n, d, h, w_, c = row["x"]
    k, t, r, s, cg = row["w"]
    three_d = d > 1 or t > 1 or row["stride"][0] > 1
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(n, c, d, h, w_, generator=gen)
    w = torch.rand(k, cg, t, r, s, generator=gen)
    stride, padding = list(row["stride"]), list(row["padding"])
    if not three_d:
        x, w, stride, padding = x[:, :, 0], w[:, :, 0], stride[1:], padding[1:]
    if channels_last:
        fmt = torch.channels_last_3d if three_d else torch.channels_last
        x, w = x.contiguous(memory_format=fmt), w.contiguous(memory_format=fmt)
    conv = F.conv3d if three_d else F.conv2d
    groups = row["groups"]
    with torch.no_grad():
        y = conv(x, w, None, stride, padding, 1, groups)
    dy = torch.rand_like(y)

    def backward(mask):
        return torch.ops.aten.convolution_backward(dy, x, w, None, stride, padding, [1] * len(stride), False,
                                                   [0] * len(stride), groups, mask)

    with torch.no_grad():
        return {
            "fprop": median_ms(lambda: conv(x, w, None, stride, padding, 1, groups), runs),
            "dgrad": median_ms(lambda: backward([True, False, False]), runs),
            "wgrad": median_ms(lambda: backward([False, True, False]), runs),
        }


def geomean(values):
    values = [v for v in values if v > 0]
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("conv_json", help="cmt_bench_conv --device cpu's conv.json")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", help="write the rows and ratios here")
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", torch.get_num_threads())))
    rows = json.load(open(args.conv_json))["cpu_rows"]
    backends = [b for b in ("native", "onednn", "auto") if rows and b in rows[0]]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, mkldnn {torch.backends.mkldnn.is_available()}")
    print(f"{'layer':58} {'pass':5} {'torch ms':>9} {'(layout)':>8} " + " ".join(f"{b + ' ms':>10} {'x':>6}" for b in backends))
    ratios = {b: {p: [] for p in PASSES} for b in backends}
    out = []
    for row in rows:
        contiguous, last = torch_times(row, args.runs, False), torch_times(row, args.runs, True)
        entry = {"layer": row["layer"], "torch_contiguous": contiguous, "torch_channels_last": last}
        for p in PASSES:
            best, layout = min((contiguous[p], "ncdhw"), (last[p], "cl"))
            cols = []
            for b in backends:
                ours = row[b][f"{p}_ms"]
                ratios[b][p].append(best / ours)
                cols.append(f"{ours:10.3f} {best / ours:6.2f}")
            print(f"{row['layer']:58} {p:5} {best:9.3f} {layout:>8} " + " ".join(cols))
        out.append(entry)
    print()
    summary = {}
    for b in backends:
        per_pass = {p: geomean(ratios[b][p]) for p in PASSES}
        every = [v for p in PASSES for v in ratios[b][p]]
        summary[b] = {"geomean": geomean(every), "min": min(every) if every else None, "rows_below_1": sum(v < 1 for v in every),
                      "rows": len(every), **{f"geomean_{p}": v for p, v in per_pass.items()}}
        print(f"{b}: geomean {summary[b]['geomean']:.2f}x PyTorch (fprop {per_pass['fprop']:.2f}, dgrad {per_pass['dgrad']:.2f}, "
              f"wgrad {per_pass['wgrad']:.2f}); min {summary[b]['min']:.2f}; {summary[b]['rows_below_1']} of {len(every)} rows below 1.0")
    if args.json:
        json.dump({"torch": torch.__version__, "threads": torch.get_num_threads(), "rows": out, "summary": summary},
                  open(args.json, "w"), indent=1)


if __name__ == "__main__":
    main()
