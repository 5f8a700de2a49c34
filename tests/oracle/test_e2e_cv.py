"""`cmt cv`, `cmt eval --cv`, `cmt compare` and `cmt cv --slurm` on a tiny phantom set."""
import json
import os
import shutil
import tempfile

import scipy.stats

import harness

harness.setup()
tmp = tempfile.mkdtemp(prefix="cmt-cv-")
run = harness.cmt
check = harness.check


run("synth", "--out", f"{tmp}/raw", "--modality", "xray", "--format", "png", "--count", 45, "--seed", 6, "--size", "xray=32")
run("prepare", "--input", f"{tmp}/raw/xray/png", "--out", f"{tmp}/x.h5", "--modality", "xray", "--size", 32, "--folds", 3)
common = ["--dataset", f"{tmp}/x.h5", "--backbone", "resnet50", "--width", "0.125", "--depth", "0.34", "--latent-dim", 16,
          "--batch-size", 8, "--epochs", 2, "--no-progress", "--seed", 1]
run("cv", *common, "--out", f"{tmp}/cmt")
run("cv", *common, "--lambda", 0, "--out", f"{tmp}/base")
with open(f"{tmp}/cmt/cv.json") as f:
    a = json.load(f)
with open(f"{tmp}/base/cv.json") as f:
    b = json.load(f)
check(a["folds"] == 3 and len(a["per_fold"]["accuracy"]) == 3, "cv ran the dataset's 3 folds")
check(all(os.path.exists(f"{tmp}/cmt/fold{k}/eval.json") for k in range(3)), "every fold has its run folder")
acc = a["per_fold"]["accuracy"]
mean = sum(acc) / 3
check(abs(a["mean"]["accuracy"] - mean) < 1e-12, "cv.json's mean is the mean over folds")

before = a["per_fold"]["accuracy"]
run("eval", "--cv", f"{tmp}/cmt")
with open(f"{tmp}/cmt/cv.json") as f:
    again = json.load(f)
check(again["per_fold"]["accuracy"] == before, "eval --cv reproduces the folds' accuracies from the checkpoints")

out = run("compare", f"{tmp}/cmt", f"{tmp}/base").stdout
row = [l for l in out.splitlines() if l.startswith("accuracy")][0].split()
ref = scipy.stats.ttest_rel(a["per_fold"]["accuracy"], b["per_fold"]["accuracy"])
if abs(ref.statistic) < float("inf") and ref.statistic == ref.statistic:
    check(abs(float(row[3]) - ref.statistic) < 1e-3, f"compare's t ({row[3]}) is scipy's ttest_rel ({ref.statistic:.3f})")
else:
    check(row[3] in ("nan", "-nan", "inf", "-inf"), f"compare reports an undefined t when folds tie ({row[3]})")

script = run("cv", *common, "--out", f"{tmp}/slurm", "--slurm").stdout
check("#SBATCH --array=0-2" in script and "--signal=B:USR1" in script and "trap 'kill -USR1" in script and "requeue" in script,
      "cv --slurm prints a job-array script that forwards SIGUSR1 to cmt and requeues")
check(os.path.exists(f"{tmp}/slurm/cv-config.json"), "cv --slurm writes the config the array tasks read")
shutil.rmtree(tmp, ignore_errors=True)
harness.finish()
