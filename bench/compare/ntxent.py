"""PyTorch reference timings for bench/ntxent: NT-Xent forward+backward in eager mode and under
torch.compile, same sizes and definition as cmt_bench_ntxent, with peak memory. Run on the GPU machine:
    python3 bench/compare/ntxent.py [--rows 16,128,1024,8192,65536] [--dims 128,2048,4096] [--tf32]
Writes $OUT/ntxent_torch.json (or ./bench-results/) for comparison with cmt_bench_ntxent's ntxent.json."""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "oracle"))
from cmt_reference import ntxent  # noqa: E402  (the definition the oracle tests hold cmt to)


def time_step(fn, r, runs, warmup):
    for _ in range(warmup):
        fn(r)
    torch.cuda.synchronize()
    flush = torch.empty(256 << 20, dtype=torch.uint8, device="cuda")
    times = []
    for _ in range(runs):
        flush.zero_()
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn(r)
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop))
    times.sort()
    return times[len(times) // 2]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rows", default="16,128,1024,8192,65536")
    p.add_argument("--dims", default="128,2048,4096")
    p.add_argument("--tau", type=float, default=0.1)
    p.add_argument("--tf32", action="store_true")
    p.add_argument("--no-compile", action="store_true")
    args = p.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    compiled = None if args.no_compile else torch.compile(ntxent)
    rows_out = []
    for rows in map(int, args.rows.split(",")):
        for dim in map(int, args.dims.split(",")):
            r0 = torch.randn(rows, dim, device="cuda")
            flops = 8.0 * rows * rows * dim
            runs, warmup = (3, 1) if flops > 1e12 else (20, 3)
            entry = {"rows": rows, "dim": dim, "flops": flops}
            for name, f in [("eager", ntxent), ("compile", compiled)]:
                if f is None:
                    continue

                def step(r, f=f):
                    x = r.detach().requires_grad_()
                    f(x, args.tau).backward()

                try:
                    torch.cuda.reset_peak_memory_stats()
                    base = torch.cuda.memory_allocated()
                    ms = time_step(step, r0, runs, warmup)
                    entry[name] = {"median_ms": ms, "peak_mb": (torch.cuda.max_memory_allocated() - base) / 2**20}
                except torch.cuda.OutOfMemoryError:
                    entry[name] = {"error": "out of memory"}
                torch.cuda.empty_cache()
            print(json.dumps(entry), flush=True)
            rows_out.append(entry)
    out_dir = os.environ.get("OUT") or "bench-results"
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "ntxent_torch.json"), "w") as fh:
        json.dump({"bench": "ntxent_torch", "torch": torch.__version__, "tf32": args.tf32, "tau": args.tau,
                   "card": torch.cuda.get_device_name(), "rows": rows_out}, fh, indent=2)


if __name__ == "__main__":
    main()
