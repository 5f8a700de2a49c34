"""`cmt train` on the (emulated) CUDA device against the CPU backend, step by step.

The tiny BN networks these runs can afford are chaotic: a 1e-5 relative change of the learning rate
moves the CPU's own third-step loss by percents. So each device step is checked from the device's own
state: the device run writes a checkpoint after every step (one step per epoch: 3 training samples,
batch 2), and the CPU resumes from the checkpoint before step k and runs step k. Per step:
  - loss, loss_cls, loss_cst: the same weights, views and data order, so only rounding differs;
  - the weights after the step, in units of lr (Adam moves a weight by about lr per step; a gradient
    near 0 whose sign differs between the devices gives 2 lr to that one weight), Adam's m and v,
    and the batch-norm running statistics.
Then the device's held-out evaluation (eval.json) against `cmt predict --device cpu` of the same
study with the same final weights. With --load-checks, the device's checkpoints are also loaded on
the device (`cmt predict --device cuda`, `cmt eval`, `cmt train --resume`) and must reproduce what the
device computed before saving them.

The CPU ignores tf32 (it computes fp32): tf32 runs are held to bounds that the tf32 rounding, amplified
by these nets, stays inside (ResNet-50; see the bounds below).

usage: train_matches_cpu.py --cmt CMT --backbone B [--cpu-cmt CMT] [--precision fp32|tf32|bf16]
                            [--graph | --no-graph] [--steps N] [--size S] [--augment A] [--tau T]
                            [--load-checks] [--work DIR]
Each check prints one line; exit 0 when all pass."""
import argparse
import csv
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

# Bounds for one step from the same state; a wrong kernel moves these by percents or more.
# Losses: relative to max(|loss|, 0.1) (L_cst can be near 0). fp32: exact FMA math on both sides in
# other summation orders, amplified by the tiny nets (seen: up to 7e-4 on EfficientNet's L_cst).
# bf16: both sides round at the same points, but a sum on the other side of a rounding boundary moves
# a value by one bf16 ulp (2^-7). tf32: only the device rounds (conv and GEMM inputs, 10-bit mantissas).
LOSS_REL = {"fp32": 2e-3, "tf32": 3e-2, "bf16": 1e-2}
# The state after the step: rms of the weight difference in lr; relative L2 difference of Adam's m and
# v (the gradients) and of each BN running statistic. Seen in fp32: 0.034 lr, 5e-3, 6e-5. tf32 on
# ResNet-50: 0.31 lr, 0.2, 9e-3: a +-1 LSB change of 10% of the input voxels already moves the CPU's
# fp32 gradient by 0.2%, and tf32 rounds 30x coarser at every layer. (EfficientNet's gradients are
# noise at 8^3: that LSB change moves them 6-130%; its tf32 state cannot be compared.)
WEIGHTS_RMS = {"fp32": 0.1, "tf32": 1.0, "bf16": 0.5}
MOMENTS_REL = {"fp32": 2e-2, "tf32": 0.5, "bf16": 0.2}
BUFFERS_REL = {"fp32": 1e-3, "tf32": 0.1, "bf16": 0.1}
PROBS_ABS = {"fp32": 1e-4, "tf32": 1e-2, "bf16": 2e-2}

failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


def run(cmd, log):
    """Runs cmd with its output in log; returns (wall, cpu) seconds (cpu: user + system)."""
    t0, r0 = time.time(), resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(log, "w") as f:
        proc = subprocess.run([str(c) for c in cmd], stdout=f, stderr=subprocess.STDOUT,
                              env=dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1")))
    if proc.returncode != 0:
        with open(log) as f:
            tail = f.read()[-4000:]
        sys.exit(f"FAIL {' '.join(map(str, cmd))} exited {proc.returncode} after {time.time() - t0:.1f}s:\n{tail}")
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.time() - t0, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def steps_csv(run_dir):
    with open(os.path.join(run_dir, "steps.csv")) as f:
        return list(csv.DictReader(f))


def compare_step(k, cpu, dev, precision):
    worst = 0.0
    for key in ("loss", "loss_cls", "loss_cst"):
        x, y = float(cpu[key]), float(dev[key])
        d = abs(x - y)
        worst = max(worst, d / max(abs(x), 0.1))
        if not d <= LOSS_REL[precision] * max(abs(x), 0.1):  # NaN fails
            check(False, f"step {k} {key}: cuda {y:.8g} cpu {x:.8g} (|d| {d:.3g})")
    print(f"     step {k}: loss cuda {float(dev['loss']):.7f} cpu {float(cpu['loss']):.7f}; "
          f"largest difference of the three losses {worst:.2e} relative (bound {LOSS_REL[precision]:.0e})", flush=True)


def compare_state(k, cpu_h5, dev_h5, lr, precision):
    import h5py
    import numpy as np
    with h5py.File(cpu_h5, "r") as fc, h5py.File(dev_h5, "r") as fd:
        names = sorted(fc["parameters"])
        if names != sorted(fd["parameters"]):
            check(False, f"step {k}: parameter names differ")
            return
        a = np.concatenate([fc["parameters"][n][()].ravel() for n in names]).astype(np.float64)
        b = np.concatenate([fd["parameters"][n][()].ravel() for n in names]).astype(np.float64)
        d = np.abs(a - b) / lr
        i = int(np.argmax(d))
        ends = np.cumsum([fc["parameters"][n].size for n in names])
        where = names[int(np.searchsorted(ends, i, side="right"))]
        rms = float(np.sqrt(np.mean(d * d)))
        moments = {}
        for key in ("m", "v"):
            x = fc["optimizer"][key][()].astype(np.float64)
            y = fd["optimizer"][key][()].astype(np.float64)
            moments[key] = float(np.linalg.norm(x - y) / max(np.linalg.norm(x), 1e-30))
        buf, buf_name = 0.0, ""
        for n in fc["buffers"]:
            x = fc["buffers"][n][()].astype(np.float64)
            y = fd["buffers"][n][()].astype(np.float64)
            # rms floor 1e-3: a running mean that is 0 in exact arithmetic holds rounding noise
            r = float(np.linalg.norm(x - y) / max(np.linalg.norm(x), 1e-3 * np.sqrt(x.size)))
            if r > buf:
                buf, buf_name = r, n
        ok = (rms <= WEIGHTS_RMS[precision] and max(moments.values()) <= MOMENTS_REL[precision] and
              buf <= BUFFERS_REL[precision])
        check(ok, f"step {k} state: weights rms {rms:.2g} lr (<= {WEIGHTS_RMS[precision]}), {int(np.sum(d > 0.5))} of "
                  f"{a.size} off by > lr/2, largest {d[i]:.2g} lr ({where}); Adam m {moments['m']:.2g} v {moments['v']:.2g} "
                  f"(<= {MOMENTS_REL[precision]}); BN statistics {buf:.2g} (<= {BUFFERS_REL[precision]}, {buf_name})")


def predict(cmt, work, device, series):
    out = subprocess.run([cmt, "predict", "--run", f"{work}/cuda", "--device", device, "--json", series],
                         capture_output=True, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    if out.returncode != 0:
        check(False, f"cmt predict --device {device}: {out.stderr.strip()[-300:]}")
        return None
    return json.loads(out.stdout)[0]["probabilities"]


def held_out(work):
    """(class names, [(study folder, device-evaluated probabilities)]) of the device run's eval.json."""
    import h5py
    with open(f"{work}/cuda/eval.json") as f:
        ev = json.load(f)
    with h5py.File(f"{work}/ct.h5", "r") as h:
        sources = [s.decode() if isinstance(s, bytes) else s for s in h["source_paths"][:]]
    names, k = ev["class_names"], len(ev["class_names"])
    return names, [(sources[sid], ev["predictions"]["probs"][j * k:(j + 1) * k])
                   for j, sid in enumerate(ev["predictions"]["sample_ids"])]


def largest_predict_difference(cmt, work, device):
    """The largest difference between `cmt predict --device DEVICE` and the run's held-out evaluation,
    over every held-out study and class; None when predict was refused (predict() says why)."""
    names, studies = held_out(work)
    worst = 0.0
    for series, evaluated in studies:
        got = predict(cmt, work, device, series)
        if got is None:
            return None
        worst = max([worst] + [abs(got[c] - p) for c, p in zip(names, evaluated)])
    return worst


def compare_eval(work, cpu_cmt, precision):
    """The device's held-out evaluation against `cmt predict` on the CPU with the same weights."""
    worst = largest_predict_difference(cpu_cmt, work, "cpu")
    if worst is None:
        return
    check(worst <= PROBS_ABS[precision], f"held-out evaluation on the device == predict on the CPU: largest probability "
                                         f"difference {worst:.2g} (<= {PROBS_ABS[precision]})")


def load_checks(work, cmt, common, steps, precision):
    """Checkpoints loaded on the device: `cmt predict --device cuda`, `cmt eval` (the run's device) and
    `cmt train --resume` on the device must give what the device computed before saving them."""
    worst = largest_predict_difference(cmt, work, "cuda")
    if worst is None:
        return
    check(worst <= PROBS_ABS[precision], f"predict on the device (checkpoint loaded there) == the run's own evaluation: "
                                         f"largest probability difference {worst:.2g} (<= {PROBS_ABS[precision]})")
    shutil.rmtree(f"{work}/eval", ignore_errors=True)
    shutil.copytree(f"{work}/cuda", f"{work}/eval")
    run([cmt, "eval", "--run", f"{work}/eval"], f"{work}/eval.log")
    with open(f"{work}/eval/eval.json") as f:
        again = json.load(f)["predictions"]["probs"]
    before = [v for _, p in held_out(work)[1] for v in p]
    worst = max((abs(x - y) for x, y in zip(again, before)), default=float("nan")) if len(again) == len(before) else 1.0
    check(worst <= PROBS_ABS[precision], f"cmt eval of the run on the device == the run's own evaluation: largest "
                                         f"probability difference {worst:.2g} (<= {PROBS_ABS[precision]})")
    shutil.rmtree(f"{work}/resumed", ignore_errors=True)
    run([cmt, *common, "--epochs", steps, "--resume", f"{work}/cuda/epoch{steps - 1:04d}.h5", "--device", "cuda",
         "--no-cuda-graph", "--out", f"{work}/resumed"], f"{work}/resumed.log")
    x = float(steps_csv(f"{work}/cuda")[-1]["loss"])
    y = float(steps_csv(f"{work}/resumed")[-1]["loss"])
    check(abs(x - y) <= LOSS_REL[precision] * max(abs(x), 0.1),
          f"step {steps} resumed on the device from the device's checkpoint: loss {y:.7f}, uninterrupted {x:.7f}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cmt", required=True, help="the emulated build's cmt (runs --device cuda)")
    p.add_argument("--cpu-cmt", help="cmt for the CPU runs (default: --cmt with --device cpu)")
    p.add_argument("--backbone", required=True)
    p.add_argument("--precision", default="fp32", choices=["fp32", "tf32", "bf16"])
    p.add_argument("--graph", action=argparse.BooleanOptionalAction, default=True,
                   help="CUDA Graph (step 1 eager, 2 records the memory plan, 3 replays it, 4 captures, 5+ replay)")
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--size", type=int, default=8, help="CT side (vgg19 needs 32: five 2x pools)")
    p.add_argument("--augment", default="genesis")
    p.add_argument("--tau", type=float, default=0.1)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--load-checks", action="store_true",
                   help="also load the device's checkpoints on the device: predict, eval, resume (needs --steps >= 2)")
    p.add_argument("--work", help="work folder (kept); default a temporary one, removed when all checks pass")
    a = p.parse_args()

    work = a.work or tempfile.mkdtemp(prefix=f"cmt-emu-train-{a.backbone}-")
    os.makedirs(work, exist_ok=True)
    cmt, cpu_cmt = a.cmt, a.cpu_cmt or a.cmt
    data = f"{work}/ct.h5"
    if not os.path.exists(data):  # 6 patients, 2 folds: fold 0 holds one per class out, 3 train: one step per epoch
        run([cmt, "synth", "--out", f"{work}/raw", "--modality", "ct", "--format", "dicom", "--count", 6, "--seed", 1,
             "--size", f"ct={a.size}"], f"{work}/synth.log")
        run([cmt, "prepare", "--input", f"{work}/raw/ct/dicom", "--out", data, "--modality", "ct", "--size", a.size,
             "--folds", 2], f"{work}/prepare.log")
    # The smallest model: 8 channels per layer, one block per stage, latent 8.
    common = ["train", "--dataset", data, "--fold", 0, "--backbone", a.backbone, "--width", 0.125, "--depth", 0.25,
              "--latent-dim", 8, "--tau", a.tau, "--batch-size", 2, "--lr", a.lr, "--augment", a.augment,
              "--precision", a.precision, "--seed", 7, "--no-progress", "--checkpoint-every", 1, "--checkpoint-optimizer"]
    for d in ("cuda", *(f"cpu{k}" for k in range(1, a.steps + 1))):
        shutil.rmtree(f"{work}/{d}", ignore_errors=True)  # steps.csv appends
    graph = "--cuda-graph" if a.graph else "--no-cuda-graph"
    t_dev = run([cmt, *common, "--epochs", a.steps, "--device", "cuda", graph, "--out", f"{work}/cuda"], f"{work}/cuda.log")
    t_cpu = 0.0
    for k in range(1, a.steps + 1):
        resume = ["--resume", f"{work}/cuda/epoch{k - 1:04d}.h5"] if k > 1 else []
        t_cpu += run([cpu_cmt, *common, "--epochs", k, *resume, "--device", "cpu", "--out", f"{work}/cpu{k}"],
                     f"{work}/cpu{k}.log")[0]
    print(f"{a.backbone} 3D {a.size}^3 {a.precision}, CUDA Graph {'on' if a.graph else 'off'}, augment {a.augment}, "
          f"tau {a.tau}, {a.steps} steps: device run {t_dev[0]:.1f}s ({t_dev[1]:.1f} CPU-s), CPU runs {t_cpu:.1f}s",
          flush=True)
    with open(f"{work}/cuda.log") as f:
        log = f.read()
    if a.graph:  # the trainer names the reason when it turns the graph off
        check("CUDA Graph off" not in log, "the device run kept CUDA Graph on")
    dev = steps_csv(f"{work}/cuda")
    check(len(dev) == a.steps, f"the device run wrote {len(dev)} steps")
    for k in range(1, min(a.steps, len(dev)) + 1):
        cpu = steps_csv(f"{work}/cpu{k}")
        if len(cpu) != 1 or int(cpu[0]["step"]) != k:
            check(False, f"the CPU run of step {k} wrote steps {[r['step'] for r in cpu]}")
            continue
        compare_step(k, cpu[0], dev[k - 1], a.precision)
        try:
            compare_state(k, f"{work}/cpu{k}/last.h5", f"{work}/cuda/epoch{k:04d}.h5", a.lr, a.precision)
        except ImportError:
            print(f"skip step {k} state: no h5py/numpy")
    try:
        compare_eval(work, cpu_cmt, a.precision)
        if a.load_checks:
            load_checks(work, cmt, common, a.steps, a.precision)
    except ImportError:
        print("skip evaluation: no h5py")
    if failures:
        print(f"{len(failures)} check(s) failed; runs kept in {work}")
        sys.exit(1)
    if not a.work:
        shutil.rmtree(work, ignore_errors=True)
    print("all checks passed")


if __name__ == "__main__":
    main()
