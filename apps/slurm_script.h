// The Slurm job-array script of `cmt cv --slurm`: one fold per array task, each requeued and
// resumed from its last checkpoint when the time limit comes, and `cmt eval --cv` submitted as a
// job that runs once every fold has finished (docs/cluster.md).
#pragma once
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace cmt::app {

struct SlurmOptions {
  std::string time, partition, account, mem;  // empty: the site's default (no #SBATCH line)
  int gpus = 1;                               // per task; 0: no GPU requested
  int cpus = 8;                               // per task; OMP_NUM_THREADS follows it
  int signal_seconds = 300;                   // USR1 this long before the time limit
};

// --slurm-time, --slurm-partition, --slurm-account, --slurm-mem, --slurm-gpus, --slurm-cpus.
void add_slurm_options(CLI::App& cmd, SlurmOptions& s);

// `cmt` is the absolute path of the binary the tasks run; `root` the absolute folder of the
// cross-validation (root/cv-config.json, root/foldK/).
std::string cv_array_script(const SlurmOptions& o, const std::string& cmt, const std::string& root, int folds);

// One task per fold of several cross-validations (`cmt study --slurm`): task i trains fold
// tasks[i].fold of tasks[i].root (which holds cv-config.json). Task 0 submits `cmt study
// FINISH_ARGS` to run after the array; logs go to `out`. Paths are absolute.
struct ArrayTask {
  std::string root;
  int fold = 0;
};
std::string grid_array_script(const SlurmOptions& o, const std::string& cmt, const std::string& out,
                              const std::vector<ArrayTask>& tasks, const std::string& finish_args);

}  // namespace cmt::app
