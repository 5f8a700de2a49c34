// `cmt cv`: the K folds of a cross-validation one after another (or a Slurm job-array script),
// then the evaluation across folds: mean and standard deviation of the paper's metrics. Run again
// after an interruption, it skips the folds that finished and resumes the one that was stopped.
#include <filesystem>
#include <fstream>

#include <fmt/core.h>

#include "apps/commands.h"
#include "apps/cv_run.h"
#include "apps/dataset_checks.h"
#include "apps/probe.h"
#include "apps/resume_config.h"
#include "apps/run_folder.h"
#include "apps/run_setup.h"
#include "apps/slurm_script.h"
#include "apps/usage_error.h"
#include "engine/communicator.h"

namespace cmt::app {

namespace {

namespace fs = std::filesystem;

struct CvArgs {
  RunConfigOptions config;
  int folds = 0;  // 0: all folds of the dataset
  bool slurm = false;
  SlurmOptions slurm_options;
  bool probe = false;  // Table 4: per fold, contrastive-only pre-training, then a linear probe
};

void write_json_atomically(const fs::path& path, const nlohmann::json& j) {
  const fs::path tmp = path.string() + ".tmp";
  std::ofstream(tmp) << j.dump(2) << "\n";
  fs::rename(tmp, path);
}

// A cross-validation folder holds one configuration: a re-run continues it only when the keys
// that shape the training are the same (cv-config.json records them).
void check_same_cv(const fs::path& saved_path, const RunConfig& base) {
  if (!fs::exists(saved_path)) return;
  std::ifstream in(saved_path);
  const nlohmann::json saved = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  CMT_CHECK(saved.is_object(), saved_path.string() << " is not valid JSON; remove it to start the cross-validation again");
  const std::string refused = changes_refused_on_resume(saved, base.to_json(), "in " + saved_path.string());
  if (!refused.empty())
    throw UsageError(
        fmt::format("--out {} holds a cross-validation configured otherwise:{}\ncontinue it with the same "
                    "configuration, or give another --out",
                    saved_path.parent_path().string(), refused));
}

int print_slurm_script(const CvArgs& a, const RunConfig& base, int k) {
  const std::string root = fs::absolute(base.out).lexically_normal().string();
  const std::string cmt = fs::canonical("/proc/self/exe").string();  // the tasks run this binary, not whatever PATH finds
  if (root.find('\'') != std::string::npos || cmt.find('\'') != std::string::npos)
    throw UsageError("--slurm: the paths of the script may not hold a single quote: " + root + ", " + cmt);
  fs::create_directories(root);
  RunConfig saved = base;
  saved.out = root;
  write_json_atomically(fs::path(root) / "cv-config.json", saved.to_json());
  std::printf("%s", cv_array_script(a.slurm_options, cmt, root, k).c_str());
  return kOk;
}

}  // namespace

int check_cross_validation(const RunConfig& base, int folds, bool probe) {
  const int k = folds > 0 ? folds : data::Dataset::open(base.dataset).num_folds();
  if (probe && !base.init_from.empty()) throw UsageError("cmt cv: --probe pre-trains every fold itself; drop --init-from");
  if (!base.init_from.empty() && k > 1)
    std::fprintf(stderr,
                 "cmt cv: warning: every fold starts from the same --init-from %s; if it was trained on this dataset it saw "
                 "the other folds' held-out samples (cmt cv --probe pre-trains on each fold's training part instead)\n",
                 base.init_from.c_str());
  for (int f = 0; f < k; ++f) {  // every fold holds a batch, before any of them trains
    RunConfig c = base;
    c.fold = f;
    check_against_dataset(c);
  }
  check_same_cv(fs::path(base.out) / "cv-config.json", base);
  return k;
}

int run_cross_validation(const RunConfig& base, int k, bool probe) {
  const fs::path root = base.out;
  // Under a launcher (each fold data-parallel) one process writes the files of the cross-validation.
  const bool lead = launcher_rank() == 0;
  if (lead) {
    fs::create_directories(root);
    write_json_atomically(root / "cv-config.json", base.to_json());
  }
  std::vector<nlohmann::json> results;
  for (int f = 0; f < k; ++f) {
    RunConfig c = base;
    c.fold = f;
    c.out = (root / fmt::format("fold{}", f)).string();
    const fs::path dir = c.out;
    if (fs::exists(dir / "eval.json")) {  // written when the fold's training finished
      std::fprintf(stderr, "cmt cv: fold %d/%d finished earlier (%s/eval.json)\n", f + 1, k, c.out.c_str());
      std::ifstream in(dir / "eval.json");
      results.push_back(nlohmann::json::parse(in));
      continue;
    }
    const bool resume = fs::exists(dir / "last.h5");
    std::fprintf(stderr, "cmt cv: fold %d/%d -> %s%s\n", f + 1, k, c.out.c_str(), resume ? " (resumed from last.h5)" : "");
    // A fold folder without a checkpoint holds nothing worth keeping: it starts again.
    if (lead) prepare_run_folder(c.out, resume ? RunFolderUse::resume : RunFolderUse::overwrite);
    const FoldResult r = probe ? pretrain_and_probe(c, (root / "pretrain" / fmt::format("fold{}", f)).string(), c.out)
                               : train_fold(c, resume ? (dir / "last.h5").string() : "");
    if (r.status == TrainStatus::interrupted) {
      std::fprintf(stderr, "cmt cv: stopped by a signal in fold %d; run the same command again to continue\n", f);
      return kInterrupted;
    }
    results.push_back(r.metrics);
  }
  nlohmann::json s = summarize_folds(results);
  s["config"] = base.to_json();
  if (probe) s["pipeline"] = "contrastive pre-training on each fold's training part, then a linear probe";
  if (lead) write_json_atomically(root / "cv.json", s);
  std::printf("%d-fold cross-validation of %s (%s):\n", k, base.backbone.c_str(), base.dataset.c_str());
  print_metrics_table(s);
  return kOk;
}

namespace {

int run_cv(const CvArgs& a) {
  RunConfig base = a.config.validated();
  if (a.probe && a.slurm)
    throw UsageError("cmt cv: --probe runs each fold's pre-training and probe in turn here; it has no --slurm script");
  const int k = check_cross_validation(base, a.folds, a.probe);
  if (a.slurm) return print_slurm_script(a, base, k);
  return run_cross_validation(base, k, a.probe);
}

void setup_cv(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("cv", "Cross-validation: train every fold, then evaluate across folds (re-run to continue)");
  auto args = std::make_shared<CvArgs>();
  args->config.add_to(*cmd);
  cmd->get_option("--fold")->group("");  // every fold is trained: not listed in --help
  cmd->add_option("--folds", args->folds, "run only the first K folds (default: all of the dataset's)");
  cmd->add_flag("--slurm", args->slurm, "print a Slurm job-array script instead of running (docs/cluster.md)");
  add_slurm_options(*cmd, args->slurm_options);
  cmd->add_flag("--probe", args->probe,
                "Table 4: per fold, pre-train F by the contrastive loss alone on its training part, then a linear probe");
  cmd->callback([&action, args] { action = [args] { return run_cv(*args); }; });
}

}  // namespace

CMT_REGISTER_COMMAND(60, "cv", setup_cv);

}  // namespace cmt::app
