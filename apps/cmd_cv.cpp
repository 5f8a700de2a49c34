// `cmt cv`: the K folds of a cross-validation one after another (or a Slurm job-array script),
// then the evaluation across folds: mean and standard deviation of the paper's metrics.
#include <filesystem>
#include <fstream>

#include <fmt/core.h>

#include "apps/commands.h"
#include "apps/probe.h"
#include "apps/run_setup.h"

namespace cmt::app {

namespace {

struct CvArgs {
  RunConfigOptions config;
  int folds = 0;  // 0: all folds of the dataset
  bool slurm = false;
  bool probe = false;  // Table 4: per fold, contrastive-only pre-training, then a linear probe
};

int run_cv(const CvArgs& a) {
  RunConfig base = a.config.finalize();
  base.validate();
  const int k = a.folds > 0 ? a.folds : data::Dataset::open(base.dataset).num_folds();
  const std::string root = base.out;
  CMT_CHECK(!(a.probe && a.slurm),
            "cmt cv: --probe runs each fold's pre-training and probe in turn here; it has no --slurm script");
  CMT_CHECK(!(a.probe && !base.init_from.empty()), "cmt cv: --probe pre-trains every fold itself; drop --init-from");
  if (!base.init_from.empty() && k > 1)
    std::fprintf(stderr,
                 "cmt cv: warning: every fold starts from the same --init-from %s; if it was trained on this dataset it saw "
                 "the other folds' held-out samples (cmt cv --probe pre-trains on each fold's training part instead)\n",
                 base.init_from.c_str());
  if (a.slurm) {
    std::printf(R"(#!/bin/bash
#SBATCH --job-name=cmt-cv
#SBATCH --array=0-%d
#SBATCH --gres=gpu:1
#SBATCH --cpus-per-task=8
#SBATCH --signal=B:USR1@300
#SBATCH --output=%s/slurm-%%A_%%a.out
# One fold per array task; SIGUSR1 five minutes before the limit makes cmt checkpoint and exit 3,
# then the task requeues itself and resumes. Afterwards: cmt eval --cv %s
mkdir -p %s
fold=$SLURM_ARRAY_TASK_ID
run=%s/fold$fold
resume=""
[ -f $run/last.h5 ] && resume="--resume $run/last.h5"
srun cmt train --config %s/cv-config.json --fold $fold --out $run $resume
rc=$?
[ $rc -eq 3 ] && scontrol requeue $SLURM_JOB_ID
exit $rc
)",
                k - 1, root.c_str(), root.c_str(), root.c_str(), root.c_str(), root.c_str());
    std::filesystem::create_directories(root);
    std::ofstream(std::filesystem::path(root) / "cv-config.json") << base.to_json().dump(2) << "\n";
    return kOk;
  }
  std::vector<nlohmann::json> results;
  for (int f = 0; f < k; ++f) {
    RunConfig c = base;
    c.fold = f;
    c.out = (std::filesystem::path(root) / fmt::format("fold{}", f)).string();
    std::fprintf(stderr, "cmt cv: fold %d/%d -> %s\n", f + 1, k, c.out.c_str());
    const FoldResult r =
        a.probe ? pretrain_and_probe(c, (std::filesystem::path(root) / "pretrain" / fmt::format("fold{}", f)).string(), c.out)
                : train_fold(c, "");
    if (r.status == TrainStatus::interrupted) return kInterrupted;
    results.push_back(r.metrics);
  }
  nlohmann::json s = summarize_folds(results);
  s["config"] = base.to_json();
  if (a.probe) s["pipeline"] = "contrastive pre-training on each fold's training part, then a linear probe";
  std::ofstream(std::filesystem::path(root) / "cv.json") << s.dump(2) << "\n";
  std::printf("%d-fold cross-validation of %s (%s):\n", k, base.backbone.c_str(), base.dataset.c_str());
  print_metrics_table(s);
  return kOk;
}

void setup_cv(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("cv", "Cross-validation: train every fold, then evaluate across folds");
  auto args = std::make_shared<CvArgs>();
  args->config.add_to(*cmd);
  cmd->add_option("--folds", args->folds, "run only the first K folds (default: all of the dataset's)");
  cmd->add_flag("--slurm", args->slurm, "print a Slurm job-array script instead of running");
  cmd->add_flag("--probe", args->probe,
                "Table 4: per fold, pre-train F by the contrastive loss alone on its training part, then a linear probe");
  cmd->callback([&action, args] { action = [args] { return run_cv(*args); }; });
}

}  // namespace

CMT_REGISTER_COMMAND(60, "cv", setup_cv);

}  // namespace cmt::app
