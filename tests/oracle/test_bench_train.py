"""`cmt bench train` / `cmt bench infer` and the PyTorch comparison (docs/performance.md) on tiny CPU configs: the
JSON's numbers agree with each other, the exported first step passes train_step.py's equality check and
a corrupted one fails it, the PyTorch side writes its timings, the table prints the ratios, bad options
give clear errors."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import harness

harness.setup()
DEVICE = harness.device()  # cpu in CI; tests/gpu/run.sh passes cuda:0
TORCH_DEVICE = harness.torch_device()
ROOT = harness.ROOT
train_step, = harness.bench_compare("train_step")

tmp = tempfile.mkdtemp(prefix="cmt-bench-train-")
net = ["--width", "0.125", "--depth", "0.34", "--latent-dim", 64]
tiny = ["--backbone", "resnet50", *net, "--size", 16, "--batch-size", 2]
harness.cmt("bench", "train", *tiny, "--dims", "both", "--device", DEVICE, "--cuda-graph", "off", "--steps", 3, "--warmup", 1, "--out", tmp,
            "--export", os.path.join(tmp, "export"))
with open(os.path.join(tmp, "bench_train.json")) as f:
    ours = json.load(f)
runs = ours["runs"]
harness.check([r["dims"] for r in runs] == [2, 3], f"one run per dims ({[r['dims'] for r in runs]})")
for r in runs:
    what = r["label"]
    t = r["step_ms"]
    harness.check(0 < t["min"] <= t["median"] <= t["p90"] <= t["max"] and t["runs"] == 3, f"{what}: min <= median <= p90 <= max over 3 steps")
    harness.check(abs(r["steps_per_s"] * t["median"] / 1e3 - 1) < 1e-9, f"{what}: steps/s = 1000 / median ms")
    harness.check(abs(r["samples_per_s"] - 2 * r["steps_per_s"]) < 1e-6 * r["samples_per_s"]
                  and abs(r["views_per_s"] - 4 * r["steps_per_s"]) < 1e-6 * r["views_per_s"], f"{what}: samples/s and views/s")
    harness.check(abs(r["tflops"] - 2 * r["step_macs"] / (t["median"] * 1e9)) <= 1e-9 * r["tflops"] and r["step_macs"] > 0,
                  f"{what}: TFLOP/s = 2 * MACs / median time")
    harness.check(abs(r["fraction_of_gemm_ceiling"] * ours["gemm_ceiling_tflops"]["fp32"] - r["tflops"]) <= 1e-9 * r["tflops"],
                  f"{what}: fraction of the GEMM ceiling measured in the run ({ours['gemm_ceiling_tflops']['fp32']:.3f} TFLOP/s)")
    harness.check(0 < r["augment_ms"]["median"] < t["median"] and
                  abs(r["step_without_augment_ms"] - (t["median"] - r["augment_ms"]["median"])) < 1e-9,
                  f"{what}: augmentation {r['augment_ms']['median']:.3f} ms of the {t['median']:.3f} ms step")
    harness.check(r["peak_bytes"] > 4 * r["parameter_bytes"] > 0,
                  f"{what}: peak {r['peak_bytes']} bytes holds parameters, gradients, Adam state and activations")
    harness.check(r["cuda_graph"] is False and r["precision"] == "fp32", f"{what}: fp32, CUDA Graph off")
timer = "steady_clock" if DEVICE == "cpu" else "cuda_events"
harness.check(ours["device"] == DEVICE and ours["timer"] == timer and "OpenBLAS" in ours["libraries"], f"device, {timer}, versions")

# The PyTorch side: the exported first step equals the reference model's, in this process and through the script.
export = os.path.join(tmp, "export")
proc = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "compare", "train_step.py"), "--export", export, "--check-only",
                       "--device", TORCH_DEVICE], capture_output=True, text=True)
harness.check(proc.returncode == 0 and proc.stdout.count("same parameters") == 2, f"train_step.py --check-only passes: {proc.stdout[-300:]}{proc.stderr[-600:]}")


def expect_check_failure(edit, fragment, what):
    bad = os.path.join(tmp, "bad-" + what.replace(" ", "-"))
    shutil.copytree(os.path.join(export, "resnet50-3d-16-b2"), bad)
    edit(bad)
    try:
        train_step.check(train_step.Export(bad), train_step.torch.device(TORCH_DEVICE))
    except train_step.CheckFailed as e:
        harness.check(fragment in str(e), f"{what}: check fails with '{fragment}': {e}")
        return
    harness.check(False, f"{what}: the check passed")


def change_weight(d):  # one row of the head's weights: the classification loss must move
    with open(os.path.join(d, "index.json")) as f:
        ix = json.load(f)
    head = next(p for p in ix["parameters"] if p["path"] == "head.weight")
    params = train_step.np.fromfile(os.path.join(d, "params.f32"), dtype=train_step.np.float32)
    params[head["offset"]:head["offset"] + ix["latent"]] += 0.05
    params.tofile(os.path.join(d, "params.f32"))


def change_count(d):
    with open(os.path.join(d, "index.json")) as f:
        ix = json.load(f)
    ix["num_parameters"] += 1
    with open(os.path.join(d, "index.json"), "w") as f:
        json.dump(ix, f)


expect_check_failure(change_weight, "'classification' PyTorch", "changed weight")
expect_check_failure(change_count, "parameter count differs", "changed count")

# One timed eager step per config; where torch has no compile (Debian's 1.13), the compile setting must say so.
# (Where it has one, compiling even a tiny model takes minutes: that is timed in tests/gpu/run.sh instead.)
has_compile = hasattr(train_step.torch, "compile")
rc = train_step.main(["--export", export, "--device", TORCH_DEVICE, "--settings", "eager" if has_compile else "eager,compile",
                      "--steps", "1", "--warmup", "0", "--out", tmp])
with open(os.path.join(tmp, "train_torch.json")) as f:
    theirs = json.load(f)
settings = {(c["dims"], s["setting"]): s for c in theirs["configs"] for s in c["settings"]}
want_rows = sorted((d, s) for d in (2, 3) for s in (("eager",) if has_compile else ("eager", "compile")))
harness.check(rc == 0 and sorted(settings) == want_rows, f"PyTorch JSON rows {sorted(settings)}")
for dims in (2, 3):
    e = settings[(dims, "eager")]
    harness.check(e["step_ms"]["median"] > 0 and e["memory_format"] == "contiguous_format" and e["precision"] == ("fp32" if DEVICE == "cpu" else "tf32"),
                  f"{dims}D eager: {e['step_ms']['median']:.2f} ms, {e['precision']}, contiguous")
    if not has_compile:
        harness.check(settings[(dims, "compile")].get("unavailable", "").startswith("unavailable: torch"), f"{dims}D compile: says why not")

# The table: ratios against cmt's run at the same precision.
table = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "compare", "train_table.py"), "--ours", os.path.join(tmp, "bench_train.json"),
                        "--torch", os.path.join(tmp, "train_torch.json"), "--json", os.path.join(tmp, "ratios.json")],
                       capture_output=True, text=True)
print(table.stdout)
with open(os.path.join(tmp, "ratios.json")) as f:
    ratios = {(r["config"], r["torch_setting"]): r for r in json.load(f)["ratios"]}
for r in runs:
    want = settings[(r["dims"], "eager")]["step_ms"]["median"] / r["step_without_augment_ms"]
    got = ratios[(r["label"], "eager")]["speed_ratio"]
    harness.check(abs(got - want) <= 1e-9 * want and f"{want:.2f}" in table.stdout,
                  f"{r['label']}: speed ratio {got:.3f} = PyTorch eager / cmt without augmentation, printed")
harness.check(table.returncode == 0 and "speed x" in table.stdout and "torch 1." in table.stdout, "table has ratios and versions")

# Inference latency on one image, beside the paper's 0.06 s, with the export for infer.py.
infer_export = os.path.join(tmp, "infer-export")
harness.cmt("bench", "infer", "--backbone", "efficientnet_b4", *net, "--size", 32, "--dims", "2", "--device", DEVICE, "--repeats", 3, "--warmup", 1,
            "--precision", "fp32", "--out", tmp, "--export", infer_export)
with open(os.path.join(tmp, "bench_infer.json")) as f:
    infer = json.load(f)["runs"]
lat = infer[0]["latency_ms"]
harness.check(len(infer) == 1 and infer[0]["batch"] == 1 and 0 < lat["min"] <= lat["median"]
              and abs(infer[0]["speedup_over_paper"] - 60 / lat["median"]) < 1e-9 * infer[0]["speedup_over_paper"],
              f"infer: {lat['median']:.3f} ms per image, {infer[0]['speedup_over_paper']:.0f}x the paper's 0.06 s")

# The PyTorch side of inference: same probabilities on the exported weights and image, then both settings timed,
# with the ratio against cmt's median from the same run; a changed weight fails the check.
infer_py, = harness.bench_compare("infer")
rc = infer_py.main(["--export", infer_export, "--device", TORCH_DEVICE, "--repeats", "2", "--warmup", "0", "--out", tmp,
                    "--cmt", os.path.join(tmp, "bench_infer.json")])
with open(os.path.join(tmp, "infer_torch.json")) as f:
    theirs = json.load(f)["configs"]
harness.check(rc == 0 and len(theirs) == 1 and [s["setting"] for s in theirs[0]["settings"]] == ["eager", "channels_last"],
              f"infer.py: one config, eager and channels_last ({theirs})")
c = theirs[0]
best = min(s["latency_ms"]["median"] for s in c["settings"])
harness.check(c["check"]["max_abs_difference"] <= 1e-4 and c.get("cmt_median_ms") == lat["median"]
              and abs(c["x_torch_best_over_cmt"] - best / lat["median"]) <= 1e-9 * best / lat["median"],
              f"infer.py: probabilities equal cmt's ({c['check']['max_abs_difference']:.2g}), ratio {c.get('x_torch_best_over_cmt')} against cmt's median")
bad = os.path.join(tmp, "bad-infer")
shutil.copytree(infer_py.find_exports(infer_export)[0], bad)
change_weight(bad)
try:
    infer_py.check(infer_py.InferExport(bad), infer_py.torch.device(TORCH_DEVICE))
    harness.check(False, "infer.py: a changed head weight passed the check")
except train_step.CheckFailed as e:
    harness.check("probabilities differ" in str(e), f"infer.py: a changed head weight fails the check: {e}")

# Bad options: usage errors (exit 2) name the option; a size the backbone cannot take is a clear runtime error.
bad = harness.cmt("bench", "train", "--backbone", "vgg20", "--device", "cpu", expect=2)
harness.check("vgg20" in bad.stderr and "--backbone" in bad.stderr, f"unknown backbone: {bad.stderr.strip()[:160]}")
bad = harness.cmt("bench", "train", "--preset", "paper", "--size", 64, "--device", "cpu", expect=2)
harness.check("--preset" in bad.stderr and "--size" in bad.stderr, f"preset with --size: {bad.stderr.strip()[:160]}")
bad = harness.cmt("bench", "train", *net, "--size", 16, "--backbone", "resnet50,vgg19", "--dims", 2, "--device", "cpu", "--out", tmp, expect=1)
harness.check("too small for vgg19 in 2D" in bad.stderr and "GEMM" not in bad.stdout, f"size too small, before any run: {bad.stderr.strip()[:200]}")
harness.finish()
