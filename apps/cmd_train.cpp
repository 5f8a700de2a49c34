// `cmt train`: trains CMT-CNN on one fold of a dataset, then evaluates it on the held-out fold.
#include <fmt/core.h>

#include "apps/commands.h"
#include "apps/dataset_checks.h"
#include "apps/resume_config.h"
#include "apps/run_folder.h"
#include "apps/run_setup.h"
#include "apps/usage_error.h"
#include "engine/communicator.h"

namespace cmt::app {

namespace {

struct TrainArgs {
  RunConfigOptions config;
  std::string resume;
  bool overwrite = false;
  bool dry_run = false;
};

int run_train(const TrainArgs& a) {
  if (!a.resume.empty() && a.overwrite) throw UsageError("--resume and --overwrite exclude each other");
  const RunConfig c = a.resume.empty() ? a.config.validated() : resumed_config(a.resume, a.config);
  const DatasetFit fit = check_against_dataset(c);
  if (a.dry_run) {
    std::printf("%s\n", c.to_json().dump(2).c_str());
    std::fprintf(stderr,
                 "cmt: the configuration is valid: %s has %d folds and %zu classes; fold %d trains on %zu samples "
                 "(%zu held out)%s\n",
                 c.dataset.c_str(), fit.folds, fit.class_names.size(), c.fold, fit.train_samples, fit.held_out_samples,
                 a.resume.empty() ? "" : fmt::format(", resuming {}", a.resume).c_str());
    return kOk;
  }
  // One process checks and clears the folder: the others' checks would race with its first files.
  if (launcher_rank() == 0)
    prepare_run_folder(c.out, !a.resume.empty() ? RunFolderUse::resume
                              : a.overwrite     ? RunFolderUse::overwrite
                                                : RunFolderUse::fresh);
  const FoldResult r = train_fold(c, a.resume);
  if (r.status == TrainStatus::interrupted) {
    std::fprintf(stderr, "cmt: stopped by a signal; checkpoint written to %s/last.h5 (resume with --resume %s/last.h5)\n",
                 c.out.c_str(), c.out.c_str());
    return kInterrupted;
  }
  if (!r.lead) return kOk;  // under MPI every rank evaluated; rank 0 reports
  std::printf("held-out fold %d: accuracy %.2f%%, sensitivity %.2f%%, specificity %.2f%%, AUC %.4f (files in %s)\n", c.fold,
              100 * r.metrics.value("accuracy", 0.0), 100 * r.metrics.value("sensitivity", 0.0),
              100 * r.metrics.value("specificity", 0.0), r.metrics.value("auc", 0.0), c.out.c_str());
  return kOk;
}

void setup_train(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("train", "Train CMT-CNN on one fold of a dataset, then evaluate the held-out fold");
  auto args = std::make_shared<TrainArgs>();
  args->config.add_to(*cmd);
  cmd->add_option("--resume", args->resume,
                  "continue from a checkpoint (e.g. RUN/last.h5) with its saved configuration; flags may change only "
                  "epochs, steps, out, device and the checkpoint keys")
      ->check(CLI::ExistingFile);
  cmd->add_flag("--overwrite", args->overwrite, "replace the run already in --out (default: a non-empty --out is refused)");
  cmd->add_flag("--dry-run", args->dry_run,
                "validate the configuration against the dataset's metadata (folds, classes, batch size), train nothing");
  cmd->callback([&action, args] { action = [args] { return run_train(*args); }; });
}

}  // namespace

CMT_REGISTER_COMMAND(50, "train", setup_train);

}  // namespace cmt::app
