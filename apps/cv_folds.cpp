// Cross-validation folders: expected folds from the dataset, training progress from last.h5.
#include "apps/cv_folds.h"

#include <filesystem>

#include <fmt/core.h>

#include "apps/run_setup.h"
#include "engine/checkpoint.h"

namespace cmt::app {

namespace fs = std::filesystem;

namespace {

constexpr int kMostFolds = 100;  // prepare's --folds limit

fs::path fold_dir(const std::string& cv_dir, int k) { return fs::path(cv_dir) / fmt::format("fold{}", k); }

}  // namespace

std::string unfinished_reason(const std::string& run_dir) {
  const fs::path last = fs::path(run_dir) / "last.h5";
  if (!fs::exists(last)) return "no last.h5: training did not reach a checkpoint";
  const RunConfig c = read_run(run_dir).config;
  const CheckpointState s = read_checkpoint_state(last.string());
  const bool done = s.epoch >= c.epochs || (c.steps > 0 && s.step >= c.steps);
  if (done) return "";
  return c.steps > 0
             ? fmt::format("training stopped at step {} of {} (resume with --resume {})", s.step, c.steps, last.string())
             : fmt::format("training stopped at epoch {} of {} (resume with --resume {})", s.epoch, c.epochs, last.string());
}

CvFolds find_cv_folds(const std::string& cv_dir) {
  int first = -1;
  for (int k = 0; k < kMostFolds && first < 0; ++k)
    if (fs::exists(fold_dir(cv_dir, k) / "config.json")) first = k;
  CMT_CHECK(first >= 0, cv_dir << ": no fold0/, fold1/, ... run folders (from `cmt cv`)");
  const std::string first_dir = fold_dir(cv_dir, first).string();
  CvFolds f;
  f.expected = data::Dataset::open(resolve_run_dataset(first_dir, read_run(first_dir))).num_folds();
  for (int k = 0; k < f.expected; ++k) {
    const fs::path dir = fold_dir(cv_dir, k);
    if (!fs::exists(dir / "config.json")) {
      f.problems.push_back(fmt::format("fold {}: missing (no {})", k, (dir / "config.json").string()));
      continue;
    }
    const std::string why = unfinished_reason(dir.string());
    if (why.empty()) f.ready.push_back(k);
    else f.problems.push_back(fmt::format("fold {}: {}", k, why));
  }
  return f;
}

}  // namespace cmt::app
