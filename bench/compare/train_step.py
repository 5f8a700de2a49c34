"""PyTorch side of `cmt bench train`: the same CMT-CNN (tests/oracle/cmt_reference.py), loss (L_cls +
lambda * NT-Xent; the head sees only L_cls, Eq. 9), Adam and batch, on this machine's own PyTorch.

Before timing anything it loads each export of `cmt bench train --export DIR` (fp32 initial weights,
the first step's two views and labels, cmt's losses), checks that the PyTorch model has the same
parameter names, shapes and count, and that its fp32 losses on those weights and views equal cmt's
(|torch - cmt| <= ATOL + RTOL * |cmt| per loss term); any difference stops it with exit code 1. Then it
times the step (zero_grad, forward, both losses, backward, Adam) in four settings:
  eager          NCDHW (NCHW in 2D), fp32 storage (TF32 math on a GPU unless --precision fp32)
  channels_last  channels_last_3d (channels_last in 2D), same math
  amp_bf16       channels_last + autocast bf16
  compile        torch.compile of the amp_bf16 model ("unavailable: <reason>" where torch has none)
CUDA events (L2 flushed before each step, as cmt's timer does) and medians on a GPU, wall clock on the
CPU; peak memory per setting (torch.cuda.max_memory_allocated; not measured on the CPU).

  python3 bench/compare/train_step.py --export DIR [DIR ...] [--check-only] [--device auto|cpu|cuda]
      [--settings eager,channels_last,amp_bf16,compile] [--warmup 2] [--steps 10] [--out DIR] [--name train_torch]

Each DIR is one export folder or a folder of them. JSON: --out (default $OUT, else ./bench-out)/NAME.json."""
import argparse
import gc
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "oracle"))
import cmt_reference as ref  # noqa: E402  (the reference models with cmt's parameter names)

# fp32 on both sides, different summation orders: the loss terms agree to ~1e-6 on small models and
# to ~1e-4 relative through a full-size 3D network; a wrong weight or layer moves them by far more.
LOSS_ATOL, LOSS_RTOL = 1e-4, 2e-3
SETTINGS = ("eager", "channels_last", "amp_bf16", "compile")


class CheckFailed(Exception):
    """The PyTorch model is not the one cmt trained: nothing may be timed."""


def find_exports(root):
    if os.path.isfile(os.path.join(root, "index.json")):
        return [root]
    dirs = sorted(os.path.join(root, d) for d in os.listdir(root) if os.path.isfile(os.path.join(root, d, "index.json")))
    if not dirs:
        raise CheckFailed(f"{root}: no index.json here or in its subfolders (write one with `cmt bench train --export {root}`)")
    return dirs


def label(ix):
    extra = "" if ix["width"] == 1 and ix["depth"] == 1 else f" w{ix['width']:g} d{ix['depth']:g}"
    return f"{ix['backbone']} {ix['dims']}D {ix['size']}^{ix['dims']} b{ix['batch']}{extra}"


def read_raw(path, dtype, count):
    data = np.fromfile(path, dtype=dtype)
    if data.size < count:
        raise CheckFailed(f"{path}: {data.size} values, the index needs {count}")
    return torch.from_numpy(data[:count].copy())


class Export:
    """One folder of `cmt bench train --export`: index, flat parameters, views (2N, D, H, W, 1), labels."""

    def __init__(self, path):
        self.path = path
        with open(os.path.join(path, "index.json")) as f:
            self.index = json.load(f)
        ix = self.index
        dims = ix["views_dims"]
        self.params = read_raw(os.path.join(path, "params.f32"), np.float32,
                               max(p["offset"] + int(np.prod(json.loads(p["shape"]))) for p in ix["parameters"]))
        views = read_raw(os.path.join(path, "views.f32"), np.float32, int(np.prod(dims))).reshape(dims)
        # cmt's (2N, D, H, W, 1) -> torch's (2N, 1, D, H, W), or (2N, 1, H, W) in 2D
        self.views = views.squeeze(-1).unsqueeze(1) if ix["dims"] == 3 else views[:, 0].movedim(-1, 1)
        self.labels = read_raw(os.path.join(path, "labels.i32"), np.int32, dims[0]).long()

    def model(self, device):
        """The reference model with cmt's initial weights; CheckFailed when names, shapes or counts differ."""
        ix = self.index
        model = ref.CmtReference(ix["backbone"], ix["dims"], ix["width"], ix["depth"], ix["latent"], ix["classes"])
        named = dict(model.named_parameters())
        ours = {p["path"]: p for p in ix["parameters"]}
        if set(named) != set(ours):
            raise CheckFailed(f"{self.path}: parameter names differ: only in cmt {sorted(set(ours) - set(named))[:5]}, "
                              f"only in PyTorch {sorted(set(named) - set(ours))[:5]}")
        count = sum(p.numel() for p in named.values())
        if count != ix["num_parameters"]:
            raise CheckFailed(f"{self.path}: parameter count differs: cmt {ix['num_parameters']}, PyTorch {count}")
        with torch.no_grad():
            for name, p in named.items():
                shape = json.loads(ours[name]["shape"])
                flat = self.params[ours[name]["offset"]:ours[name]["offset"] + int(np.prod(shape))]
                w = ref.to_torch_layout(flat.reshape(shape), ix["dims"])
                if tuple(w.shape) != tuple(p.shape):
                    raise CheckFailed(f"{self.path}: {name}: cmt shape {shape} is {tuple(w.shape)} in torch layout, PyTorch has {tuple(p.shape)}")
                p.copy_(w)
        return model.to(device)


def check(export, device):
    """fp32 losses of the first step on cmt's weights and views, against cmt's; returns the comparison."""
    tf32 = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        ix = export.index
        model = export.model(device).train()
        with torch.no_grad():
            got = ref.cmt_loss(model, export.views.to(device), export.labels.to(device), ix["lambda"], ix["tau"])
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = tf32
    result = {"num_parameters": ix["num_parameters"], "tolerance": {"atol": LOSS_ATOL, "rtol": LOSS_RTOL}}
    off = []
    for key, value in zip(("total", "classification", "contrastive"), got):
        want, have = ix["loss"][key], float(value)
        result[key] = {"cmt": want, "torch": have}
        if not abs(have - want) <= LOSS_ATOL + LOSS_RTOL * abs(want):
            off.append(f"'{key}' PyTorch {have:.7g} vs cmt {want:.7g}")
    if off:
        raise CheckFailed(f"{export.path}: loss {'; '.join(off)} differ beyond {LOSS_ATOL:g} + {LOSS_RTOL:g} * |cmt|: "
                          "the model, its weights or the views are not the same")
    return result


def timer(device):
    """A function that times one call: CUDA events after an L2 flush on a GPU, wall clock on the CPU."""
    if device.type != "cuda":
        def host(fn):
            t0 = time.perf_counter()
            fn()
            return (time.perf_counter() - t0) * 1e3
        return host
    flush = torch.empty(256 << 20, dtype=torch.uint8, device=device)

    def cuda(fn):
        flush.zero_()
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        return a.elapsed_time(b)
    return cuda


def summarize(ms):
    ms = sorted(ms)
    return {"median": ms[len(ms) // 2], "min": ms[0], "p90": ms[(9 * len(ms) + 9) // 10 - 1], "max": ms[-1], "runs": len(ms)}


def time_setting(export, setting, device, args):
    """One setting's row: its timings and peak memory, or why it could not run."""
    gpu = device.type == "cuda"
    row = {"setting": setting, "precision": "bf16" if setting in ("amp_bf16", "compile") else ("tf32" if gpu and args.precision == "tf32" else "fp32")}
    if setting == "compile" and not hasattr(torch, "compile"):
        row["unavailable"] = f"unavailable: torch {torch.__version__} has no torch.compile"
        return row
    try:
        row.update(run_setting(export, setting, device, args))
    except Exception as e:  # noqa: BLE001  (out of memory, or torch.compile's backend missing at its first call)
        reason = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        row["unavailable" if setting == "compile" else "error"] = ("unavailable: " if setting == "compile" else "") + reason
    return row


def run_setting(export, setting, device, args):
    ix, opt_cfg = export.index, export.index["optimizer"]
    gpu = device.type == "cuda"
    gc.collect()
    if gpu:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    fmt = None if setting == "eager" else (torch.channels_last_3d if ix["dims"] == 3 else torch.channels_last)
    model = export.model(device).train()
    views, labels = export.views.to(device), export.labels.to(device)
    if fmt is not None:
        model, views = model.to(memory_format=fmt), views.contiguous(memory_format=fmt)
    opt = torch.optim.Adam(model.parameters(), lr=opt_cfg["lr"], betas=(opt_cfg["beta1"], opt_cfg["beta2"]), eps=opt_cfg["eps"],
                           weight_decay=opt_cfg["weight_decay"])
    forward = torch.compile(model) if setting == "compile" else model
    amp = setting in ("amp_bf16", "compile")
    losses = []

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp):
            loss, _, _ = ref.cmt_loss(forward, views, labels, ix["lambda"], ix["tau"])
        loss.backward()
        opt.step()
        losses.append(loss.detach())

    for _ in range(args.warmup):
        step()
    # Peak over the warm-up (cmt measures it the same way), before the timer's L2-flush buffer exists.
    peak = torch.cuda.max_memory_allocated(device) if gpu else None
    time_one = timer(device)
    ms = summarize([time_one(step) for _ in range(args.steps)])
    steps_per_s = 1e3 / ms["median"]
    return {"memory_format": str(fmt or torch.contiguous_format).replace("torch.", ""), "step_ms": ms, "steps_per_s": steps_per_s,
            "samples_per_s": steps_per_s * ix["batch"], "views_per_s": steps_per_s * 2 * ix["batch"], "peak_bytes": peak,
            "last_loss": float(losses[-1])}


def environment(device):
    env = {"torch": torch.__version__, "python": sys.version.split()[0], "device": str(device),
           "timer": "cuda_events" if device.type == "cuda" else "wall_clock", "check_tolerance": {"atol": LOSS_ATOL, "rtol": LOSS_RTOL}}
    if device.type == "cuda":
        env.update(card=torch.cuda.get_device_name(device), cuda=torch.version.cuda, cudnn=torch.backends.cudnn.version())
    return env


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--export", required=True, nargs="+", help="`cmt bench train --export` folders, or folders of them")
    ap.add_argument("--check-only", action="store_true", help="only check parameter count and losses against cmt")
    ap.add_argument("--device", default="auto", help="auto | cpu | cuda[:i]")
    ap.add_argument("--settings", default=",".join(SETTINGS), help="comma list of " + ", ".join(SETTINGS))
    ap.add_argument("--precision", default="tf32", choices=("tf32", "fp32"), help="math of eager/channels_last on a GPU")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--out", default=os.environ.get("OUT") or "bench-out")
    ap.add_argument("--name", default="train_torch")
    args = ap.parse_args(argv)
    settings = [s for s in args.settings.split(",") if s]
    bad = [s for s in settings if s not in SETTINGS]
    if bad or args.steps < 1 or args.warmup < 0:
        ap.error(f"--settings: unknown {bad} (expected {', '.join(SETTINGS)})" if bad else "--steps must be >= 1 and --warmup >= 0")
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu") if args.device == "auto" else torch.device(args.device)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = args.precision == "tf32"
    torch.backends.cudnn.benchmark = True
    try:
        exports = [Export(d) for root in args.export for d in find_exports(root)]
        report = {"bench": "train_torch", **environment(device), "configs": []}
        for e in exports:
            c = check(e, device)
            print(f"{label(e.index)}: same parameters ({c['num_parameters']}) and losses as cmt "
                  f"(total {c['total']['torch']:.6f} vs {c['total']['cmt']:.6f})")
            report["configs"].append({"label": label(e.index), "export": e.path, "check": c, "settings": [],
                                      **{k: e.index[k] for k in ("backbone", "dims", "size", "batch", "width", "depth", "latent")}})
    except CheckFailed as err:
        print(f"train_step.py: check FAILED: {err}", file=sys.stderr)
        return 1
    if args.check_only:
        print("check passed for", len(exports), "export(s)")
        return 0
    print(f"{'config':<40} {'setting':<14} {'prec':<5} {'step ms':>9} {'min':>9} {'p90':>9} {'samples/s':>10} {'peak mem':>10}")
    failed = 0
    for e, cfg in zip(exports, report["configs"]):
        for s in settings:
            row = time_setting(e, s, device, args)
            cfg["settings"].append(row)
            if "step_ms" not in row:
                failed += "error" in row
                print(f"{cfg['label']:<40} {s:<14} {row['precision']:<5} {row.get('unavailable') or 'FAILED: ' + row['error']}")
                continue
            t = row["step_ms"]
            peak = f"{row['peak_bytes'] / 2**20:.1f} MiB" if row["peak_bytes"] is not None else "-"
            print(f"{cfg['label']:<40} {s:<14} {row['precision']:<5} {t['median']:>9.2f} {t['min']:>9.2f} {t['p90']:>9.2f} "
                  f"{row['samples_per_s']:>10.1f} {peak:>10}")
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, args.name + ".json")
    with open(path, "w") as f:
        json.dump(report, f, indent=1)
    print("wrote", path)
    if failed:
        print(f"train_step.py: {failed} setting(s) failed (see above; the JSON has the rest)", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
