// `cmt compare RUN_A RUN_B`: the paired t-test over folds that the paper uses for its marks.
#include <cmath>
#include <filesystem>
#include <fstream>

#include "apps/commands.h"
#include "engine/metrics.h"
#include "kernels/common/check.h"

namespace cmt::app {

namespace {

nlohmann::json read_cv(const std::string& dir) {
  const auto path = std::filesystem::path(dir) / "cv.json";
  std::ifstream in(path);
  CMT_CHECK(in, path.string() << ": missing (run `cmt cv` or `cmt eval --cv` first)");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    CMT_THROW(path.string() << ": not valid JSON: " << e.what());
  }
}

// Folds are paired by position, so both runs must have held out the same samples in the same
// order: same fold ids, same held-out digest per fold (apps/run_setup.cpp, summarize_folds).
void check_same_folds(const nlohmann::json& a, const nlohmann::json& b, const std::string& a_dir, const std::string& b_dir) {
  for (const auto* run : {&a, &b})
    CMT_CHECK(run->contains("held_out") && run->contains("fold_ids"),
              (run == &a ? a_dir : b_dir) << "/cv.json: no record of its held-out samples; re-evaluate it with `cmt eval --cv "
                                          << (run == &a ? a_dir : b_dir) << "` before comparing");
  CMT_CHECK(a["fold_ids"] == b["fold_ids"], "cannot pair the folds: " << a_dir << " has folds " << a["fold_ids"].dump() << ", "
                                                                      << b_dir << " has " << b["fold_ids"].dump());
  for (std::size_t i = 0; i < a["held_out"].size(); ++i)
    CMT_CHECK(a["held_out"][i] == b["held_out"][i], "cannot pair fold "
                                                        << a["fold_ids"][i].dump() << ": " << a_dir << " and " << b_dir
                                                        << " held out different samples (another dataset or other folds)");
  const std::string da = a.contains("config") ? a["config"].value("dataset", "") : "";
  const std::string db = b.contains("config") ? b["config"].value("dataset", "") : "";
  if (!da.empty() && !db.empty() && da != db)
    std::fprintf(stderr, "cmt compare: note: the runs name different dataset files (%s, %s) but held out the same samples\n",
                 da.c_str(), db.c_str());
}

std::vector<double> per_fold(const nlohmann::json& run, const std::string& dir, const char* key) {
  std::vector<double> v;
  for (const auto& x : run["per_fold"][key]) {
    CMT_CHECK(x.is_number() && std::isfinite(x.get<double>()), dir << "/cv.json: fold " << run["fold_ids"][v.size()].dump()
                                                                   << " has '" << key << "' = " << x.dump() << ", not a number");
    v.push_back(x.get<double>());
  }
  return v;
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
