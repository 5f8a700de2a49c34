"""`cmt ablate` (paper 4.4) on a tiny phantom set: the linear probe leaves the pretrained features
untouched and trains only the head; the grid writes every single/pair run, the runs without the
contrastive loss, grid.json with row averages and the heatmap."""
import json
import os
import shutil
import tempfile

import h5py
import numpy as np

import harness

harness.setup()
tmp = tempfile.mkdtemp(prefix="cmt-ablate-")
run = harness.cmt
check = harness.check


run("synth", "--out", f"{tmp}/raw", "--modality", "xray", "--format", "png", "--count", 60, "--seed", 4, "--size", "xray=32")
run("prepare", "--input", f"{tmp}/raw/xray/png", "--out", f"{tmp}/x.h5", "--modality", "xray", "--size", 32)
common = ["--dataset", f"{tmp}/x.h5", "--backbone", "resnet50", "--width", "0.125", "--depth", "0.34", "--latent-dim", 16,
          "--batch-size", 8, "--epochs", 2, "--no-progress", "--seed", 1]

run("ablate", "probe", *common, "--out", f"{tmp}/probe")
with open(f"{tmp}/probe/probe.json") as f:
    probe = json.load(f)
check(set(probe) == {"classification_only", "contrastive_linear_probe"}, "probe.json has both accuracies")
with h5py.File(f"{tmp}/probe/contrastive/last.h5", "r") as pre, h5py.File(f"{tmp}/probe/probe/last.h5", "r") as post:
    names = list(pre["parameters"].keys())
    frozen = [n for n in names if not n.startswith("head.")]
    same = all(np.array_equal(pre["parameters"][n][()], post["parameters"][n][()]) for n in frozen)
    bn_same = all(np.array_equal(pre["buffers"][n][()], post["buffers"][n][()]) for n in pre["buffers"].keys())
    head_moved = any(not np.array_equal(pre["parameters"][n][()], post["parameters"][n][()]) for n in names if n.startswith("head."))
check(same, f"the probe leaves all {len(frozen)} feature parameters bit-identical")
check(bn_same, "the probe leaves the batch-norm statistics untouched (frozen F runs in eval mode)")
check(head_moved, "the probe trains the head")

run("ablate", "grid", *common, "--transforms", "rotate,flip", "--out", f"{tmp}/grid")
with open(f"{tmp}/grid/grid.json") as f:
    grid = json.load(f)
cells = ["flip", "flip+rotate", "rotate", "rotate+flip"]
check(sorted(grid["accuracy"]) == sorted(cells + ["no-contrastive-flip", "no-contrastive-rotate"]),
      "grid ran each single and ordered pair, and each single without the contrastive loss")
gain = np.array(grid["gain_points"])
names = ["rotate", "flip"]
want = [[100 * (grid["accuracy"][a if a == b else f"{a}+{b}"] - grid["baseline_accuracy"]) for b in names] for a in names]
want.append([100 * (grid["accuracy"][f"no-contrastive-{b}"] - grid["baseline_accuracy"]) for b in names])
check(gain.shape == (3, 3) and np.allclose(gain[:, :2], want), "gains are accuracy minus the baseline, in points")
check(np.allclose(gain[:, 2], gain[:, :2].mean(axis=1)), "the last column averages each row")
with open(f"{tmp}/grid/grid.svg") as f:
    svg = f.read()
check(svg.startswith("<svg") and svg.count("<rect") >= 10, "grid.svg is a heatmap")
shutil.rmtree(tmp, ignore_errors=True)
harness.finish()
