#!/bin/bash
# GPU end to end, for tests/gpu/run.sh: phantoms -> prepare -> a short CMT-CNN training run on the GPU
# (3D ResNet-50 at reduced width), then `cmt predict` of the same studies on the GPU and on the CPU,
# whose probabilities must agree (fp32) to 1e-3; the same run eagerly, which the CUDA Graph run must
# follow; then 40 steps in fp32 and in bf16 from one seed, whose loss curves must agree within
# docs/bf16.md's tolerance. Every check runs; the exit code says whether all passed.
# usage: e2e_gpu.sh BIN_DIR WORK_DIR
set -eu
bin=$1
work=$2
rm -rf "$work" && mkdir -p "$work"
"$bin/cmt" synth --out "$work/raw" --modality ct --format dicom --count 30 --seed 1 --size ct=32 >/dev/null
"$bin/cmt" prepare --input "$work/raw/ct/dicom" --out "$work/ct.h5" --modality ct --size 32 >/dev/null
"$bin/cmt" train --dataset "$work/ct.h5" --backbone resnet50 --width 0.25 --depth 0.34 --latent-dim 64 --batch-size 8 \
  --epochs 3 --device cuda:0 --no-progress --out "$work/run"
series=$(find "$work/raw/ct/dicom" -mindepth 2 -maxdepth 2 -type d | sort | head -4)
"$bin/cmt" predict --run "$work/run" --device cuda:0 --json $series >"$work/gpu.json"
"$bin/cmt" predict --run "$work/run" --device cpu --json $series >"$work/cpu.json"
status=0
python3 - "$work/gpu.json" "$work/cpu.json" <<'PY' || status=1
import json, sys
gpu, cpu = (json.load(open(p)) for p in sys.argv[1:3])
worst = max(abs(g["probabilities"][k] - c["probabilities"][k]) for g, c in zip(gpu, cpu) for k in g["probabilities"])
print(f"{len(gpu)} studies, largest GPU/CPU probability difference {worst:.2e}")
sys.exit(0 if worst < 1e-3 and len(gpu) == len(cpu) > 0 else 1)
PY
# The same run with the step executed eagerly: CUDA Graph replay (the default above) must follow it
# step for step (same seed, same batches; only atomics-order rounding may differ).
"$bin/cmt" train --dataset "$work/ct.h5" --backbone resnet50 --width 0.25 --depth 0.34 --latent-dim 64 --batch-size 8 \
  --epochs 3 --device cuda:0 --no-progress --no-cuda-graph --out "$work/run_eager"
python3 - "$work/run/steps.csv" "$work/run_eager/steps.csv" <<'PY' || status=1
import csv, sys
graph, eager = ([float(r["loss"]) for r in csv.DictReader(open(p))] for p in sys.argv[1:3])
worst = max(abs(g - e) / max(abs(e), 1e-6) for g, e in zip(graph, eager))
print(f"{len(graph)} steps, CUDA Graph vs eager loss: largest relative difference {worst:.2e}")
sys.exit(0 if len(graph) == len(eager) > 3 and worst < 1e-3 else 1)
PY
# bf16 end to end on the GPU: the criterion of tests/oracle/test_bf16_train.py (CPU) on 3D CT.
for p in fp32 bf16; do
  "$bin/cmt" train --dataset "$work/ct.h5" --backbone resnet50 --width 0.25 --depth 0.34 --latent-dim 64 --batch-size 8 \
    --epochs 100 --steps 40 --precision $p --device cuda:0 --no-progress --out "$work/run-$p" >/dev/null
done
python3 "$(dirname "$0")/../oracle/loss_curves.py" "$work/run-fp32" "$work/run-bf16" || status=1
exit $status
