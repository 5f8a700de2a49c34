"""Oracle: batch normalisation (train with running stats, eval, backward) against torch.nn.functional.batch_norm,
finite differences in double precision, and the N*D*H*W == 1 refusal."""
import torch
import torch.nn.functional as F

import harness
from fdcheck import numeric_grad

harness.setup()


def to_ncdhw(x):
    return x.permute(0, 4, 1, 2, 3)


def bn_train_ref(x, gamma, beta, eps):  # x (N,D,H,W,C), float64 re-implementation for finite differences
    mean = x.mean(dim=(0, 1, 2, 3))
    var = x.var(dim=(0, 1, 2, 3), unbiased=False)
    return (x - mean) / torch.sqrt(var + eps) * gamma + beta


shapes = [(2, 1, 5, 7, 3), (3, 2, 3, 4, 5), (1, 1, 1, 2, 4), (4, 1, 9, 9, 16),
          tuple(int(v) for v in torch.randint(1, 6, (4,))) + (int(torch.randint(1, 33, ())),)]
for shape in shapes:
    if shape[0] * shape[1] * shape[2] * shape[3] == 1:
        continue
    c = shape[-1]
    x = torch.randn(shape) * 2 + 0.5
    gamma, beta = torch.randn(c), torch.randn(c)
    rm, rv = torch.randn(c), torch.rand(c) + 0.5
    dy = torch.randn(shape)
    eps, momentum = 1e-5 if c % 2 else 1e-3, 0.1 if c % 3 else 0.01
    out = harness.run_op("batchnorm_train", {"x": x, "gamma": gamma, "beta": beta, "running_mean": rm,
                                             "running_var": rv, "dy": dy}, momentum=momentum, eps=eps)
    xt = to_ncdhw(x).clone().requires_grad_(True)
    g_t, b_t = gamma.clone().requires_grad_(True), beta.clone().requires_grad_(True)
    rm_t, rv_t = rm.clone(), rv.clone()
    y = F.batch_norm(xt, rm_t, rv_t, g_t, b_t, training=True, momentum=momentum, eps=eps)
    y.backward(to_ncdhw(dy))
    what = f"bn train {shape}"
    harness.assert_close(out["y"], y.detach().permute(0, 2, 3, 4, 1), 1e-5, 1e-4, what + " y")
    harness.assert_close(out["running_mean"], rm_t, 1e-6, 1e-5, what + " running_mean")
    harness.assert_close(out["running_var"], rv_t, 1e-6, 1e-5, what + " running_var (unbiased)")
    harness.assert_close(out["dx"], xt.grad.permute(0, 2, 3, 4, 1), 1e-4, 1e-3, what + " dx")
    harness.assert_close(out["dgamma"], g_t.grad, 1e-4, 1e-4, what + " dgamma")
    harness.assert_close(out["dbeta"], b_t.grad, 1e-4, 1e-5, what + " dbeta")

    ev = harness.run_op("batchnorm_eval", {"x": x, "gamma": gamma, "beta": beta, "running_mean": rm,
                                           "running_var": rv}, eps=eps)
    ye = F.batch_norm(to_ncdhw(x), rm, rv, gamma, beta, training=False, eps=eps)
    harness.assert_close(ev["y"], ye.permute(0, 2, 3, 4, 1), 1e-5, 1e-5, f"bn eval {shape}")

# Finite differences in double on tiny shapes: every gradient of our backward.
for shape in [(2, 1, 2, 3, 2), (3, 2, 1, 2, 3)]:
    c = shape[-1]
    x, gamma, beta, dy = torch.randn(shape), torch.randn(c), torch.randn(c), torch.randn(shape)
    out = harness.run_op("batchnorm_train", {"x": x, "gamma": gamma, "beta": beta, "running_mean": torch.zeros(c),
                                             "running_var": torch.ones(c), "dy": dy}, momentum=0.1, eps=1e-5)
    args = [x, gamma, beta, 1e-5]
    for i, name in [(0, "dx"), (1, "dgamma"), (2, "dbeta")]:
        harness.assert_close(out[name], numeric_grad(bn_train_ref, args, i, dy), 2e-4, 2e-3,
                             f"bn {shape} {name} vs finite differences")

c = 4
for bad in [(1, 1, 1, 1, c)]:
    harness.expect_error(lambda: harness.run_op("batchnorm_train", {
        "x": torch.randn(bad), "gamma": torch.ones(c), "beta": torch.zeros(c), "running_mean": torch.zeros(c),
        "running_var": torch.ones(c), "dy": torch.randn(bad)}, momentum=0.1, eps=1e-5),
        "more than 1 value per channel", "bn train refuses N*D*H*W == 1")
harness.expect_error(lambda: harness.run_op("batchnorm_eval", {
    "x": torch.randn(2, 1, 2, 2, 3), "gamma": torch.ones(4), "beta": torch.zeros(3), "running_mean": torch.zeros(3),
    "running_var": torch.ones(3)}, eps=1e-5), "'gamma' must be f32[3]", "bn eval names a bad gamma")
harness.finish()
