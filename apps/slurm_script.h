// The Slurm job-array script of `cmt cv --slurm`: one fold per array task, each requeued and
// resumed from its last checkpoint when the time limit comes, and `cmt eval --cv` submitted as a
// job that runs once every fold has finished (docs/cluster.md).
#pragma once
#include <string>

namespace cmt::app {

struct SlurmOptions {
  std::string time, partition, account, mem;  // empty: the site's default (no #SBATCH line)
  int gpus = 1;                               // per task; 0: no GPU requested
  int cpus = 8;                               // per task; OMP_NUM_THREADS follows it
  int signal_seconds = 300;                   // USR1 this long before the time limit
};

// `cmt` is the absolute path of the binary the tasks run; `root` the absolute folder of the
// cross-validation (root/cv-config.json, root/foldK/).
std::string cv_array_script(const SlurmOptions& o, const std::string& cmt, const std::string& root, int folds);

}  // namespace cmt::app
