"""Oracle: max, average, global average and adaptive average pooling (2D and 3D) against torch, forward
and backward (max's indices in torch's convention), and finite differences in double."""
import torch
import torch.nn.functional as F

import harness
from fdcheck import numeric_grad

harness.setup()


def ncdhw(x):
    return x.permute(0, 4, 1, 2, 3)


def ndhwc(x):
    return x.permute(0, 2, 3, 4, 1)


cases = [  # shape (N,D,H,W,C), kernel, stride, padding
    ((2, 1, 7, 9, 3), (1, 3, 3), (1, 2, 2), (0, 1, 1)),   # ResNet stem pool on odd sizes
    ((1, 1, 8, 8, 4), (1, 2, 2), (1, 2, 2), (0, 0, 0)),   # VGG
    ((2, 5, 6, 7, 2), (3, 3, 3), (2, 2, 2), (1, 1, 1)),   # 3D
    ((1, 4, 4, 4, 1), (2, 2, 2), (1, 1, 1), (1, 0, 1)),
    ((3, 3, 5, 5, 5), (1, 1, 1), (1, 1, 1), (0, 0, 0)),
]
for shape, k, s, p in cases:
    x = torch.randn(shape)
    xt = ncdhw(x).clone().requires_grad_(True)
    y, idx = F.max_pool3d(xt, k, s, p, return_indices=True)
    dy = torch.randn(ndhwc(y).shape)
    y.backward(ncdhw(dy))
    out = harness.run_op("pool", {"x": x, "dy": dy}, kind="max", kernel=k, stride=s, padding=p)
    what = f"{shape} k{k} s{s} p{p}"
    harness.assert_close(out["y"], ndhwc(y.detach()), 0, 0, "maxpool y " + what)
    harness.assert_close(out["argmax"], ndhwc(idx), 0, 0, "maxpool argmax " + what)
    harness.assert_close(out["dx"], ndhwc(xt.grad), 1e-6, 1e-6, "maxpool dx " + what)

    xt = ncdhw(x).clone().requires_grad_(True)
    y = F.avg_pool3d(xt, k, s, p)  # count_include_pad=True
    y.backward(ncdhw(dy))
    out = harness.run_op("pool", {"x": x, "dy": dy}, kind="avg", kernel=k, stride=s, padding=p)
    harness.assert_close(out["y"], ndhwc(y.detach()), 1e-6, 1e-5, "avgpool y " + what)
    harness.assert_close(out["dx"], ndhwc(xt.grad), 1e-6, 1e-5, "avgpool dx " + what)

for shape, o in [((2, 1, 14, 14, 3), (1, 7, 7)), ((1, 1, 13, 10, 2), (1, 7, 7)), ((2, 5, 7, 3, 4), (2, 3, 3)),
                 ((1, 1, 3, 3, 2), (1, 7, 7))]:
    x = torch.randn(shape)
    dy = torch.randn(shape[0], *o, shape[-1])
    xt = ncdhw(x).clone().requires_grad_(True)
    y = F.adaptive_avg_pool3d(xt, o)
    y.backward(ncdhw(dy))
    out = harness.run_op("pool", {"x": x, "dy": dy}, kind="adaptive", out=o)
    harness.assert_close(out["y"], ndhwc(y.detach()), 1e-6, 1e-5, f"adaptive {shape} -> {o} y")
    harness.assert_close(out["dx"], ndhwc(xt.grad), 1e-6, 1e-5, f"adaptive {shape} -> {o} dx")

    g = torch.randn(shape[0], shape[-1])
    out = harness.run_op("pool", {"x": x, "dy": g}, kind="global")
    harness.assert_close(out["y"], x.mean(dim=(1, 2, 3)), 1e-6, 1e-5, f"global avg {shape} y")
    harness.assert_close(out["dx"], (g[:, None, None, None, :] / (x[0, ..., 0].numel())).expand(shape), 1e-7, 1e-6,
                         f"global avg {shape} dx")

# Finite differences in double (max pool away from ties: distinct values).
x = torch.randperm(2 * 3 * 4 * 2).float().reshape(1, 2, 3, 4, 2) / 7
fd_cases = [("avg", lambda a: ndhwc(F.avg_pool3d(ncdhw(a), (2, 2, 3), (1, 2, 1), (1, 1, 1)))),
            ("max", lambda a: ndhwc(F.max_pool3d(ncdhw(a), (2, 2, 3), (1, 2, 1), (1, 1, 1)))),
            ("adaptive", lambda a: ndhwc(F.adaptive_avg_pool3d(ncdhw(a), (2, 2, 3))))]
for kind, fn in fd_cases:
    dy = torch.randn(fn(x).shape)
    out = harness.run_op("pool", {"x": x, "dy": dy}, kind=kind, kernel=(2, 2, 3), stride=(1, 2, 1), padding=(1, 1, 1),
                         out=(2, 2, 3))
    harness.assert_close(out["dx"], numeric_grad(fn, [x], 0, dy, h=1e-4), 1e-5, 1e-4, f"{kind} pool dx vs fd")

harness.expect_error(lambda: harness.run_op("pool", {"x": torch.randn(1, 1, 2, 2, 1), "dy": torch.randn(1)}, kind="max",
                                            kernel=(1, 5, 5), stride=(1, 1, 1), padding=(0, 0, 0)),
                     "larger than the padded input", "pool rejects a kernel larger than the input")
harness.finish()
