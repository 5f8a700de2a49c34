// The job-array script. Slurm's `--signal=B:USR1@T` signals the batch shell alone, so the shell
// traps USR1 and forwards it to srun (which passes it on to cmt), then waits for cmt to checkpoint
// and exit 3 before it requeues the task; without the trap the shell would die at once.
#include "apps/slurm_script.h"

#include <fmt/core.h>

namespace cmt::app {

namespace {
std::string sbatch_line(const char* key, const std::string& value) {
  return value.empty() ? std::string() : fmt::format("#SBATCH --{}={}\n", key, value);
}
}  // namespace

std::string cv_array_script(const SlurmOptions& o, const std::string& cmt, const std::string& root, int folds) {
  std::string head = "#!/bin/bash\n#SBATCH --job-name=cmt-cv\n";
  head += fmt::format("#SBATCH --array=0-{}\n", folds - 1);
  head += sbatch_line("gres", o.gpus > 0 ? fmt::format("gpu:{}", o.gpus) : "");
  head += sbatch_line("cpus-per-task", std::to_string(o.cpus));
  head += sbatch_line("time", o.time) + sbatch_line("partition", o.partition) + sbatch_line("account", o.account) +
          sbatch_line("mem", o.mem);
  head += fmt::format("#SBATCH --signal=B:USR1@{}\n#SBATCH --requeue\n#SBATCH --open-mode=append\n", o.signal_seconds);
  head += fmt::format("#SBATCH --output={}/slurm-%A_%a.out\n", root);
  return head + fmt::format(R"(# One fold per array task. {sec} s before the time limit Slurm sends USR1 to this shell; it passes
# it on to cmt, which checkpoints and exits 3; the task then requeues itself and, started again,
# resumes its fold from last.h5. Task 0 submits `cmt eval --cv` to run once every task succeeded.
cmt='{cmt}'
root='{root}'
export OMP_NUM_THREADS=${{SLURM_CPUS_PER_TASK:-1}}
fold=$SLURM_ARRAY_TASK_ID
run=$root/fold$fold
# Once per array job (a requeued task 0 keeps the job's id; a new submission has its own).
mark=$root/.eval-submitted-$SLURM_ARRAY_JOB_ID
if [ "$fold" = 0 ] && mkdir "$mark" 2>/dev/null; then
  sbatch --job-name=cmt-cv-eval --dependency=afterok:$SLURM_ARRAY_JOB_ID --kill-on-invalid-dep=yes \
    --output="$root/slurm-eval-%j.out" --wrap "'$cmt' eval --cv '$root'" || rmdir "$mark"
fi
# A fold that wrote no checkpoint yet starts again from scratch.
if [ -f "$run/last.h5" ]; then start="--resume $run/last.h5"; else start="--overwrite"; fi
trap 'kill -USR1 "$pid" 2>/dev/null' USR1
srun "$cmt" train --config "$root/cv-config.json" --fold "$fold" --out "$run" $start &
pid=$!
# `wait` returns early when the trap runs: wait again until cmt itself has exited.
while :; do
  wait "$pid"
  rc=$?
  kill -0 "$pid" 2>/dev/null || break
done
if [ "$rc" -eq 3 ]; then
  scontrol requeue "$SLURM_JOB_ID"
fi
exit "$rc"
)",
                            fmt::arg("sec", o.signal_seconds), fmt::arg("cmt", cmt), fmt::arg("root", root));
}

}  // namespace cmt::app
