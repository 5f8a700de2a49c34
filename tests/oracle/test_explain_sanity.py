"""The model-randomisation check of saliency maps (Adebayo et al., 2018) on `cmt explain`: a CMT-CNN
trained on X-ray phantoms, and the same run with every convolution and linear weight redrawn (same
mean and spread per tensor), explain the same held-out samples; the maps must change (no map of the
randomised run equals the trained run's, and the mean Spearman rank correlation stays below 0.98),
while the same run explained twice gives rank correlation 1. The bound is loose on purpose: a barely
trained model's maps follow the phantom's intensity as a random model's do, so the mean varies widely
with the seed (-0.42 to 0.93 over 28 seeds); what it catches is maps that do not depend on the
weights (a --compare run that explains the first run again gives 1). Grad-CAM
maps of a barely trained model are often 0 everywhere (the predicted class's score comes from the
biases); Grad-CAM++ weights are never negative, so its maps of ReLU features are not: the pairs in
which both maps vary count, and Grad-CAM++ gives one per sample."""
import os
import shutil
import tempfile

import h5py
import numpy as np
from scipy.stats import spearmanr

import harness

seed = harness.setup()
work = tempfile.mkdtemp(prefix="cmt-explain-sanity-")
os.chdir(work)
harness.cmt("synth", "--out", "raw", "--modality", "xray", "--format", "png", "--count", "24", "--seed", seed % 1000,
            "--size", "xray=96")
harness.cmt("prepare", "--input", "raw/xray/png", "--out", "xray.h5", "--size", "96", "--folds", "2")
harness.cmt("train", "--dataset", "xray.h5", "--backbone", "resnet50", "--width", "0.125", "--depth", "0.34", "--latent-dim", "16",
            "--batch-size", "4", "--epochs", "3", "--lr", "0.003", "--device", "cpu", "--no-progress",
            "--seed", seed, "--out", "trained")
shutil.copytree("trained", "randomised")
rng = np.random.default_rng(seed)
for name in ("last.h5", "best.h5"):
    path = os.path.join("randomised", name)
    if not os.path.exists(path):
        continue
    with h5py.File(path, "r+") as f:
        for key, ds in f["parameters"].items():
            if key.endswith(".weight") and ds.ndim >= 2:  # convolutions and linear layers; batch norm kept
                w = ds[...]
                ds[...] = rng.normal(w.mean(), w.std() + 1e-8, w.shape).astype(np.float32)

with h5py.File("xray.h5", "r") as f:
    held_out = [int(i) for i in np.nonzero(f["folds"][...] == 0)[0]][:8]
samples = ",".join(map(str, held_out))


def rank_correlations(compare, out, method):
    harness.cmt("explain", "--run", "trained", "--compare", compare, "--dataset", "xray.h5", "--samples", samples, "--out", out,
                "--device", "cpu", "--method", method)
    rhos, equal = [], 0
    for name in sorted(os.listdir(out)):
        if name.endswith(".h5"):
            with h5py.File(os.path.join(out, name), "r") as f:
                a, b = f["map"][...].ravel(), f["map_compare"][...].ravel()
            rhos.append(spearmanr(a, b).correlation if a.std() > 0 and b.std() > 0 else float("nan"))
            equal += int(a.std() > 0 and np.array_equal(a, b))
    return np.array(rhos), equal


same, _ = rank_correlations("trained", "same", "gradcampp")
harness.check(len(same) == len(held_out) and bool(np.all(same > 0.9999)), f"the same run twice: rank correlations {np.round(same, 4)}")
rhos, equal = [], 0
for method in ("gradcam", "gradcampp"):
    r, e = rank_correlations("randomised", "random-" + method, method)
    print(f"{method}: trained against randomised weights: rank correlations {np.round(r, 3)} (nan: a map is constant)")
    rhos += [v for v in r if not np.isnan(v)]
    equal += e
harness.check(len(rhos) >= len(held_out), f"{len(rhos)} map pairs vary, want at least {len(held_out)}")
mean = float(np.mean(rhos)) if rhos else float("nan")
harness.check(equal == 0, f"no map of the randomised run equals the trained run's ({equal} equal)")
harness.check(mean < 0.98, f"randomised weights change the maps: mean rank correlation {mean:.3f} < 0.98")
shutil.rmtree(work)
harness.finish()
