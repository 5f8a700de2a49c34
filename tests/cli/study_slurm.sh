#!/bin/sh
# `cmt study --slurm` on tiny CT and X-ray phantoms: one job array with a task per fold of every
# cell but the contrastive-only ones; each task run as Slurm would (fake srun and sbatch) trains
# its fold; task 0 submits `cmt study` once, after the array. That `cmt study` finds those folds
# finished, trains the contrastive-only cells and writes the report with Tables 1-4 (CT and X-ray).
# Usage: study_slurm.sh CMT DATASET WORKDIR
set -eu
cmt=$1; data=$2; dir=$3
. "$(dirname "$0")/tiny_run_args.sh"
rm -rf "$dir"; mkdir -p "$dir/bin"
"$cmt" synth --out "$dir/raw" --modality xray --format png --count 6 --seed 3 --size xray=16 >/dev/null
"$cmt" prepare --input "$dir/raw/xray/png" --out "$dir/xray.h5" --modality xray --size 16 --folds 2 >/dev/null
out=$dir/study
cat > "$dir/study.json" <<JSON
{"datasets": {"ct": "$data", "xray": "$dir/xray.h5"}, "backbones": ["resnet50"], "tasks": ["binary", "ternary"],
 "out": "$out", "run": {"width": 0.125, "depth": 0.34, "latent_dim": 8, "batch_size": 2, "device": "cpu",
 "progress": false, "steps": 1}}
JSON
"$cmt" study --config "$dir/study.json" --slurm --slurm-gpus 0 --slurm-cpus 1 > "$dir/study.sbatch" 2> "$dir/slurm.log" ||
  fail "cmt study --slurm" "$dir/slurm.log"
# 2 datasets x 2 tasks x (CMT-CNN, CE-only) x 2 folds; the contrastive-only cells are left to the report job.
grep -q -- "^#SBATCH --array=0-15\$" "$dir/study.sbatch" || fail "expected 16 array tasks" "$dir/study.sbatch"
printf '#!/bin/sh\nexec "$@"\n' > "$dir/bin/srun"
printf '#!/bin/sh\necho "$*" >> "%s/sbatch.args"\necho "Submitted batch job 200"\n' "$dir" > "$dir/bin/sbatch"
chmod +x "$dir/bin/srun" "$dir/bin/sbatch"
for i in $(seq 0 15); do
  env PATH="$dir/bin:$PATH" SLURM_ARRAY_TASK_ID=$i SLURM_JOB_ID=10$i SLURM_ARRAY_JOB_ID=100 SLURM_CPUS_PER_TASK=1 \
    bash "$dir/study.sbatch" > "$dir/task$i.log" 2>&1 || fail "array task $i" "$dir/task$i.log"
done
[ "$(wc -l < "$dir/sbatch.args")" -eq 1 ] || fail "the report job was not submitted exactly once" "$dir/sbatch.args"
grep -q -- "--dependency=afterok:100 .*study --config '$dir/study.json' --out '$out'" "$dir/sbatch.args" ||
  fail "the report job does not run cmt study after the array" "$dir/sbatch.args"
for cell in ct/binary xray/ternary; do
  [ -f "$out/$cell/resnet50/ce-only/fold1/eval.json" ] || fail "$cell: fold 1 of CE-only not trained by its task"
done
"$cmt" study --config "$dir/study.json" --out "$out" > "$dir/report.log" 2>&1 || fail "the report job's cmt study" "$dir/report.log"
[ "$(grep -c "finished earlier" "$dir/report.log")" -eq 16 ] || fail "the array's folds were trained again" "$dir/report.log"
for title in "Table 1: CMT-CNN on CT" "Table 2: CMT-CNN on X-ray" "Table 3:" "Table 4:"; do
  grep -q "^## $title" "$out/report.md" || fail "no '$title' in the report" "$out/report.md"
done
grep -q "^| X-ray | resnet50 |" "$out/report.md" || fail "no X-ray row in the ablation tables" "$out/report.md"
echo "ok: one job array for the study's grid, then cmt study reports"
