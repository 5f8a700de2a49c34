"""PyTorch's kernels for the ops of bench/bench_layers.cpp on the same card and shapes (channels-last memory
format, fp32, no TF32), in GB/s of the same minimal traffic, against torch's own copy. Prints a table and writes
$OUT/layers_torch.json. Usage: python3 bench/compare/layers.py [--batch 32] [--adam-params 60000000]"""
import argparse
import json
import os

import torch
import torch.nn.functional as F


def time_ms(fn, runs=20, warmup=3):
    flush = torch.empty(256 << 20, dtype=torch.uint8, device="cuda")
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        flush.zero_()
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        torch.cuda.synchronize()
        times.append(a.elapsed_time(b))
    return sorted(times)[len(times) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--adam-params", type=int, default=60_000_000)
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("bench/compare/layers.py needs a GPU")
        return
    torch.backends.cudnn.allow_tf32 = False
    n = args.batch
    shapes = [(n, 1, 112, 112, 64), (n, 1, 28, 28, 512), (max(1, n // 8), 64, 64, 64, 64)]
    rows = []
    for s in shapes:
        # (N,D,H,W,C) storage viewed as NCDHW in channels_last_3d: the same bytes as cmt's layout.
        x = torch.randn(s, device="cuda").permute(0, 4, 1, 2, 3)
        dy = torch.randn(s, device="cuda").permute(0, 4, 1, 2, 3)
        c = s[-1]
        b4 = 4.0 * x.numel()
        gamma, beta = torch.randn(c, device="cuda"), torch.randn(c, device="cuda")
        rm, rv = torch.zeros(c, device="cuda"), torch.ones(c, device="cuda")
        y = torch.empty_like(x)
        xg = x.detach().requires_grad_(True)
        g2 = gamma.clone().requires_grad_(True)
        b2 = beta.clone().requires_grad_(True)
        out = F.batch_norm(xg, rm, rv, g2, b2, training=True)
        is3d = s[1] > 1
        k, st, p = ((3, 3, 3), (2, 2, 2), (1, 1, 1)) if is3d else ((1, 3, 3), (1, 2, 2), (0, 1, 1))
        pooled, idx = F.max_pool3d(x, k, st, p, return_indices=True)
        out_b = 4.0 * pooled.numel()
        pdy = torch.randn_like(pooled)
        se = torch.randn(s[0], c, 1, 1, 1, device="cuda")
        cases = [
            ("copy", 2 * b4, lambda: y.copy_(x)),
            ("bn_train_fwd", 2 * b4, lambda: F.batch_norm(x, rm, rv, gamma, beta, training=True)),
            ("bn_eval_fwd", 2 * b4, lambda: F.batch_norm(x, rm, rv, gamma, beta, training=False)),
            ("bn_bwd", 3 * b4, lambda: torch.autograd.grad(out, (xg, g2, b2), dy, retain_graph=True)),
            ("relu", 2 * b4, lambda: torch.relu(x)),
            ("silu", 2 * b4, lambda: F.silu(x)),
            ("add", 3 * b4, lambda: x + dy),
            ("channel_scale", 2 * b4, lambda: x * se),
            ("global_avgpool", b4, lambda: x.mean(dim=(2, 3, 4))),
            ("maxpool_fwd", b4 + 2 * out_b, lambda: F.max_pool3d(x, k, st, p, return_indices=True)),
            ("maxpool_bwd", b4 + 2 * out_b, lambda: F.max_unpool3d(pdy, idx, k, st, p, output_size=x.shape[2:])),
        ]
        for name, nbytes, fn in cases:
            ms = time_ms(fn)
            rows.append({"op": name, "shape": list(s), "median_ms": ms, "gb_per_s": nbytes / (ms * 1e6)})
    params = [torch.randn(args.adam_params, device="cuda", requires_grad=True)]
    params[0].grad = torch.randn(args.adam_params, device="cuda")
    for fused in (False, True):
        try:
            opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.01, fused=fused)
        except (TypeError, RuntimeError):
            opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.01, foreach=True)
        ms = time_ms(opt.step)
        rows.append({"op": "adamw_step" + ("_fused" if fused else "_foreach"), "shape": [args.adam_params],
                     "median_ms": ms, "gb_per_s": 28.0 * args.adam_params / (ms * 1e6)})
    copy_gbs = None
    print(f"{'op':<20} {'shape':<24} {'ms':>9} {'GB/s':>9} {'% copy':>8}")
    for r in rows:
        if r["op"] == "copy":
            copy_gbs = r["gb_per_s"]
        r["fraction_of_copy"] = r["gb_per_s"] / copy_gbs if copy_gbs else None
        frac = f"{100 * r['fraction_of_copy']:7.1f}%" if copy_gbs else "       -"
        print(f"{r['op']:<20} {str(r['shape']):<24} {r['median_ms']:9.3f} {r['gb_per_s']:9.1f} {frac}")
    out = os.path.join(os.environ.get("OUT", "."), "layers_torch.json")
    with open(out, "w") as f:
        json.dump({"device": torch.cuda.get_device_name(), "torch": torch.__version__, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
