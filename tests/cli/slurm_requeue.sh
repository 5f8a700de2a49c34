#!/bin/sh
# The script of `cmt cv --slurm` run as Slurm would run it, with fake srun, scontrol and sbatch on
# PATH: USR1 to the batch shell (--signal=B:USR1) reaches cmt, which checkpoints and exits 3, and the
# task requeues itself; started again, the task resumes its fold from last.h5; task 0 submits
# `cmt eval --cv` once, as a job that depends on the array. Usage: slurm_requeue.sh CMT DATASET WORKDIR
set -eu
cmt=$1; data=$2; dir=$3
. "$(dirname "$0")/tiny_run_args.sh"
rm -rf "$dir"; mkdir -p "$dir/bin"
cv=$dir/cv
"$cmt" cv $tiny --epochs 5000 --out "$cv" --slurm --slurm-time 00:10:00 --slurm-partition short --slurm-account proj \
  --slurm-gpus 0 --slurm-cpus 1 > "$dir/cv.sbatch" 2> "$dir/cv.log" || fail "cmt cv --slurm" "$dir/cv.log"
for line in "--array=0-1" "--signal=B:USR1@300" "--requeue" "--open-mode=append" "--time=00:10:00" "--partition=short" \
  "--account=proj" "--cpus-per-task=1"; do
  grep -q -- "^#SBATCH $line\$" "$dir/cv.sbatch" || fail "no '#SBATCH $line'" "$dir/cv.sbatch"
done
grep -q -- "--gres" "$dir/cv.sbatch" && fail "--slurm-gpus 0 still asks for a GPU" "$dir/cv.sbatch"
grep -q 'OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK' "$dir/cv.sbatch" || fail "OMP_NUM_THREADS does not follow the CPUs" "$dir/cv.sbatch"
grep -q "^cmt='$(readlink -f "$cmt")'\$" "$dir/cv.sbatch" || fail "the script does not run cmt by its absolute path" "$dir/cv.sbatch"
[ -f "$cv/cv-config.json" ] || fail "no cv-config.json"

# Fake Slurm commands: srun runs the task's command; scontrol and sbatch record their arguments.
cat > "$dir/bin/srun" <<FAKE
#!/bin/sh
echo "\$*" >> "$dir/srun.args"
echo \$\$ >> "$dir/srun.pids"
exec "\$@"
FAKE
printf '#!/bin/sh\necho "$*" >> "%s/scontrol.args"\n' "$dir" > "$dir/bin/scontrol"
printf '#!/bin/sh\necho "$*" >> "%s/sbatch.args"\necho "Submitted batch job 200"\n' "$dir" > "$dir/bin/sbatch"
chmod +x "$dir/bin/srun" "$dir/bin/scontrol" "$dir/bin/sbatch"
# A failed check must not leave a training behind: the tasks' cmt processes end with the test.
trap 'for p in $(cat "$dir/srun.pids" 2>/dev/null); do kill "$p" 2>/dev/null || true; done' EXIT

# task START: runs array task 0 until it has trained START+1 steps, then sends USR1 to the batch
# shell (as Slurm does --signal=B:...) and expects exit 3 and a requeue.
task() {
  log=$dir/task$1.log
  env PATH="$dir/bin:$PATH" SLURM_ARRAY_TASK_ID=0 SLURM_JOB_ID=101 SLURM_ARRAY_JOB_ID=100 SLURM_CPUS_PER_TASK=1 \
    bash "$dir/cv.sbatch" > "$log" 2>&1 &
  shell=$!
  wait_for_steps "$cv/fold0/steps.csv" $(($1 + 1)) "$log"
  kill -USR1 "$shell"
  status=0
  wait "$shell" || status=$?
  [ "$status" -eq 3 ] || fail "task $1: the batch script exited $status after USR1, expected cmt's 3" "$log"
  grep -q "signal 10" "$log" || fail "task $1: cmt did not see USR1" "$log"
  [ "$(grep -c '^requeue 101$' "$dir/scontrol.args")" -eq "$2" ] || fail "task $1: no 'scontrol requeue 101'" "$dir/scontrol.args"
}
task 0 1
[ -f "$cv/fold0/last.h5" ] || fail "USR1 left no last.h5"
grep -q -- "--overwrite" "$dir/srun.args" || fail "the first start of a fold is not a fresh one" "$dir/srun.args"
steps=$(steps_in "$cv/fold0/steps.csv")
task "$steps" 2  # requeued: the same task again
tail -n 1 "$dir/srun.args" | grep -q -- "--resume $cv/fold0/last.h5" || fail "the requeued task does not resume" "$dir/srun.args"
[ "$(grep -c . "$dir/sbatch.args")" -eq 1 ] || fail "cmt eval --cv was submitted $(grep -c . "$dir/sbatch.args") times, expected once"
grep -q -- "--dependency=afterok:100 " "$dir/sbatch.args" && grep -q "eval --cv '$cv'" "$dir/sbatch.args" ||
  fail "the evaluation job does not wait for the array or does not run cmt eval --cv" "$dir/sbatch.args"
echo "ok: USR1 to the batch shell checkpoints, requeues and resumes; eval --cv submitted once as a dependent job"
