// `cmt eval`: evaluates a trained run on its held-out fold (or all of an external dataset), or
// every fold of a cross-validation, refusing a partial one.
#include <cmath>
#include <filesystem>

#include <fmt/core.h>

#include "apps/commands.h"
#include "apps/cv_folds.h"
#include "apps/run_setup.h"
#include "apps/text_file.h"
#include "apps/usage_error.h"

namespace cmt::app {

namespace {

struct EvalArgs {
  std::string run, cv, checkpoint = "last", dataset;
  bool allow_partial = false;
};

// An undefined metric (NaN: a class never predicted, or without samples) is "-", not "nan".
std::string shown(const nlohmann::json& v, double scale, int decimals, const char* unit = "") {
  if (!v.is_number() || !std::isfinite(v.get<double>())) return "-";
  return fmt::format("{:.{}f}{}", scale * v.get<double>(), decimals, unit);
}

void print_run_metrics(const nlohmann::json& m, const std::string& run_dir) {
  const std::string pos = m["positive_class"].get<std::string>();
  const long long n = m["samples"].get<long long>();
  if (m["fold"].get<int>() < 0) fmt::print("{}: all {} samples of {}\n", run_dir, n, m["dataset"].get<std::string>());
  else fmt::print("{}: held-out fold {} of {} ({} samples)\n", run_dir, m["fold"].get<int>(), m["dataset"].get<std::string>(), n);
  fmt::print("positive class: {} (sensitivity, specificity and AUC are {} against the rest)\n", pos, pos);
  for (const char* key : {"accuracy", "sensitivity", "specificity"}) fmt::print("  {:<12} {}\n", key, shown(m[key], 100, 2, "%"));
  fmt::print("  {:<12} {}\n", "auc", shown(m["auc"], 1, 4));  // a fraction, not a percentage
  fmt::print("per class:\n");
  for (const auto& [name, pc] : m["per_class"].items())
    fmt::print("  {:<16} precision {:>5} recall {:>5}\n", name, shown(pc["precision"], 1, 3), shown(pc["recall"], 1, 3));
  std::string files;
  for (const auto& f : m["files"]) files += (files.empty() ? "" : ", ") + f.get<std::string>();
  fmt::print("files in {}: {}\n", run_dir, files);
}

int eval_cv(const EvalArgs& a) {
  const CvFolds f = find_cv_folds(a.cv);
  for (const auto& p : f.problems) fmt::print(stderr, "cmt eval: {}\n", p);
  if (!f.problems.empty() && !a.allow_partial) {
    fmt::print(stderr,
               "error: {}: {} of {} folds are trained to the end; a summary over the others is not the cross-validation. "
               "Nothing was written. Finish the folds, or give --allow-partial for a summary marked partial.\n",
               a.cv, f.ready.size(), f.expected);
    return kFailure;
  }
  CMT_CHECK(!f.ready.empty(), a.cv << ": no fold is trained to the end");
  std::vector<nlohmann::json> folds;
  for (int k : f.ready)
    folds.push_back(evaluate_run((std::filesystem::path(a.cv) / fmt::format("fold{}", k)).string(), a.checkpoint, a.dataset));
  nlohmann::json s = summarize_folds(folds);
  s["folds_evaluated"] = f.ready;
  s["folds_expected"] = f.expected;
  s["complete"] = f.problems.empty();
  s["problems"] = f.problems;
  std::string list;
  for (int k : f.ready) list += (list.empty() ? "" : ", ") + std::to_string(k);
  fmt::print("folds evaluated: {} (of {})\n", list, f.expected);
  std::fflush(stdout);
  print_metrics_table(s);
  // cv.json, or cv-NAME.json beside the folds' eval-NAME.json for an external dataset.
  std::string name = folds.front()["files"][0].get<std::string>();
  name.replace(0, 4, "cv");
  write_text_atomic((std::filesystem::path(a.cv) / name).string(), s.dump(2) + "\n");
  if (!f.problems.empty())
    fmt::print(stderr, "WARNING: PARTIAL cross-validation: {} of {} folds; {} is marked \"complete\": false\n", f.ready.size(),
               f.expected, name);
  return kOk;
}

int run_eval(const EvalArgs& a) {
  if (a.run.empty() == a.cv.empty()) throw UsageError("cmt eval: give either --run RUN_DIR or --cv CV_DIR");
  if (!a.cv.empty()) return eval_cv(a);
  const std::string unfinished = unfinished_reason(a.run);
  if (!unfinished.empty()) fmt::print(stderr, "cmt eval: warning: {}: {}\n", a.run, unfinished);
  print_run_metrics(evaluate_run(a.run, a.checkpoint, a.dataset), a.run);
  return kOk;
}

void setup_eval(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("eval", "Evaluate a run on its held-out fold, or all folds of a cross-validation");
  auto args = std::make_shared<EvalArgs>();
  cmd->add_option("--run", args->run, "run folder of `cmt train`")->check(CLI::ExistingDirectory);
  cmd->add_option("--cv", args->cv, "folder of `cmt cv` (fold0/, fold1/, ...)")->check(CLI::ExistingDirectory);
  cmd->add_option("--checkpoint", args->checkpoint, "last, best or a checkpoint path");
  cmd->add_option("--dataset", args->dataset,
                  "the run's dataset where it moved, or another dataset prepared alike: evaluated whole, into eval-NAME.json");
  cmd->add_flag("--allow-partial", args->allow_partial,
                "--cv: summarise the finished folds when some are missing, marked partial");
  cmd->callback([&action, args] { action = [args] { return run_eval(*args); }; });
}

}  // namespace

CMT_REGISTER_COMMAND(55, "eval", setup_eval);

}  // namespace cmt::app
