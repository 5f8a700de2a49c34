// `cmt study --config STUDY.json`: the paper's grid (datasets x tasks x backbones x {CMT-CNN,
// CE-only, contrastive-only}) as one cross-validation per cell, each run as `cmt cv` runs it (a
// finished fold is skipped, an interrupted one resumed), then the report of Tables 1-4
// (docs/study.md). `--slurm` prints one job array for every fold of the grid instead.
#include <filesystem>

#include <fmt/core.h>

#include "apps/commands.h"
#include "apps/cv_run.h"
#include "apps/slurm_script.h"
#include "apps/study_plan.h"
#include "apps/study_report.h"
#include "apps/text_file.h"
#include "apps/usage_error.h"

namespace cmt::app {

namespace {

namespace fs = std::filesystem;

struct StudyArgs {
  std::string config;
  StudyOverrides flags;
  bool slurm = false;
  SlurmOptions slurm_options;
};

std::string quoted(const std::string& s) {
  if (s.find('\'') != std::string::npos) throw UsageError("--slurm: the script's arguments may not hold a single quote: " + s);
  return "'" + s + "'";
}

// Every fold of the grid but the contrastive-only cells (two trainings per fold, pre-training then
// probe) becomes an array task; the `cmt study` that runs after the array trains those and reports.
int print_study_script(const StudyArgs& a, const StudyPlan& plan, const std::vector<int>& folds) {
  const std::string out = fs::absolute(plan.out).lexically_normal().string();
  const std::string cmt = fs::canonical("/proc/self/exe").string();
  std::vector<ArrayTask> tasks;
  for (std::size_t i = 0; i < plan.cells.size(); ++i) {
    RunConfig saved = plan.cells[i].config;
    saved.out = fs::absolute(saved.out).lexically_normal().string();
    saved.dataset = fs::absolute(saved.dataset).lexically_normal().string();
    quoted(saved.out);
    fs::create_directories(saved.out);
    write_text_atomic((fs::path(saved.out) / "cv-config.json").string(), saved.to_json().dump(2) + "\n");
    if (plan.cells[i].probe()) continue;
    for (int f = 0; f < folds[i]; ++f) tasks.push_back({saved.out, f});
  }
  std::string finish = "--config " + quoted(fs::absolute(a.config).lexically_normal().string()) + " --out " + quoted(out);
  if (plan.folds > 0) finish += fmt::format(" --folds {}", plan.folds);
  finish += fmt::format(" --alpha {}", plan.alpha);
  for (const std::string& kv : a.flags.sets) finish += " --set " + quoted(kv);
  std::printf("%s", grid_array_script(a.slurm_options, cmt, out, tasks, finish).c_str());
  return kOk;
}

int run_study(const StudyArgs& a) {
  StudyPlan plan = read_study_plan(a.config, a.flags);
  // Every cell is checked against its dataset before any of them trains.
  std::vector<int> folds;
  for (const StudyCell& c : plan.cells) folds.push_back(check_cross_validation(c.config, plan.folds, c.probe()));
  if (a.slurm) {
    // The paths the tasks read must not depend on the directory the script is submitted from.
    for (StudyCell& c : plan.cells) c.config.dataset = fs::absolute(c.config.dataset).lexically_normal().string();
    return print_study_script(a, plan, folds);
  }
  for (std::size_t i = 0; i < plan.cells.size(); ++i) {
    const StudyCell& c = plan.cells[i];
    std::fprintf(stderr, "cmt study: cell %zu/%zu: %s %s %s %s -> %s\n", i + 1, plan.cells.size(), c.modality.c_str(),
                 c.task.c_str(), c.backbone.c_str(), method_label(c.method), c.config.out.c_str());
    const int rc = run_cross_validation(c.config, folds[i], c.probe());
    if (rc == kInterrupted) {
      std::fprintf(stderr, "cmt study: stopped; run the same command again to continue\n");
      return rc;
    }
    if (rc != kOk) return rc;
  }
  const std::string report = write_study_report(plan);
  std::printf("cmt study: report in %s\n", report.c_str());
  return kOk;
}

void setup_study(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand(
      "study", "The paper's grid (datasets x tasks x backbones x methods, cross-validated) and its Tables 1-4 (docs/study.md)");
  auto args = std::make_shared<StudyArgs>();
  cmd->add_option("--config", args->config, "study file (JSON): datasets, backbones, tasks, ablations, folds, run, out")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--out", args->flags.out, "study folder (default: the file's 'out', else runs/study)");
  cmd->add_option("--folds", args->flags.folds, "run only the first K folds of each dataset (0: all)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--alpha", args->flags.alpha, "significance level of the marks (default: the file's, else 0.05)");
  cmd->add_option("--set", args->flags.sets, "KEY=VALUE: a run key for every cell (e.g. --set epochs=50), over the file's 'run'");
  cmd->add_flag("--slurm", args->slurm, "print one Slurm job array for the whole grid instead of running (docs/study.md)");
  add_slurm_options(*cmd, args->slurm_options);
  cmd->callback([&action, args] { action = [args] { return run_study(*args); }; });
}

}  // namespace

CMT_REGISTER_COMMAND(62, "study", setup_study);

}  // namespace cmt::app
