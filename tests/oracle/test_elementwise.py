"""Oracle: add, scale, channel scale (+ backward), concat rows, L2-normalise rows (+ backward) against torch."""
import torch
import torch.nn.functional as F

import harness
from fdcheck import numeric_grad

harness.setup()

for shape, rows in [((2, 1, 3, 4, 5), (3, 7)), ((3, 2, 2, 3, 8), (8, 33)), ((1, 1, 1, 1, 1), (1, 1)),
                    ((4, 1, 7, 7, 64), (16, 128))]:
    x, dy = torch.randn(shape), torch.randn(shape)
    s = torch.rand(shape[0], shape[-1])
    r, dr = torch.randn(rows), torch.randn(rows)
    r[0] *= 1e-9  # a row below eps: the clamped branch
    alpha, eps = float(torch.randn(())), 1e-6
    out = harness.run_op("elementwise", {"x": x, "dy": dy, "s": s, "rows": r, "drows": dr}, alpha=alpha, eps=eps)
    what = f"{shape} rows {rows}"
    harness.assert_close(out["add"], x + dy, 0, 0, "add " + what)
    harness.assert_close(out["add_"], x + dy, 0, 0, "add_ " + what)
    harness.assert_close(out["scale"], torch.tensor(alpha) * x, 0, 0, "scale " + what)
    xt, st = x.clone().requires_grad_(True), s.clone().requires_grad_(True)
    y = xt * st[:, None, None, None, :]
    y.backward(dy)
    harness.assert_close(out["channel_scale"], y.detach(), 0, 0, "channel_scale " + what)
    harness.assert_close(out["channel_scale_dx"], xt.grad, 0, 0, "channel_scale dx " + what)
    harness.assert_close(out["channel_scale_ds"], st.grad, 1e-5, 1e-5, "channel_scale ds " + what)
    harness.assert_close(out["concat"], torch.cat([r, dr]), 0, 0, "concat_rows " + what)
    rt = r.clone().requires_grad_(True)
    n = F.normalize(rt, dim=1, eps=eps)
    n.backward(dr)
    harness.assert_close(out["normalize"], n.detach(), 1e-6, 1e-5, "l2_normalize " + what)
    harness.assert_close(out["normalize_dx"], rt.grad, 1e-5, 1e-4, "l2_normalize dx " + what)

# Finite differences in double.
x, s, dy = torch.randn(2, 1, 2, 2, 3), torch.rand(2, 3), torch.randn(2, 1, 2, 2, 3)
r, dr = torch.randn(3, 5), torch.randn(3, 5)
out = harness.run_op("elementwise", {"x": x, "dy": dy, "s": s, "rows": r, "drows": dr}, alpha=1.0, eps=1e-12)
cs = lambda a, b: a * b[:, None, None, None, :]
harness.assert_close(out["channel_scale_dx"], numeric_grad(cs, [x, s], 0, dy), 1e-6, 1e-5, "channel_scale dx vs fd")
harness.assert_close(out["channel_scale_ds"], numeric_grad(cs, [x, s], 1, dy), 1e-5, 1e-5, "channel_scale ds vs fd")
harness.assert_close(out["normalize_dx"], numeric_grad(lambda a: F.normalize(a, dim=1, eps=1e-12), [r], 0, dr),
                     1e-5, 1e-4, "l2_normalize dx vs fd")

harness.expect_error(lambda: harness.run_op("elementwise", {"x": torch.randn(2, 1, 2, 2, 3), "dy": torch.randn(2, 1, 2, 2, 4),
                                                            "s": torch.rand(2, 3), "rows": r, "drows": dr}, alpha=1.0, eps=1e-6),
                     "shape mismatch", "add rejects mismatched shapes")
harness.finish()
