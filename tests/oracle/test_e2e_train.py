"""End to end on the CPU (docs/training.md): phantoms -> prepare -> train -> eval -> predict. The loss falls,
held-out accuracy beats chance clearly, files exist and load; a resumed run reproduces the
uninterrupted one bit for bit; SIGTERM checkpoints and exits 3; a corrupt checkpoint and an injected NaN
stop with clear errors; `cmt predict` on a phantom DICOM series equals eval on that sample."""
import csv
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

import h5py
import torch

import harness

harness.setup()
cmt = harness.cmt_binary()
tmp = tempfile.mkdtemp(prefix="cmt-e2e-")
env = dict(os.environ, OMP_NUM_THREADS="1")


def run(*args, expect=0, extra_env=None):
    return harness.cmt(*args, expect=expect, env=extra_env)


check = harness.check


def losses(run_dir):
    with open(os.path.join(run_dir, "steps.csv")) as f:
        return list(csv.DictReader(f))


# --- data: X-ray phantoms as DICOM (DX), 32^2; a few CT series for the predict check ---
run("synth", "--out", f"{tmp}/raw", "--modality", "both", "--format", "dicom", "--count", 150, "--seed", 3,
    "--size", "ct=16,xray=32", "--difficulty", "0.1")
run("prepare", "--input", f"{tmp}/raw/xray/dicom", "--out", f"{tmp}/x.h5", "--modality", "xray", "--size", 32)
common = ["--dataset", f"{tmp}/x.h5", "--backbone", "resnet50", "--width", "0.25", "--depth", "0.34", "--latent-dim", 32,
          "--batch-size", 16, "--augment", "poisson+flip", "--seed", 5, "--no-progress", "--fold", 0]

# --- 1. a short training run learns ---
a = f"{tmp}/a"
run("train", *common, "--epochs", 30, "--out", a)
steps = losses(a)
first = sum(float(r["loss"]) for r in steps[:10]) / 10
last = sum(float(r["loss"]) for r in steps[-10:]) / 10
check(last < first * 0.9, f"loss falls: first 10 steps {first:.3f}, last 10 {last:.3f}")
with open(f"{a}/eval.json") as f:
    ev = json.load(f)
check(ev["accuracy"] > 0.55, f"held-out accuracy {ev['accuracy']:.3f} beats chance (0.33) clearly")
for name in ["metrics.jsonl", "metrics.csv", "steps.csv", "last.h5", "best.h5", "config.json", "data.json", "roc.svg", "confusion.svg"]:
    check(os.path.exists(f"{a}/{name}"), f"{name} written")
out = run("eval", "--run", a).stdout
with open(f"{a}/eval.json") as f:
    ev2 = json.load(f)
check(abs(ev2["accuracy"] - ev["accuracy"]) < 1e-9, "the checkpoint loads and eval reproduces the accuracy")

# --- 2. resume equality, bit for bit ---
b, c = f"{tmp}/b", f"{tmp}/c"
run("train", *common, "--epochs", 4, "--out", c)
run("train", *common, "--epochs", 2, "--out", b)
run("train", *common, "--epochs", 4, "--out", b, "--resume", f"{b}/last.h5")
lb, lc = [r["loss_hex"] for r in losses(b)], [r["loss_hex"] for r in losses(c)]
check(len(lb) == len(lc) and lb == lc, f"resumed run reproduces the uninterrupted losses bit for bit ({len(lb)} steps)")

# --- 3. SIGTERM: checkpoint and exit 3 ---
d = f"{tmp}/d"
proc = subprocess.Popen([cmt, "train", *map(str, common), "--epochs", "200", "--out", d], env=env,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
deadline = time.time() + 60
while time.time() < deadline and (not os.path.exists(f"{d}/steps.csv") or len(losses(d)) < 3):
    time.sleep(0.1)
proc.send_signal(signal.SIGTERM)
_, err = proc.communicate(timeout=60)
check(proc.returncode == 3, f"SIGTERM -> exit code 3 (got {proc.returncode})")
check(os.path.exists(f"{d}/last.h5"), "SIGTERM wrote last.h5")
r = run("train", *common, "--epochs", 1, "--out", d, "--resume", f"{d}/last.h5", expect=None)
check(r.returncode == 0, "the SIGTERM checkpoint resumes")

# --- 4. corrupt checkpoints give clear errors ---
bad = f"{tmp}/corrupt.h5"
with open(f"{a}/last.h5", "rb") as f:
    data = f.read()
with open(bad, "wb") as f:
    f.write(data[: len(data) // 2])
r = run("train", *common, "--epochs", 1, "--out", f"{tmp}/e", "--resume", bad, expect=1)
check(bad in r.stderr and ("corrupt" in r.stderr or "HDF5" in r.stderr), f"truncated checkpoint: clear error ({r.stderr.strip()[-160:]})")
with open(bad, "wb") as f:
    f.write(b"not a checkpoint at all" * 100)
r = run("train", *common, "--epochs", 1, "--out", f"{tmp}/e", "--resume", bad, expect=1)
check("not an HDF5 file" in r.stderr, "garbage checkpoint: clear error")

# --- 5. an injected NaN stops the run; the last good checkpoint stays intact ---
n = f"{tmp}/n"
r = run("train", *common, "--epochs", 3, "--out", n, expect=1, extra_env={"CMT_INJECT_NAN_STEP": "9"})
check("non-finite loss" in r.stderr, "NaN loss: clear message")
check(os.path.exists(f"{n}/last.h5"), "NaN loss: the last good checkpoint exists")
check(run("eval", "--run", n, expect=None).returncode == 0, "NaN loss: the last good checkpoint loads")

# --- 6. predict on a phantom DICOM series == eval on that sample (CT, 16^3) ---
run("prepare", "--input", f"{tmp}/raw/ct/dicom", "--out", f"{tmp}/ct.h5", "--modality", "ct", "--size", 16)
ct = f"{tmp}/ct"
run("train", "--dataset", f"{tmp}/ct.h5", "--backbone", "resnet50", "--width", "0.125", "--depth", "0.34", "--latent-dim", 16,
    "--batch-size", 8, "--epochs", 1, "--steps", 3, "--seed", 2, "--no-progress", "--out", ct)
with open(f"{ct}/eval.json") as f:
    ev = json.load(f)
with h5py.File(f"{tmp}/ct.h5", "r") as h:
    sources = [s.decode() if isinstance(s, bytes) else s for s in h["source_paths"][:]]
k = len(ev["class_names"])
for j in range(2):
    sid = ev["predictions"]["sample_ids"][j]
    want = torch.tensor(ev["predictions"]["probs"][j * k:(j + 1) * k])
    series = sources[sid]
    p = json.loads(run("predict", "--run", ct, "--json", series).stdout)
    got = torch.tensor([p[0]["probabilities"][name] for name in ev["class_names"]])
    harness.assert_close(got, want, 2e-3, 0, f"predict on {os.path.basename(series)} equals eval")

shutil.rmtree(tmp, ignore_errors=True)
harness.finish()
