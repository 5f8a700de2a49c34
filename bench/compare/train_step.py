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

--max-batch [CAP] (after the same check, instead of timing): the largest batch whose training step fits,
per setting (eager, channels_last, amp_bf16), searched as `cmt bench memory` does: doubling from 1, then
bisection; each probe a fresh model and Adam running --probe-steps steps on a synthetic batch,
torch.cuda.OutOfMemoryError = does not fit; --memory-limit emulates a smaller card (a fraction of this
one). On the CPU: "not measured on the CPU". JSON: NAME (default memory_torch).json; memory_table.py
prints it beside `cmt bench memory`'s.

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
SEARCHED = ("eager", "channels_last", "amp_bf16")  # --max-batch


class CheckFailed(Exception):
    """The PyTorch model is not the one cmt trained: nothing may be timed."""


def find_exports(root):
    if os.path.isfile(os.path.join(root, "index.json")):
        return [root]
    dirs = sorted(os.path.join(root, d) for d in os.listdir(root) if os.path.isfile(os.path.join(root, d, "index.json")))
    if not dirs:
        raise CheckFailed(f"{root}: no index.json here or in its subfolders (write one with `cmt bench train --export {root}`)")
    return dirs


def label(ix, with_batch=True):
    extra = "" if ix["width"] == 1 and ix["depth"] == 1 else f" w{ix['width']:g} d{ix['depth']:g}"
    return f"{ix['backbone']} {ix['dims']}D {ix['size']}^{ix['dims']}{' b' + str(ix['batch']) if with_batch else ''}{extra}"


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


def setting_precision(setting, device, args):
    return "bf16" if setting in ("amp_bf16", "compile") else ("tf32" if device.type == "cuda" and args.precision == "tf32" else "fp32")


def time_setting(export, setting, device, args):
    """One setting's row: its timings and peak memory, or why it could not run."""
    row = {"setting": setting, "precision": setting_precision(setting, device, args)}
    if setting == "compile" and not hasattr(torch, "compile"):
        row["unavailable"] = f"unavailable: torch {torch.__version__} has no torch.compile"
        return row
    try:
        row.update(run_setting(export, setting, device, args))
    except Exception as e:  # noqa: BLE001  (out of memory, or torch.compile's backend missing at its first call)
        reason = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        row["unavailable" if setting == "compile" else "error"] = ("unavailable: " if setting == "compile" else "") + reason
    return row


def training_step(export, setting, device, views, labels):
    """A fresh model with cmt's initial weights and Adam, in the setting's memory format and precision;
    returns the step (zero_grad, forward, both losses, backward, Adam), the list its losses go to, and
    the memory format."""
    ix, opt_cfg = export.index, export.index["optimizer"]
    fmt = None if setting == "eager" else (torch.channels_last_3d if ix["dims"] == 3 else torch.channels_last)
    model = export.model(device).train()
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
    return step, losses, fmt


def run_setting(export, setting, device, args):
    gpu = device.type == "cuda"
    gc.collect()
    if gpu:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    step, losses, fmt = training_step(export, setting, device, export.views.to(device), export.labels.to(device))
    for _ in range(args.warmup):
        step()
    # Peak over the warm-up (cmt measures it the same way), before the timer's L2-flush buffer exists.
    peak = torch.cuda.max_memory_allocated(device) if gpu else None
    time_one = timer(device)
    ms = summarize([time_one(step) for _ in range(args.steps)])
    steps_per_s = 1e3 / ms["median"]
    ix = export.index
    return {"memory_format": str(fmt or torch.contiguous_format).replace("torch.", ""), "step_ms": ms, "steps_per_s": steps_per_s,
            "samples_per_s": steps_per_s * ix["batch"], "views_per_s": steps_per_s * 2 * ix["batch"], "peak_bytes": peak,
            "last_loss": float(losses[-1])}


def largest_batch(cap, fits):
    """Doubling from 1 until a batch does not fit (or the cap fits), then bisection between the largest
    batch that fit and the smallest that did not, as `cmt bench memory` searches: the answer fits and
    answer + 1 does not, unless it is the cap; 0 when not even one sample fits."""
    lo, hi, b = 0, 0, 1
    while True:
        if not fits(b):
            hi = b
            break
        lo = b
        if b == cap:
            return cap
        b = min(2 * b, cap)
    while hi - lo > 1:
        mid = lo + (hi - lo) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid
    return lo


def probe(export, setting, batch, device, steps):
    """A fresh model and Adam run `steps` steps on a synthetic batch of `batch` samples (2 x batch views);
    out of memory anywhere = does not fit. Everything is freed and the cache emptied afterwards."""
    gc.collect()
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats(device)
    d = export.index["views_dims"]  # cmt's (2N, D, H, W, 1)
    shape = (2 * batch, 1, d[1], d[2], d[3]) if export.index["dims"] == 3 else (2 * batch, 1, d[2], d[3])
    error = None
    try:
        views = torch.rand(shape, device=device) - 0.5
        labels = (torch.arange(batch, device=device) % export.index["classes"]).repeat_interleave(2)
        step, losses, _ = training_step(export, setting, device, views, labels)
        for _ in range(steps):
            step()
        float(losses[-1])  # waits for the last step
    except torch.cuda.OutOfMemoryError as e:
        error = f"OutOfMemoryError: {str(e).splitlines()[0] if str(e) else ''}"
    views = labels = step = losses = None
    peak = torch.cuda.max_memory_allocated(device)
    gc.collect()
    torch.cuda.empty_cache()
    return {"batch": batch, "fits": error is None, "peak_bytes": peak, **({"error": error} if error else {})}


def search_setting(export, setting, device, args):
    """One setting's largest batch, or why it was not searched."""
    row = {"setting": setting, "precision": setting_precision(setting, device, args)}
    if device.type != "cuda":
        row["not_measured"] = "not measured on the CPU (no memory limit there: the search would end in the system's OOM killer)"
        return row
    probes = {}

    def fits(b):
        p = probe(export, setting, b, device, args.probe_steps)
        probes[b] = p
        print(f"  {label(export.index, False)} {setting} batch {b:>5}: {'fits' if p['fits'] else 'out of memory':<15} peak {p['peak_bytes'] / 2**20:.1f} MiB")
        return p["fits"]
    try:
        best = largest_batch(args.max_batch, fits)
    except Exception as e:  # noqa: BLE001  (anything but out of memory: no answer for this setting, the others go on)
        row.update(error=f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}", probes=list(probes.values()))
        gc.collect()
        torch.cuda.empty_cache()
        return row
    row.update(max_batch=best, max_views=2 * best, capped=best == args.max_batch, search_cap=args.max_batch,
               peak_bytes=probes[best]["peak_bytes"] if best else 0, probes=list(probes.values()))
    return row


def search_all(exports, report, settings, device, args):
    """`--max-batch`: each export's largest batch per setting; the JSON after every setting."""
    if device.type == "cuda" and args.memory_limit:
        total = torch.cuda.get_device_properties(device).total_memory
        torch.cuda.set_per_process_memory_fraction(min(1.0, args.memory_limit / total), device)
    report.update(bench="memory_torch", memory_limit_bytes=args.memory_limit or None, steps_per_probe=args.probe_steps)
    path = os.path.join(args.out, (args.name or "memory_torch") + ".json")
    os.makedirs(args.out, exist_ok=True)
    print(f"{'config':<36} {'setting':<14} {'prec':<5} {'largest batch':>17} {'views':>6} {'peak mem':>10}")
    failed = 0
    for e, cfg in zip(exports, report["configs"]):
        cfg["label"] = label(e.index, False)
        for s in settings:
            row = search_setting(e, s, device, args)
            cfg["settings"].append(row)
            if "max_batch" in row:
                print(f"{cfg['label']:<36} {s:<14} {row['precision']:<5} {row['max_batch']:>8}{' (cap)' if row['capped'] else '':<9} "
                      f"{row['max_views']:>6} {row['peak_bytes'] / 2**20:>6.1f} MiB")
            else:
                failed += "error" in row
                print(f"{cfg['label']:<36} {s:<14} {row['precision']:<5} {row.get('not_measured') or 'FAILED: ' + row['error']}")
            save(report, path)  # after every setting: a search cut short keeps the others
    return finish(report, path, failed)


def save(report, path):
    with open(path, "w") as f:
        json.dump(report, f, indent=1)


def finish(report, path, failed):
    """Writes the JSON; exit code 1 when a setting failed (the JSON has the rest)."""
    save(report, path)
    print("wrote", path)
    if failed:
        print(f"train_step.py: {failed} setting(s) failed (see above; the JSON has the rest)", file=sys.stderr)
    return 1 if failed else 0


def byte_size(text):
    """Bytes from "123", "512K" or "80G" (binary K, M, G, as cmt's --limit)."""
    scale = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30}.get(text[-1:].upper() if text[-1:].isalpha() else "")
    number = text[:-1] if text[-1:].isalpha() else text
    try:
        if scale is None or float(number) < 0:
            raise ValueError
        return int(float(number) * scale)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a byte count (a number with an optional K, M or G suffix, e.g. 80G)") from None


def environment(device):
    env = {"torch": torch.__version__, "python": sys.version.split()[0], "device": str(device),
           "timer": "cuda_events" if device.type == "cuda" else "wall_clock", "check_tolerance": {"atol": LOSS_ATOL, "rtol": LOSS_RTOL}}
    if device.type == "cuda":
        env.update(card=torch.cuda.get_device_name(device), cuda=torch.version.cuda, cudnn=torch.backends.cudnn.version(),
                   device_memory_bytes=torch.cuda.get_device_properties(device).total_memory)
    return env


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--export", required=True, nargs="+", help="`cmt bench train --export` folders, or folders of them")
    ap.add_argument("--check-only", action="store_true", help="only check parameter count and losses against cmt")
    ap.add_argument("--device", default="auto", help="auto | cpu | cuda[:i]")
    ap.add_argument("--settings", help=f"comma list of {', '.join(SETTINGS)} (default: all; --max-batch: {', '.join(SEARCHED)})")
    ap.add_argument("--precision", default="tf32", choices=("tf32", "fp32"), help="math of eager/channels_last on a GPU")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--out", default=os.environ.get("OUT") or "bench-out")
    ap.add_argument("--name", help="JSON file name without .json (default train_torch; --max-batch: memory_torch)")
    ap.add_argument("--max-batch", type=int, nargs="?", const=1024, metavar="CAP",
                    help="instead of timing: the largest batch whose step fits, searched up to CAP samples (default 1024)")
    ap.add_argument("--memory-limit", type=byte_size, default=0, help="--max-batch: the card to emulate, e.g. 80G (as cmt's --limit)")
    ap.add_argument("--probe-steps", type=int, default=3, help="--max-batch: steps per probe (Adam's state and cuDNN's choices come in the first)")
    args = ap.parse_args(argv)
    allowed = SEARCHED if args.max_batch is not None else SETTINGS
    settings = [s for s in (args.settings or ",".join(allowed)).split(",") if s]
    bad = [s for s in settings if s not in allowed]
    if bad:
        ap.error(f"--settings: {bad} not among {', '.join(allowed)}" +
                 (" (torch.compile is not searched: every probe's new shapes would compile anew)" if args.max_batch is not None else ""))
    if args.steps < 1 or args.warmup < 0 or args.probe_steps < 2:
        ap.error("--steps must be >= 1, --warmup >= 0 and --probe-steps >= 2")
    if args.max_batch is not None and args.max_batch < 1:
        ap.error(f"--max-batch: the cap must be >= 1, got {args.max_batch}")
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
    if args.max_batch is not None:
        return search_all(exports, report, settings, device, args)
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
    return finish(report, os.path.join(args.out, (args.name or "train_torch") + ".json"), failed)


if __name__ == "__main__":
    sys.exit(main())
