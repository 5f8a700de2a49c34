"""Oracle: dropout and stochastic depth. torch cannot reproduce Philox masks, so the checks are the contract:
y = x * mask / (1 - p), the backward applies the same mask, the keep rate is 1 - p, masks are a pure function
of (seed, epoch, step, op) and differ when any of them changes."""
import torch

import harness

harness.setup()

shape = (64, 1, 8, 8, 16)
x, dy = torch.randn(shape), torch.randn(shape)
for p in (0.0, 0.1, 0.5, 0.9):
    args = dict(p=p, seed=int(torch.randint(0, 2**62, ())), epoch=3, step=17, op=2)
    out = harness.run_op("dropout", {"x": x, "dy": dy}, **args)
    mask = out["mask"].float()
    p32 = torch.tensor(p, dtype=torch.float32).item()  # the op takes p as a float
    scale = torch.tensor(1.0 / (1.0 - p32), dtype=torch.float32)
    harness.assert_close(out["y"], x * mask * scale, 0, 0, f"dropout p={p} y")
    harness.assert_close(out["dx"], dy * mask * scale, 0, 0, f"dropout p={p} dx")
    rate = mask.mean().item()
    n = mask.numel()
    tol = 6 * (p * (1 - p) / n) ** 0.5 + 1e-9
    harness.assert_close(torch.tensor([rate]), torch.tensor([1 - p]), tol, 0, f"dropout p={p} keep rate")
    keep = out["keep"].float()
    k = keep[:, None, None, None, None]
    harness.assert_close(out["sd_y"], x * k * scale, 0, 0, f"stochastic depth p={p} y")
    harness.assert_close(out["sd_dx"], dy * k * scale, 0, 0, f"stochastic depth p={p} dx")
    again = harness.run_op("dropout", {"x": x, "dy": dy}, **args)
    harness.assert_close(again["mask"], out["mask"], 0, 0, f"dropout p={p} mask is reproducible")
    if 0 < p < 1:
        for key in ("seed", "epoch", "step", "op"):
            other = dict(args)
            other[key] += 1
            diff = harness.run_op("dropout", {"x": x, "dy": dy}, **other)
            if torch.equal(diff["mask"], out["mask"]):
                harness._failures.append(f"dropout p={p}: mask unchanged when {key} changes")

harness.expect_error(lambda: harness.run_op("dropout", {"x": x, "dy": dy}, p=1.0, seed=1, epoch=0, step=0, op=0),
                     "p must be in [0, 1)", "dropout rejects p = 1")
harness.finish()
