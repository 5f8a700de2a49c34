"""Oracle: convolution (fprop, dgrad, wgrad, bias grad) against torch conv2d/conv3d and autograd,
on fresh random shapes and values each run, channels-last through permutes; bad descriptors."""
import random

import torch
import torch.nn.functional as F

import harness

seed = harness.setup()
rng = random.Random(seed)


def reference(x, w, b, dy, stride, padding, dilation, groups, two_d):
    """Float64 torch conv on N,D,H,W,C / K,T,R,S,C tensors; returns y, dx, dw, db channels-last."""
    xt = x.double().permute(0, 4, 1, 2, 3).contiguous().requires_grad_()
    wt = w.double().permute(0, 4, 1, 2, 3).contiguous().requires_grad_()
    bt = b.double().requires_grad_()
    if two_d:
        y = F.conv2d(xt[:, :, 0], wt[:, :, 0], bt, stride[1:], padding[1:], dilation[1:], groups).unsqueeze(2)
    else:
        y = F.conv3d(xt, wt, bt, stride, padding, dilation, groups)
    y.backward(dy.double().permute(0, 4, 1, 2, 3))
    cl = lambda t: t.permute(0, 2, 3, 4, 1)
    return cl(y.detach()), cl(xt.grad), cl(wt.grad), bt.grad


def random_case():
    two_d = rng.random() < 0.5
    kind = rng.choice(["dense", "dense", "groups", "depthwise", "stem", "pointwise"])
    groups = {"dense": 1, "stem": 1, "pointwise": 1, "groups": rng.choice([2, 3]), "depthwise": 0}[kind]
    if kind == "depthwise":
        c = rng.randint(2, 12)
        groups, k = c, c * rng.choice([1, 2])
    else:
        c = 1 if kind == "stem" else groups * rng.randint(1, 8)
        k = groups * rng.randint(1, 8)
    dims = 2 if two_d else 3
    ksz = [1] * 3 if kind == "pointwise" else [rng.choice([1, 2, 3, 5]) for _ in range(3)]
    stride = [rng.choice([1, 1, 2, 3]) for _ in range(3)]
    dil = [rng.choice([1, 1, 2]) for _ in range(3)]
    pad = [rng.randint(0, 3) for _ in range(3)]
    if two_d:
        ksz[0], stride[0], dil[0], pad[0] = 1, 1, 1, 0
    size = [max(1, dil[i] * (ksz[i] - 1) + 1 - 2 * pad[i]) + rng.randint(0, 6) for i in range(3)]
    if two_d:
        size[0] = 1
    n = rng.randint(1, 3)
    return dict(x=(n, *size, c), w=(k, *ksz, c // groups), stride=stride, padding=pad, dilation=dil, groups=groups,
                two_d=two_d, name=f"{kind} {dims}d")


for i in range(24):
    case = random_case()
    x = torch.randn(case["x"])
    w = torch.randn(case["w"])
    b = torch.randn(case["w"][0])
    args = dict(stride=case["stride"], padding=case["padding"], dilation=case["dilation"], groups=case["groups"])
    # dy must have the output's shape: run the reference once to learn it.
    with torch.no_grad():
        xt = x.permute(0, 4, 1, 2, 3)
        wt = w.permute(0, 4, 1, 2, 3)
        out_shape = F.conv3d(xt, wt, None, case["stride"], case["padding"], case["dilation"], case["groups"]).permute(0, 2, 3, 4, 1).shape
    dy = torch.randn(out_shape)
    y, dx, dw, db = reference(x, w, b, dy, case["stride"], case["padding"], case["dilation"], case["groups"], case["two_d"])
    got = harness.run_op("conv", {"x": x, "w": w, "b": b, "dy": dy}, **args)
    what = f"{case['name']} x{list(case['x'])} w{list(case['w'])} {args}"
    tol = 1e-4 * (1 + (w[0].numel() ** 0.5))
    harness.assert_close(got["y"], y, tol, 1e-4, "y  " + what)
    harness.assert_close(got["dx"], dx, tol, 1e-4, "dx " + what)
    harness.assert_close(got["dw"], dw, tol * 4, 1e-4, "dw " + what)
    harness.assert_close(got["db"], db, 1e-3, 1e-5, "db " + what)

bad = {"x": torch.randn(1, 3, 5, 5, 6), "w": torch.randn(4, 3, 3, 3, 3), "b": torch.randn(4), "dy": torch.randn(1, 1, 3, 3, 4)}
harness.expect_error(lambda: harness.run_op("conv", bad, groups=4), "not divisible by groups", "groups must divide C")
harness.expect_error(lambda: harness.run_op("conv", bad, groups=2, padding=[-1, 0, 0]), "padding[D] must be >= 0",
                     "negative padding")
harness.expect_error(lambda: harness.run_op("conv", bad, groups=1), "needs C/groups=6", "weight channels vs groups")
harness.finish()
