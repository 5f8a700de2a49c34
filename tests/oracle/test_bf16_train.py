"""bf16 end to end (docs/bf16.md): a short phantom training run in fp32 and in bf16 from the same seed; the
bf16 loss curve follows the fp32 one within the tolerance of docs/bf16.md (loss_curves.py: in units of
the fp32 curve's own step-to-step noise sigma, step 0 within sigma/2, every step within 6 sigma, the
mean |difference| within 1.7 sigma, the final loss within 1.5 sigma). `cmt profile` shows that the
bf16 backbone really holds bf16 activations."""
import json
import shutil
import tempfile

import harness
import loss_curves

harness.setup()
tmp = tempfile.mkdtemp(prefix="cmt-bf16-")
check = harness.check


harness.cmt("synth", "--out", f"{tmp}/raw", "--modality", "xray", "--format", "png", "--count", 90, "--seed", 3,
            "--size", "xray=32", "--difficulty", "0.1")
harness.cmt("prepare", "--input", f"{tmp}/raw/xray/png", "--out", f"{tmp}/x.h5", "--modality", "xray", "--size", 32)
common = ["--dataset", f"{tmp}/x.h5", "--backbone", "resnet50", "--width", "0.25", "--depth", "0.34", "--latent-dim", 32,
          "--batch-size", 12, "--augment", "poisson+flip", "--seed", 5, "--no-progress", "--fold", 0, "--epochs", 100,
          "--steps", 40]
curves = {}
for precision in ("fp32", "bf16"):
    harness.cmt("train", *common, "--precision", precision, "--out", f"{tmp}/{precision}")
    curves[precision] = loss_curves.losses(f"{tmp}/{precision}")
    with open(f"{tmp}/{precision}/eval.json") as f:
        check("accuracy" in json.load(f), f"{precision}: the held-out evaluation ran")
a, b = curves["fp32"], curves["bf16"]
check(len(a) == len(b) == 40, f"40 steps each ({len(a)}, {len(b)})")

for ok, message in loss_curves.compare(a, b):
    check(ok, message)
for name, c in curves.items():
    check(sum(c[-10:]) < sum(c[:10]), f"{name}: the loss falls ({sum(c[:10]) / 10:.3f} -> {sum(c[-10:]) / 10:.3f})")

# The bf16 step holds bf16 activations: every backbone layer's output has half the fp32 bytes.
ranges = {}
for precision in ("fp32", "bf16"):
    path = f"{tmp}/profile-{precision}.json"
    harness.cmt("profile", "--backbone", "resnet50", "--dims", 2, "--size", 32, "--batch-size", 2, "--width", "0.25", "--depth", "0.34",
                "--latent-dim", 32, "--precision", precision, "--json", path, "--trace", f"{tmp}/trace-{precision}.json")
    with open(path) as f:
        ranges[precision] = [r for r in json.load(f)["ranges"] if r["pass"] == "forward" and r["name"].startswith("backbone.")]
pairs = list(zip(ranges["fp32"], ranges["bf16"]))
check(len(pairs) > 20 and len(ranges["fp32"]) == len(ranges["bf16"]), f"{len(pairs)} backbone layers profiled in both")
halved = [f["name"] for f, h in pairs if f["name"] == h["name"] and 2 * h["out_bytes"] == f["out_bytes"] > 0]
check(len(halved) == len(pairs), f"every backbone layer's output is bf16 ({len(halved)}/{len(pairs)} halved)")

shutil.rmtree(tmp, ignore_errors=True)
harness.finish()
