// `cmt eval`: evaluates a trained run on its held-out fold, or every fold of a cross-validation.
#include <filesystem>
#include <fstream>

#include <fmt/core.h>

#include "apps/commands.h"
#include "apps/run_setup.h"
#include "apps/usage_error.h"

namespace cmt::app {

namespace {

struct EvalArgs {
  std::string run, cv, checkpoint = "last", dataset;
};

int run_eval(const EvalArgs& a) {
  if (a.run.empty() == a.cv.empty()) throw UsageError("cmt eval: give either --run RUN_DIR or --cv CV_DIR");
  if (!a.run.empty()) {
    const nlohmann::json m = evaluate_run(a.run, a.checkpoint, a.dataset);
    print_metrics_table(summarize_folds({m}));
    std::printf("per class:\n");
    for (const auto& [name, pc] : m["per_class"].items())
      std::printf("  %-16s precision %.3f recall %.3f\n", name.c_str(), pc.value("precision", 0.0), pc.value("recall", 0.0));
    std::printf("files: %s/eval.json, roc.svg, confusion.svg\n", a.run.c_str());
    return kOk;
  }
  std::vector<nlohmann::json> folds;
  for (int k = 0;; ++k) {
    const auto dir = std::filesystem::path(a.cv) / fmt::format("fold{}", k);
    if (!std::filesystem::exists(dir / "config.json")) break;
    folds.push_back(evaluate_run(dir.string(), a.checkpoint, a.dataset));
  }
  CMT_CHECK(!folds.empty(), a.cv << ": no fold0/, fold1/, ... run folders (from `cmt cv`)");
  nlohmann::json s = summarize_folds(folds);
  print_metrics_table(s);
  std::ofstream(std::filesystem::path(a.cv) / "cv.json") << s.dump(2) << "\n";
  return kOk;
}

void setup_eval(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("eval", "Evaluate a run on its held-out fold, or all folds of a cross-validation");
  auto args = std::make_shared<EvalArgs>();
  cmd->add_option("--run", args->run, "run folder of `cmt train`")->check(CLI::ExistingDirectory);
  cmd->add_option("--cv", args->cv, "folder of `cmt cv` (fold0/, fold1/, ...)")->check(CLI::ExistingDirectory);
  cmd->add_option("--checkpoint", args->checkpoint, "last, best or a checkpoint path");
  cmd->add_option("--dataset", args->dataset, "evaluate on this dataset instead of the run's");
  cmd->callback([&action, args] { action = [args] { return run_eval(*args); }; });
}

}  // namespace

CMT_REGISTER_COMMAND(55, "eval", setup_eval);

}  // namespace cmt::app
