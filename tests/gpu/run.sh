#!/bin/bash
# One command for a GPU machine (H100/H200 with nvcc, cmake, PyTorch, compute-sanitizer; no internet):
# runs every test (CUDA ones included), the CUDA tests under compute-sanitizer, the PyTorch oracle on
# the GPU, then the benchmarks; logs and summary.json under $OUT; prints a short table last.
#
#   tests/gpu/run.sh [BUNDLE]   BUNDLE: a folder or .tar.xz made by tools/gpu-bundle.sh (prebuilt sm_90
#                               binaries + the non-CUDA shared libraries they need). Without one, it
#                               builds here (needs HDF5, DCMTK, doctest: usually absent on those machines).
# Budget: well inside 8 minutes. Each step has its own timeout; a failed step does not stop the others.
# CMT_GPU_STEPS=REGEX runs only the steps whose names match, besides the build (e.g. 'train|infer' for
# the whole-step comparison of docs/performance.md, 'memory' for the largest batch); CMT_GPU_BUDGET_S
# changes the budget.
set -u
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="${OUT:-$ROOT/gpu-results}"
mkdir -p "$OUT"
LOG="$OUT/run.log"
: >"$LOG"
START=$(date +%s)
declare -a NAMES=() STATUS=() SECONDS_TAKEN=() NOTES=()

say() { echo "[$(($(date +%s) - START))s] $*" | tee -a "$LOG"; }

# step NAME TIMEOUT CMD...: runs CMD with its output in $OUT/NAME.log; records pass/fail/timeout.
BUDGET_S=${CMT_GPU_BUDGET_S:-450}  # steps that would start later are recorded as skipped
step() {
  local name=$1 limit=$2
  shift 2
  if [ -n "${CMT_GPU_STEPS:-}" ] && [ "$name" != build ] && ! [[ $name =~ $CMT_GPU_STEPS ]]; then
    NAMES+=("$name"); STATUS+=("skipped(filter)"); SECONDS_TAKEN+=(0); NOTES+=("not in CMT_GPU_STEPS")
    return
  fi
  local left=$((BUDGET_S - ($(date +%s) - START)))
  if [ "$left" -le 10 ]; then
    NAMES+=("$name"); STATUS+=("skipped(budget)"); SECONDS_TAKEN+=(0); NOTES+=("over the ${BUDGET_S}s budget")
    say "   $name skipped: over the ${BUDGET_S}s budget"
    return
  fi
  [ "$limit" -gt "$left" ] && limit=$left
  say "== $name: $*"
  local t0=$(date +%s)
  timeout --signal=TERM --kill-after=10 "$limit" "$@" >"$OUT/$name.log" 2>&1
  local rc=$?
  local status=pass
  [ $rc -ne 0 ] && status="fail(rc=$rc)"
  [ $rc -eq 124 ] && status="timeout(${limit}s)"
  [ $rc -eq 77 ] && status=skipped
  NAMES+=("$name"); STATUS+=("$status"); SECONDS_TAKEN+=($(($(date +%s) - t0)))
  NOTES+=("$(grep -E 'test cases:|cases passed|ERROR SUMMARY|checks? (passed|failed)|all checks passed|SKIPPED' "$OUT/$name.log" | tail -1 | tr -d '\r' | cut -c1-90)")
  say "   $status ($(($(date +%s) - t0))s) ${NOTES[-1]}"
  tail -5 "$OUT/$name.log" >>"$LOG"
}

# --- 1. what the machine has ---
{
  echo "date: $(date -u)"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader 2>&1
  nvcc --version 2>&1 | tail -1
  cmake --version 2>&1 | head -1
  command -v compute-sanitizer || echo "compute-sanitizer: not on PATH"
  python3 -c 'import torch, sys; print("python", sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version())' 2>&1
  ldd --version 2>&1 | head -1
} >"$OUT/machine.txt" 2>&1
cat "$OUT/machine.txt" | tee -a "$LOG"

# cuDNN, cuBLAS and NCCL come from PyTorch's Python environment on these machines.
TORCH_LIBS=$(python3 - <<'PY' 2>/dev/null
import glob, os, site
dirs = []
for sp in site.getsitepackages():
    dirs += sorted(glob.glob(os.path.join(sp, "nvidia", "*", "lib")))
    dirs += sorted(glob.glob(os.path.join(sp, "torch", "lib")))
print(":".join(dirs))
PY
)
SANITIZER=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null || true)

# --- 2. binaries: prebuilt bundle, or build here ---
BUNDLE="${1:-}"
if [ -n "$BUNDLE" ] && [ -f "$BUNDLE" ]; then
  mkdir -p /tmp/cmt-bundle && tar -xJf "$BUNDLE" -C /tmp/cmt-bundle && BUNDLE=/tmp/cmt-bundle/gpu-bundle
fi
if [ -n "$BUNDLE" ] && [ -d "$BUNDLE/bin" ]; then
  BIN="$BUNDLE/bin"
  export LD_LIBRARY_PATH="$BUNDLE/lib:$TORCH_LIBS:${LD_LIBRARY_PATH:-}"
  say "using prebuilt binaries from $BUNDLE"
else
  say "no bundle: building here (fallback)"
  step build 420 bash -c "cd '$ROOT' && cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DCMT_CUDA_ARCHITECTURES=90 -DCMT_WITH_MPI=OFF -DCMT_ORACLE_TESTS=OFF && cmake --build build-gpu -j 16"
  BIN="$ROOT/build-gpu/bin"
  export LD_LIBRARY_PATH="$TORCH_LIBS:${LD_LIBRARY_PATH:-}"
fi
ldd "$BIN/cmt_cuda_tests" "$BIN/cmt_op_tests" 2>&1 | grep -E "not found" | tee -a "$LOG"
"$BIN/cmt" info >"$OUT/cmt-info.txt" 2>&1
cat "$OUT/cmt-info.txt" >>"$LOG"

# --- 3. correctness first ---
step op_cases_cuda 150 "$BIN/cmt_op_tests" all cuda
step op_cases_cudnn 90 "$BIN/cmt_op_tests" all cudnn
step cuda_tests 90 "$BIN/cmt_cuda_tests" --duration=true
step cpu_tests 120 env OMP_NUM_THREADS=8 "$BIN/cmt_tests"
# A short training run on the GPU, and predictions on GPU and CPU that must agree.
step e2e_gpu 150 "$ROOT/tests/gpu/e2e_gpu.sh" "$BIN" /tmp/cmt-e2e-gpu
# The convolution's full matrix: every kernel variant and precision on every backbone layer.
step conv_cuda_full 180 env CMT_OPS_FULL=1 "$BIN/cmt_op_tests" all cuda --filter conv.
# The op-level oracle scripts against the CUDA backend; the end-to-end and data scripts exercise the
# CPU path through `cmt` and need h5py/pydicom, which these machines may lack: CI runs them.
for t in "$ROOT"/tests/oracle/test_*.py; do
  # (test_bf16_train.py is the CPU run of the bf16 criterion; e2e_gpu.sh runs it on the GPU.)
  case "$(basename "$t")" in test_e2e_*|test_bf16_train.py|test_dicom_*|test_data_prepare.py|test_metrics.py|test_torchvision_weights.py) continue ;; esac
  name="oracle_gpu_$(basename "$t" .py)"
  step "$name" 60 env PYTHONDONTWRITEBYTECODE=1 python3 "$t" --runner "$BIN/cmt_op_runner" --cmt "$BIN/cmt" --device cuda:0
done
if [ -n "$SANITIZER" ]; then
  step memcheck 150 "$SANITIZER" --tool memcheck --error-exitcode 1 --leak-check no "$BIN/cmt_op_tests" all cuda
  step racecheck 120 "$SANITIZER" --tool racecheck --error-exitcode 1 "$BIN/cmt_op_tests" all cuda
  step memcheck_behaviour 90 "$SANITIZER" --tool memcheck --error-exitcode 1 --leak-check no "$BIN/cmt_cuda_tests"
else
  say "compute-sanitizer not found: memcheck/racecheck not run"
fi

# --- 4. benchmarks (each writes $OUT/<name>.json) ---
export OUT
# The whole training step beside PyTorch on the same exports (docs/performance.md), the most
# important first: 3D ResNet-50 at 128^3, batch 8 x 2 views, bf16 (and tf32), then its PyTorch side and
# the table, so that a run cut short by the budget still has that comparison.
BT=("$BIN/cmt" bench train --preset paper --device cuda:0)
TS=(env PYTHONDONTWRITEBYTECODE=1 python3 "$ROOT/bench/compare/train_step.py" --device cuda)
TT=(python3 "$ROOT/bench/compare/train_table.py")
EXP=/tmp/cmt-bench-export  # weights and views: hundreds of MB per config, not for $OUT
step bench_train_r50_3d 180 "${BT[@]}" --backbone resnet50 --dims 3 --precision bf16,tf32 --warmup 3 --steps 10 \
  --name bench_train_r50_3d --export "$EXP"
step torch_train_r50_3d 240 "${TS[@]}" --export "$EXP/resnet50-3d-128-b8" --warmup 3 --steps 10 --name train_torch_r50_3d
step train_table_r50_3d 30 "${TT[@]}" --ours "$OUT/bench_train_r50_3d.json" --torch "$OUT/train_torch_r50_3d.json" \
  --json "$OUT/train_ratios_r50_3d.json"
step bench_infer 90 "$BIN/cmt" bench infer --preset paper --device cuda:0 --backbone all --dims both --precision bf16,tf32
step bench_train_3d 180 "${BT[@]}" --backbone vgg19,efficientnet_b4 --dims 3 --precision bf16,tf32 --warmup 2 --steps 5 \
  --name bench_train_3d --export "$EXP"
step bench_train_2d 180 "${BT[@]}" --backbone resnet50,vgg19,efficientnet_b4 --dims 2 --precision bf16,tf32 --warmup 2 --steps 5 \
  --name bench_train_2d --export "$EXP"
# torch.compile takes minutes per model: the other configs get it last.
REST=()
for d in "$EXP"/*/; do [ -f "$d/index.json" ] && [ "$(basename "$d")" != resnet50-3d-128-b8 ] && REST+=("$d"); done
if [ ${#REST[@]} -gt 0 ]; then
  step torch_train_rest 240 "${TS[@]}" --export "${REST[@]}" --settings eager,channels_last,amp_bf16 --warmup 2 --steps 5 \
    --name train_torch_rest
  step torch_train_rest_compile 240 "${TS[@]}" --export "${REST[@]}" --settings compile --warmup 2 --steps 5 \
    --name train_torch_rest_compile
fi
step train_table 30 bash -c 'python3 "$0" --ours "$1"/bench_train_*.json --torch "$1"/train_torch_*.json --json "$1/train_ratios.json"' \
  "$ROOT/bench/compare/train_table.py" "$OUT"
# The largest batch that fits (docs/performance.md), 3D at 128^3 on an 80 GB card (--limit 80G: the card itself on an
# H100, an emulated one on an H200; PyTorch gets the same cap): 3D ResNet-50 in bf16 first, then VGG-19 and
# EfficientNet-B4, then tf32; each side's JSON is written after every config, so a step cut short keeps the rest.
BM=("$BIN/cmt" bench memory --device cuda:0 --limit 80G --max-batch 512)
TM=("${TS[@]}" --max-batch 512 --memory-limit 80G)
EXPM=/tmp/cmt-memory-export  # batch-2 first steps for PyTorch's equality check
MT=(bash -c 'python3 "$0" --ours "$1"/bench_memory_*.json --torch "$1"/memory_torch_*.json --json "$1/memory_ratios.json"'
  "$ROOT/bench/compare/memory_table.py" "$OUT")
step memory_r50_3d 200 "${BM[@]}" --backbone resnet50 --precision bf16 --name bench_memory_r50_3d --export "$EXPM"
step torch_memory_r50_3d 200 "${TM[@]}" --export "$EXPM/resnet50-3d-128-b2" --name memory_torch_r50_3d
step memory_table_r50_3d 30 "${MT[@]}"
step memory_3d 220 "${BM[@]}" --backbone vgg19,efficientnet_b4 --precision bf16 --name bench_memory_3d --export "$EXPM"
step torch_memory_3d 200 "${TM[@]}" --export "$EXPM/vgg19-3d-128-b2" "$EXPM/efficientnet_b4-3d-128-b2" --name memory_torch_3d
step memory_table 30 "${MT[@]}"
step memory_3d_tf32 200 "${BM[@]}" --precision tf32 --name bench_memory_3d_tf32  # for PyTorch's eager/channels_last rows
for b in "$BIN"/cmt_bench_*; do
  [ -x "$b" ] || continue
  name=$(basename "$b")
  case "$name" in
    cmt_bench_conv) args="--quick" ;;
    cmt_bench_layers) args="--device cuda:0 --batch 32 --adam-params 60000000" ;;
    cmt_bench_loader) args="--count 64 --size 128 --batch 8" ;;
    cmt_bench_augment) args="--device cuda:0" ;;
    cmt_bench_comm) args="--device cuda:0 --comm nccl --mib 1,16,100,256 --runs 20" ;;
    *) args="" ;;
  esac
  step "$name" 120 "$b" $args
done
# The PyTorch side of the comparisons, on the machine's own PyTorch.
for s in "$ROOT"/bench/compare/*.py; do
  case "$(basename "$s")" in train_step.py|train_table.py|memory_table.py) continue ;; esac  # the whole-step steps above
  step "torch_$(basename "$s" .py)" 120 env PYTHONDONTWRITEBYTECODE=1 python3 "$s"
done

# --- 5. summary ---
{
  echo "{"
  echo "  \"elapsed_s\": $(($(date +%s) - START)),"
  echo "  \"steps\": ["
  for i in "${!NAMES[@]}"; do
    sep=","
    [ "$i" -eq $((${#NAMES[@]} - 1)) ] && sep=""
    printf '    {"name": "%s", "status": "%s", "seconds": %s, "note": "%s"}%s\n' "${NAMES[$i]}" "${STATUS[$i]}" \
      "${SECONDS_TAKEN[$i]}" "$(echo "${NOTES[$i]}" | sed 's/"/\\"/g')" "$sep"
  done
  echo "  ]"
  echo "}"
} >"$OUT/summary.json"
echo
printf '%-28s %-16s %6s  %s\n' step status secs note
for i in "${!NAMES[@]}"; do
  printf '%-28s %-16s %6s  %s\n' "${NAMES[$i]}" "${STATUS[$i]}" "${SECONDS_TAKEN[$i]}" "${NOTES[$i]}"
done
echo "total $(($(date +%s) - START))s; logs and summary.json in $OUT"
