"""Oracle: ReLU, SiLU and sigmoid forward and backward against torch, and finite differences in double."""
import torch
import torch.nn.functional as F

import harness
from fdcheck import numeric_grad

harness.setup()

refs = {"relu": torch.relu, "silu": F.silu, "sigmoid": torch.sigmoid}
for shape in [(1,), (7, 3), (2, 3, 5, 4, 6), (int(torch.randint(1, 5000, ())),)]:
    x = torch.randn(shape) * 4
    dy = torch.randn(shape)
    for kind, ref in refs.items():
        out = harness.run_op("activation", {"x": x, "dy": dy}, kind=kind)
        xt = x.clone().requires_grad_(True)
        y = ref(xt)
        y.backward(dy)
        harness.assert_close(out["y"], y.detach(), 1e-6, 1e-5, f"{kind} {shape} y")
        harness.assert_close(out["dx"], xt.grad, 1e-6, 1e-5, f"{kind} {shape} dx")

x = torch.randn(9) * 3
x[x.abs() < 0.1] = 0.5  # keep ReLU's kink away from the finite-difference step
dy = torch.randn(9)
for kind, ref in refs.items():
    out = harness.run_op("activation", {"x": x, "dy": dy}, kind=kind)
    harness.assert_close(out["dx"], numeric_grad(ref, [x], 0, dy), 1e-5, 1e-4, f"{kind} dx vs finite differences")
# bf16: computed in float and rounded once, like torch's bf16 kernels (one rounding step of slack for exp).
x, dy = (torch.randn(4097) * 3).to(torch.bfloat16), torch.randn(4097).to(torch.bfloat16)
for kind, ref in refs.items():
    out = harness.run_op("activation", {"x": x, "dy": dy}, kind=kind)
    want = ref(x.float()).to(torch.bfloat16)
    exact = kind == "relu"
    harness.assert_close(out["y"].float(), want.float(), 0 if exact else 1e-6, 0 if exact else 8e-3, f"{kind} bf16 y")
harness.finish()
