// The job-array script. Slurm's `--signal=B:USR1@T` signals the batch shell alone, so the shell
// traps USR1 and forwards it to srun (which passes it on to cmt), then waits for cmt to checkpoint
// and exit 3 before it requeues the task; without the trap the shell would die at once.
#include "apps/slurm_script.h"

#include <utility>

#include <fmt/core.h>

namespace cmt::app {

namespace {
std::string sbatch_line(const char* key, const std::string& value) {
  return value.empty() ? std::string() : fmt::format("#SBATCH --{}={}\n", key, value);
}

// The #SBATCH lines of an array of `count` tasks whose logs go to `root`.
std::string array_header(const SlurmOptions& o, const std::string& job_name, std::size_t count, const std::string& root) {
  std::string head = fmt::format("#!/bin/bash\n#SBATCH --job-name={}\n", job_name);
  head += fmt::format("#SBATCH --array=0-{}\n", count - 1);
  head += sbatch_line("gres", o.gpus > 0 ? fmt::format("gpu:{}", o.gpus) : "");
  head += sbatch_line("cpus-per-task", std::to_string(o.cpus));
  head += sbatch_line("time", o.time) + sbatch_line("partition", o.partition) + sbatch_line("account", o.account) +
          sbatch_line("mem", o.mem);
  head += fmt::format("#SBATCH --signal=B:USR1@{}\n#SBATCH --requeue\n#SBATCH --open-mode=append\n", o.signal_seconds);
  head += fmt::format("#SBATCH --output={}/slurm-%A_%a.out\n", root);
  return head;
}

// The task's training of fold $fold of the cross-validation in $root into $run: resumed from its
// checkpoint when it has one, requeued when cmt stopped at the time limit (exit 3).
const char* const kTrainAndRequeue = R"(# A fold that wrote no checkpoint yet starts again from scratch.
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
)";

}  // namespace

std::string cv_array_script(const SlurmOptions& o, const std::string& cmt, const std::string& root, int folds) {
  const std::string head = array_header(o, "cmt-cv", static_cast<std::size_t>(folds), root);
  return head +
         fmt::format(R"(# One fold per array task. {sec} s before the time limit Slurm sends USR1 to this shell; it passes
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
)",
                     fmt::arg("sec", o.signal_seconds), fmt::arg("cmt", cmt), fmt::arg("root", root)) +
         kTrainAndRequeue;
}

std::string grid_array_script(const SlurmOptions& o, const std::string& cmt, const std::string& out,
                              const std::vector<ArrayTask>& tasks, const std::string& finish_args) {
  std::string roots, folds;
  for (const ArrayTask& t : tasks) {
    roots += fmt::format(" '{}'", t.root);
    folds += fmt::format(" {}", t.fold);
  }
  // The finishing job asks for the tasks' resources: it trains whatever the array does not.
  std::string resources = o.gpus > 0 ? fmt::format(" --gres=gpu:{}", o.gpus) : "";
  resources += fmt::format(" --cpus-per-task={}", o.cpus);
  for (const auto& [key, value] :
       {std::pair<const char*, std::string>{"time", o.time}, {"partition", o.partition}, {"account", o.account}, {"mem", o.mem}})
    if (!value.empty()) resources += fmt::format(" --{}={}", key, value);
  return array_header(o, "cmt-study", tasks.size(), out) +
         fmt::format(R"(# One fold of one cross-validation of the study per array task, requeued and resumed from
# last.h5 at the time limit as in `cmt cv --slurm`. Task 0 submits `cmt study` again, to run once
# every task succeeded: it finds the folds finished and writes the report.
cmt='{cmt}'
out='{out}'
export OMP_NUM_THREADS=${{SLURM_CPUS_PER_TASK:-1}}
roots=({roots} )
folds=({folds} )
root=${{roots[$SLURM_ARRAY_TASK_ID]}}
fold=${{folds[$SLURM_ARRAY_TASK_ID]}}
run=$root/fold$fold
# Once per array job (a requeued task 0 keeps the job's id; a new submission has its own).
mark=$out/.report-submitted-$SLURM_ARRAY_JOB_ID
if [ "$SLURM_ARRAY_TASK_ID" = 0 ] && mkdir "$mark" 2>/dev/null; then
  sbatch --job-name=cmt-study-report --dependency=afterok:$SLURM_ARRAY_JOB_ID --kill-on-invalid-dep=yes{resources} \
    --output="$out/slurm-report-%j.out" --wrap "'$cmt' study {finish}" || rmdir "$mark"
fi
)",
                     fmt::arg("cmt", cmt), fmt::arg("out", out), fmt::arg("roots", roots), fmt::arg("folds", folds),
                     fmt::arg("resources", resources), fmt::arg("finish", finish_args)) +
         kTrainAndRequeue;
}

void add_slurm_options(CLI::App& cmd, SlurmOptions& s) {
  cmd.add_option("--slurm-time", s.time, "--slurm: the tasks' time limit (#SBATCH --time, e.g. 24:00:00)");
  cmd.add_option("--slurm-partition", s.partition, "--slurm: #SBATCH --partition");
  cmd.add_option("--slurm-account", s.account, "--slurm: #SBATCH --account");
  cmd.add_option("--slurm-mem", s.mem, "--slurm: #SBATCH --mem (e.g. 64G)");
  cmd.add_option("--slurm-gpus", s.gpus, "--slurm: GPUs per task (0: none)")->check(CLI::NonNegativeNumber);
  cmd.add_option("--slurm-cpus", s.cpus, "--slurm: CPUs per task (OMP_NUM_THREADS follows)")->check(CLI::PositiveNumber);
}

}  // namespace cmt::app
