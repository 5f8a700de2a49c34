// `cmt compare RUN_A RUN_B`: the paired t-test over folds that the paper uses for its marks.
#include <cmath>
#include <filesystem>
#include <fstream>

#include "apps/commands.h"
#include "apps/paired_folds.h"
#include "apps/text_file.h"
#include "engine/metrics.h"
#include "kernels/common/check.h"

namespace cmt::app {

namespace {

nlohmann::json read_cv(const std::string& dir) {
  return read_json_file((std::filesystem::path(dir) / "cv.json").string(), " (run `cmt cv` or `cmt eval --cv` first)");
}

int run_compare(const std::string& a_dir, const std::string& b_dir, double alpha) {
  const nlohmann::json a = read_cv(a_dir), b = read_cv(b_dir);
  check_same_folds(a, b, a_dir, b_dir);
  std::printf("%-12s %9s %9s %8s %4s %9s  %s\n", "metric", "A mean", "B mean", "t", "df", "p", "verdict");
  for (const char* key : {"accuracy", "sensitivity", "specificity", "auc"}) {
    const auto va = per_fold(a, a_dir, key);
    const auto vb = per_fold(b, b_dir, key);
    CMT_CHECK(va.size() == vb.size(), key << ": " << va.size() << " folds in A, " << vb.size() << " in B");
    const metrics::TTest t = metrics::paired_t_test(va, vb);
    const char* verdict = t.p < alpha ? (t.t > 0 ? "A better (+)" : "B better") : "no significant difference";
    std::printf("%-12s %8.2f%% %8.2f%% %8.3f %4d %9.4f  %s\n", key, 100 * metrics::mean_std(va).mean, 100 * metrics::mean_std(vb).mean,
                t.t, t.df, t.p, verdict);
  }
  return kOk;
}

void setup_compare(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("compare", "Paired t-test over folds between two cross-validations");
  auto a = std::make_shared<std::string>(), b = std::make_shared<std::string>();
  auto alpha = std::make_shared<double>(0.05);
  cmd->add_option("RUN_A", *a, "first cv folder")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("RUN_B", *b, "second cv folder")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--alpha", *alpha, "significance level");
  cmd->callback([&action, a, b, alpha] { action = [a, b, alpha] { return run_compare(*a, *b, *alpha); }; });
}

}  // namespace

CMT_REGISTER_COMMAND(65, "compare", setup_compare);

}  // namespace cmt::app
