"""Oracle: the fully connected layer (with and without bias) against F.linear, and finite differences in double."""
import torch
import torch.nn.functional as F

import harness
from fdcheck import numeric_grad

harness.setup()

for n, fin, fout in [(1, 1, 1), (4, 7, 3), (33, 65, 17), (8, 512, 2), (int(torch.randint(1, 40, ())), 100, 10)]:
    for bias in (True, False):
        x, w, dy = torch.randn(n, fin), torch.randn(fout, fin) / fin**0.5, torch.randn(n, fout)
        inputs = {"x": x, "w": w, "dy": dy}
        xt, wt = x.clone().requires_grad_(True), w.clone().requires_grad_(True)
        bt = torch.randn(fout).requires_grad_(True) if bias else None
        if bias:
            inputs["bias"] = bt.detach()
        y = F.linear(xt, wt, bt)
        y.backward(dy)
        out = harness.run_op("linear", inputs)
        what = f"linear n{n} in{fin} out{fout} bias={bias}"
        harness.assert_close(out["y"], y.detach(), 1e-5, 1e-4, what + " y")
        harness.assert_close(out["dx"], xt.grad, 1e-5, 1e-4, what + " dx")
        harness.assert_close(out["dw"], wt.grad, 1e-5, 1e-4, what + " dw")
        if bias:
            harness.assert_close(out["db"], bt.grad, 1e-5, 1e-5, what + " db")
        elif "db" in out:
            harness._failures.append(what + ": db returned without a bias")

x, w, b, dy = torch.randn(3, 4), torch.randn(2, 4), torch.randn(2), torch.randn(3, 2)
out = harness.run_op("linear", {"x": x, "w": w, "bias": b, "dy": dy})
for i, name in [(0, "dx"), (1, "dw"), (2, "db")]:
    harness.assert_close(out[name], numeric_grad(F.linear, [x, w, b], i, dy), 1e-5, 1e-4, f"linear {name} vs fd")

harness.expect_error(lambda: harness.run_op("linear", {"x": torch.randn(2, 3), "w": torch.randn(4, 5), "dy": torch.randn(2, 4)}),
                     "features", "linear rejects mismatched features")
harness.finish()
