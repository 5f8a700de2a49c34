"""Oracle: Adam and AdamW, ten steps against torch.optim to 1e-6 relative (with weight decay and a changing
learning rate), the bf16 copy, gradient clipping by global norm, and the learning-rate schedules."""
import math

import torch

import harness

harness.setup()

for decoupled in (False, True):
    for wd in (0.0, 0.05):
        p0 = torch.randn(1001)
        grads = torch.randn(10, 1001)
        lrs = torch.tensor([1e-2 * (0.9 ** t) for t in range(10)], dtype=torch.float32)
        cfg = dict(beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=wd, decoupled=decoupled)
        out = harness.run_op("adam", {"params": p0, "grads": grads, "lrs": lrs}, **cfg)
        p = p0.clone().requires_grad_(True)
        cls = torch.optim.AdamW if decoupled else torch.optim.Adam
        opt = cls([p], lr=float(lrs[0]), betas=(0.9, 0.999), eps=1e-8, weight_decay=wd)
        for t in range(10):
            for group in opt.param_groups:
                group["lr"] = float(lrs[t])
            p.grad = grads[t].clone()
            opt.step()
        what = f"{'AdamW' if decoupled else 'Adam'} wd={wd} ten steps"
        st = opt.state[p]
        harness.assert_close(out["params"], p.detach(), 1e-7, 1e-6, what + " params")
        # m is a sum of terms of size ~0.1|g| that can cancel: absolute tolerance at float rounding of those terms.
        harness.assert_close(out["m"], st["exp_avg"], 2e-7, 1e-6, what + " m")
        harness.assert_close(out["v"], st["exp_avg_sq"], 1e-10, 1e-6, what + " v")
        harness.assert_close(out["bf16"].float(), out["params"].to(torch.bfloat16).float(), 0, 0, what + " bf16 copy")

for scale, max_norm in [(1.0, 0.5), (0.01, 10.0)]:
    g = torch.randn(3000) * scale
    out = harness.run_op("clip_grad_norm", {"grads": g}, max_norm=max_norm)
    gt = g.clone()
    param = torch.zeros_like(gt, requires_grad=True)
    param.grad = gt
    norm = torch.nn.utils.clip_grad_norm_([param], max_norm)
    harness.assert_close(out["norm"], norm.reshape(1), 1e-6, 1e-6, f"clip norm scale={scale}")
    harness.assert_close(out["grads"], param.grad, 1e-7, 1e-6, f"clipped grads scale={scale}")

out = harness.run_op("lr_schedule", {}, spec="cosine:lr=0.1,total=50,warmup=5,min_lr=0.001", steps=60)
want = [0.1 * (t + 1) / 5 if t < 5 else 0.001 + (0.1 - 0.001) * 0.5 * (1 + math.cos(math.pi * min(t - 5, 45) / 45))
        for t in range(60)]
harness.assert_close(out["lr"], torch.tensor(want), 1e-7, 1e-5, "cosine schedule with warm-up")
out = harness.run_op("lr_schedule", {}, spec="step:lr=0.1,step_size=7,gamma=0.5", steps=30)
harness.assert_close(out["lr"], torch.tensor([0.1 * 0.5 ** (t // 7) for t in range(30)]), 1e-8, 1e-6, "step schedule")
out = harness.run_op("lr_schedule", {}, spec="constant:lr=0.003", steps=5)
harness.assert_close(out["lr"], torch.full((5,), 0.003), 0, 1e-7, "constant schedule")
harness.expect_error(lambda: harness.run_op("lr_schedule", {}, spec="linear:lr=1", steps=1), "unknown kind",
                     "schedule rejects an unknown kind")
harness.finish()
