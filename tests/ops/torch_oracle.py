"""PyTorch oracle mode of the op-case table: runs `cmt_op_tests dump FAMILY DIR`, which writes each
oracle case's inputs and cmt's outputs, evaluates the same op with PyTorch (float64 where the op is
a float op) and compares every element with the case's check (at least atol 1e-5, rtol 1e-4: PyTorch
sums in another order). A case names its PyTorch function in the table (OpCase::oracle)."""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import torch
import torch.nn.functional as F

_TORCH = {"f32": torch.float32, "bf16": torch.bfloat16, "f16": torch.float16, "u8": torch.uint8,
          "i16": torch.int16, "i32": torch.int32, "i64": torch.int64}


def load(d, spec):
    dtype = _TORCH[spec["dtype"]]
    raw = torch.int16 if dtype in (torch.bfloat16, torch.float16) else dtype
    n = 1
    for s in spec["shape"]:
        n *= s
    data = torch.from_file(os.path.join(d, spec["file"]), size=max(n, 1), dtype=raw)[:n].clone()
    return (data.view(dtype) if raw != dtype else data).reshape(spec["shape"])


def grad_of(fn, inputs, weight):
    """Runs fn on float64 leaves and returns (outputs, gradient of sum(fn(..) * weight) per input)."""
    leaves = [t.detach().double().clone().requires_grad_(True) for t in inputs]
    y = fn(*leaves)
    y.backward(weight.double() if weight is not None else torch.ones_like(y))
    return y.detach(), [t.grad for t in leaves]


def ncdhw(x):  # cmt's (N, D, H, W, C) as PyTorch's (N, C, D, H, W)
    return x.permute(0, 4, 1, 2, 3)


def ndhwc(x):
    return x.permute(0, 2, 3, 4, 1).contiguous()


# --- one function per oracle name: inputs (torch tensors by name), args (the case's JSON) -> outputs


def relu(i, a):
    y, (dx,) = grad_of(torch.relu, [i["x"]], i["dy"])
    return {"y": y, "dx": dx}


def silu(i, a):
    y, (dx,) = grad_of(F.silu, [i["x"]], i["dy"])
    return {"y": y, "dx": dx}


def sigmoid(i, a):
    y, (dx,) = grad_of(torch.sigmoid, [i["x"]], i["dy"])
    return {"y": y, "dx": dx}


def elementwise(i, a):
    x, b, s = i["a"].double(), i["b"].double(), i["s"].double()
    scaled = x * s[:, None, None, None, :]
    dx = b * s[:, None, None, None, :]
    ds = (b * x).sum(dim=(1, 2, 3))
    return {"add": x + b, "add_": x + b, "scale": 0.5 * x, "channel_scale": scaled, "channel_scale_dx": dx,
            "channel_scale_ds": ds, "concat": torch.cat([x, b], 0)}


def l2_normalize_rows(i, a):
    y, (dx,) = grad_of(lambda x: x / x.norm(dim=1, keepdim=True).clamp_min(1e-12), [i["x"]], i["dy"])
    return {"y": y, "dx": dx}


def pool(i, a):
    p = a["pool"]
    x, xn = ncdhw(i["x"].double()), ncdhw(i["xn"].double())
    # cmt pads max pooling with -inf and averages over the whole window (count_include_pad=True).
    y, (dx,) = grad_of(lambda t: F.max_pool3d(t, p["kernel"], p["stride"], p["padding"]), [x], ncdhw(i["dy"]))
    avg, (avg_dx,) = grad_of(lambda t: F.avg_pool3d(t, p["kernel"], p["stride"], p["padding"]), [xn], ncdhw(i["dyn"]))
    ada, (ada_dx,) = grad_of(lambda t: F.adaptive_avg_pool3d(t, a["bins"]), [xn], ncdhw(i["dya"]))
    glob, (glob_dx,) = grad_of(lambda t: t.mean(dim=(2, 3, 4)), [xn], i["dyg"])
    return {"max": ndhwc(y), "avg": ndhwc(avg), "avg_dx": ndhwc(avg_dx), "adaptive": ndhwc(ada),
            "adaptive_dx": ndhwc(ada_dx), "global": glob, "global_dx": ndhwc(glob_dx)}


def linear(i, a):
    x, w, b, dy = (i[k].double() for k in ("x", "w", "b", "dy"))
    bias = a["bias"]
    y = x @ w.T + (b if bias else 0)
    out = {"y": y, "dx": dy @ w, "dw": dy.T @ x}
    if bias:
        out["db"] = dy.sum(0)
    return out


def cross_entropy(i, a):
    labels = i["labels"].long()
    out = {}
    for weighted in (False, True):
        for smoothing in (0.0, 0.1):
            form = (" weighted" if weighted else "") + (" smoothed" if smoothing else "")
            weight = i["weight"].double() if weighted else None
            loss, (d,) = grad_of(lambda z: F.cross_entropy(z, labels, weight=weight, label_smoothing=smoothing),
                                 [i["logits"]], torch.tensor(a["scale"], dtype=torch.float64))
            out["loss" + form] = loss.reshape(1)
            out["probs" + form] = torch.softmax(i["logits"].double(), 1)
            out["dlogits" + form] = d
    return out


def batchnorm(i, a):
    x, dy = ncdhw(i["x"].double()), ncdhw(i["dy"].double())
    rm, rv = i["running_mean"].double().clone(), i["running_var"].double().clone()
    gamma, beta = i["gamma"].double(), i["beta"].double()
    y, (dx, dgamma, dbeta) = grad_of(lambda t, g, b: F.batch_norm(t, rm, rv, g, b, True, 0.1, 1e-5), [x, gamma, beta], dy)
    mean = x.mean(dim=(0, 2, 3, 4))
    invstd = 1 / (x.var(dim=(0, 2, 3, 4), unbiased=False) + 1e-5).sqrt()
    ev = F.batch_norm(x, rm, rv, gamma, beta, False, 0.1, 1e-3)
    return {"y": ndhwc(y), "running_mean": rm, "running_var": rv, "mean": mean, "invstd": invstd, "dx": ndhwc(dx),
            "dgamma": dgamma, "dbeta": dbeta, "eval": ndhwc(ev)}


def ntxent(i, a):
    """SimCLR's NT-Xent over 2N rows; row i's partner is i xor 1 (the paper's pairs (2k-1, 2k))."""
    tau = a["tau"]

    def loss_rows(r):
        z = r / r.norm(dim=1, keepdim=True).clamp_min(1e-12)
        n2 = z.shape[0]
        sim = z @ z.T / tau
        sim = sim.masked_fill(torch.eye(n2, dtype=torch.bool), float("-inf"))
        partner = torch.arange(n2) ^ 1  # cmt pairs rows (2k, 2k + 1)
        return torch.logsumexp(sim, 1) - sim[torch.arange(n2), partner]

    rows = loss_rows(i["r"].double())
    loss, (dr,) = grad_of(lambda r: loss_rows(r).mean(), [i["r"]], torch.tensor(a["dloss"], dtype=torch.float64))
    z = F.normalize(i["r"].double(), dim=1)
    n2 = z.shape[0]
    pos = (z * z[torch.arange(n2) ^ 1]).sum(1)
    return {"row_loss": rows, "pos_sim": pos, "loss": loss.reshape(1), "dr": dr}


def conv(i, a):
    x, w, b, dy = ncdhw(i["x"].double()), ncdhw(i["w"].double()), i["b"].double(), ncdhw(i["dy"].double())
    y, (dx, dw, db) = grad_of(lambda t, k, c: F.conv3d(t, k, c, a["stride"], a["padding"], a["dilation"], a["groups"]),
                              [x, w, b], dy)
    return {"y": ndhwc(y), "dx": ndhwc(dx), "dw": ndhwc(dw), "db": db}


def channel_map(i, a):
    x, m = i["x"].double(), i["m"]
    mean, (mean_dx,) = grad_of(lambda t: t.mean(dim=4, keepdim=True), [x], i["dym"])
    scaled, (dx, dm) = grad_of(lambda t, s: t * s, [x, m], i["dy"])  # (.., C) * (.., 1): broadcast over channels
    return {"mean": mean, "mean_dx": mean_dx, "scaled": scaled, "scaled_dx": dx, "scaled_dm": dm}


def transposed_conv(i, a):
    kd = a["kd"]
    w = i["w"].reshape(1, 1, kd, 2, 2)
    y, (dx, dw, db) = grad_of(lambda t, k, c: F.conv_transpose3d(t, k, c, stride=(kd, 2, 2)), [ncdhw(i["x"]), w, i["b"]],
                              ncdhw(i["dy"]))
    return {"y": ndhwc(y), "dx": ndhwc(dx), "dw": dw.reshape(kd, 2, 2), "db": db}


ORACLES = {f.__name__: f for f in [relu, silu, sigmoid, elementwise, l2_normalize_rows, pool, linear, cross_entropy, batchnorm,
                                   ntxent, conv, channel_map, transposed_conv]}


def compare(got, want, check, what):
    got, want = got.double().reshape(-1), want.double().reshape(-1)
    if got.shape != want.shape:
        return f"FAIL {what}: {tuple(got.shape)} elements, PyTorch {tuple(want.shape)}"
    atol, rtol = check["atol"], check["rtol"]
    if check["kind"] == "scaled":
        atol, rtol = atol * (want.abs().max().item() if want.numel() else 0) + 1e-7, 10 * atol
    atol, rtol = max(atol, 1e-5), max(rtol, 1e-4)
    diff = (got - want).abs()
    bad = ~(diff <= atol + rtol * want.abs())
    if bad.any():
        k = int(bad.nonzero()[0])
        return (f"FAIL {what}: {int(bad.sum())}/{got.numel()} elements off (atol {atol:.3g}, rtol {rtol:.3g}); "
                f"first at {k}: cmt {got[k].item():.8g}, PyTorch {want[k].item():.8g}")
    return f"ok   {what}: {got.numel()} elements, max abs diff {diff.max().item() if diff.numel() else 0:.3g}"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--binary", required=True)
    p.add_argument("--family", required=True)
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
    failures = 0
    with tempfile.TemporaryDirectory(prefix="cmt-ops-") as d:
        proc = subprocess.run([args.binary, "dump", args.family, d, "--device", args.device], capture_output=True, text=True)
        print(proc.stdout.strip())
        if proc.returncode != 0:
            print(proc.stderr.strip())
            return 1
        with open(os.path.join(d, "cases.json")) as f:
            cases = json.load(f)
        for c in cases:
            fn = ORACLES.get(c["oracle"])
            if fn is None:
                print(f"FAIL {c['id']}: no PyTorch function '{c['oracle']}' in {os.path.basename(__file__)}")
                failures += 1
                continue
            inputs = {k: load(d, s) for k, s in c["inputs"].items()}
            outputs = {k: load(d, s) for k, s in c["outputs"].items()}
            want = fn(inputs, c["args"])
            if not want:
                print(f"FAIL {c['id']}: the PyTorch function compared nothing")
                failures += 1
            for name, w in want.items():
                if name not in outputs:
                    print(f"FAIL {c['id']}: cmt gave no output '{name}'")
                    failures += 1
                    continue
                line = compare(outputs[name], w, c["checks"][name], f"{c['id']} {name}")
                print(line)
                failures += line.startswith("FAIL")
    print(f"{len(cases)} cases, {failures} failed checks")
    return 1 if failures or not cases else 0


if __name__ == "__main__":
    sys.exit(main())
