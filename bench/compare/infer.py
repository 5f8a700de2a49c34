"""PyTorch side of `cmt bench infer`: the same CMT-CNN on the same weights and image, in evaluation
mode, one prediction (forward + softmax) timed per call on this machine's own PyTorch.

Before timing it loads each export of `cmt bench infer --export DIR` (fp32 weights, the image, cmt's
class probabilities), checks the parameter names, shapes and count, and that PyTorch's probabilities
on that image equal cmt's (|torch - cmt| <= ATOL per class); any difference stops it with exit code 1.
The exported model is freshly initialised, so batch norm's running statistics are the defaults
(mean 0, variance 1) on both sides. Then it times the prediction in two settings, under
torch.inference_mode():
  eager          NCDHW (NCHW in 2D), fp32
  channels_last  channels_last_3d (channels_last in 2D), fp32
Wall clock and medians on the CPU, CUDA events on a GPU (as train_step.py).

  python3 bench/compare/infer.py --export DIR [DIR ...] [--device auto|cpu|cuda] [--warmup 3] [--repeats 20]
      [--cmt BENCH_INFER.json] [--out DIR] [--name infer_torch]

With --cmt (the JSON `cmt bench infer` wrote in the same run), each row also shows cmt's fp32 median
and x = PyTorch's faster setting / cmt. JSON: --out (default $OUT, else ./bench-out)/NAME.json."""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_step as ts  # noqa: E402  (Export's model loading, timers, summaries)

PROB_ATOL = 1e-4  # fp32 both sides, different summation orders; a wrong weight moves them far more
SETTINGS = ("eager", "channels_last")


class InferExport(ts.Export):
    """One folder of `cmt bench infer --export`: index, flat parameters, image (N, D, H, W, 1), probabilities."""

    def __init__(self, path):  # noqa: super().__init__ reads a training export's views, which this has not
        self.path = path
        with open(os.path.join(path, "index.json")) as f:
            self.index = json.load(f)
        ix = self.index
        if "image_dims" not in ix:
            raise ts.CheckFailed(f"{path}: not an inference export (write one with `cmt bench infer --export`)")
        self.params = ts.read_raw(os.path.join(path, "params.f32"), np.float32,
                                  max(p["offset"] + int(np.prod(json.loads(p["shape"]))) for p in ix["parameters"]))
        dims = ix["image_dims"]
        image = ts.read_raw(os.path.join(path, "image.f32"), np.float32, int(np.prod(dims))).reshape(dims)
        # cmt's (N, D, H, W, 1) -> torch's (N, 1, D, H, W), or (N, 1, H, W) in 2D
        self.image = image.squeeze(-1).unsqueeze(1) if ix["dims"] == 3 else image[:, 0].movedim(-1, 1)
        pdims = ix["probabilities_dims"]
        self.probabilities = ts.read_raw(os.path.join(path, "probabilities.f32"), np.float32, int(np.prod(pdims))).reshape(pdims)


def find_exports(root):
    if os.path.isfile(os.path.join(root, "index.json")):
        return [root]
    dirs = sorted(os.path.join(root, d) for d in os.listdir(root) if os.path.isfile(os.path.join(root, d, "index.json")))
    if not dirs:
        raise ts.CheckFailed(f"{root}: no index.json here or in its subfolders (write one with `cmt bench infer --export {root}`)")
    return dirs


def predict(model):
    def run(x):
        _, logits = model(x)
        return torch.softmax(logits, dim=1)
    return run


def check(export, device):
    """PyTorch's fp32 probabilities on cmt's weights and image, against cmt's; returns the comparison."""
    model = export.model(device).eval()
    with torch.inference_mode():
        got = predict(model)(export.image.to(device)).float().cpu()
    want = export.probabilities
    if tuple(got.shape) != tuple(want.shape):
        raise ts.CheckFailed(f"{export.path}: PyTorch gives probabilities {tuple(got.shape)}, cmt {tuple(want.shape)}")
    worst = float((got - want).abs().max())
    if not worst <= PROB_ATOL:
        raise ts.CheckFailed(f"{export.path}: probabilities differ by up to {worst:.3g} (> {PROB_ATOL:g}): PyTorch "
                             f"{got.flatten()[:4].tolist()} vs cmt {want.flatten()[:4].tolist()}; the model or its weights "
                             "are not the same")
    return {"num_parameters": export.index["num_parameters"], "max_abs_difference": worst, "tolerance": PROB_ATOL}


def time_setting(export, setting, device, args):
    fmt = None if setting == "eager" else (torch.channels_last_3d if export.index["dims"] == 3 else torch.channels_last)
    model = export.model(device).eval()
    image = export.image.to(device)
    if fmt is not None:
        model, image = model.to(memory_format=fmt), image.contiguous(memory_format=fmt)
    run = predict(model)
    time_one = ts.timer(device)
    with torch.inference_mode():
        for _ in range(args.warmup):
            run(image)
        ms = ts.summarize([time_one(lambda: run(image).cpu()) for _ in range(args.repeats)])
    return {"setting": setting, "memory_format": str(fmt or torch.contiguous_format).replace("torch.", ""), "latency_ms": ms}


def cmt_medians(path):
    """label -> cmt's fp32 median ms, from `cmt bench infer`'s JSON."""
    with open(path) as f:
        runs = json.load(f).get("runs", [])
    return {r["label"]: r["latency_ms"]["median"] for r in runs if r.get("precision") == "fp32"}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--export", required=True, nargs="+", help="`cmt bench infer --export` folders, or folders of them")
    ap.add_argument("--device", default="auto", help="auto | cpu | cuda[:i]")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--cmt", help="cmt bench infer's JSON from the same run: adds cmt's median and the ratio")
    ap.add_argument("--out", default=os.environ.get("OUT") or "bench-out")
    ap.add_argument("--name", default="infer_torch", help="JSON file name without .json")
    args = ap.parse_args(argv)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          "cpu" if args.device == "auto" else args.device)
    ours = cmt_medians(args.cmt) if args.cmt else {}
    report = {"bench": "infer_torch", "torch": torch.__version__, "device": str(device), "threads": torch.get_num_threads(),
              "configs": []}
    try:
        exports = [InferExport(d) for root in args.export for d in find_exports(root)]
        print(f"{'config':<36} {'setting':<14} {'median ms':>10} {'min ms':>10} {'cmt ms':>10} {'x':>6}")
        for e in exports:
            name = ts.label(e.index)
            cfg = {"label": name, "check": check(e, device), "settings": []}
            for s in SETTINGS:
                row = time_setting(e, s, device, args)
                cfg["settings"].append(row)
                print(f"{name:<36} {s:<14} {row['latency_ms']['median']:>10.2f} {row['latency_ms']['min']:>10.2f}")
            best = min(r["latency_ms"]["median"] for r in cfg["settings"])
            if name in ours:
                cfg["cmt_median_ms"] = ours[name]
                cfg["x_torch_best_over_cmt"] = best / ours[name]
                print(f"{name:<36} {'cmt':<14} {ours[name]:>10.2f} {'':>10} {ours[name]:>10.2f} {best / ours[name]:>6.2f}")
            report["configs"].append(cfg)
    except ts.CheckFailed as e:
        print(f"infer.py: {e}", file=sys.stderr)
        return 1
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, args.name + ".json")
    ts.save(report, path)
    print("wrote", path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
