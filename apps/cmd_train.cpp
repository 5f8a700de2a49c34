// `cmt train`: trains CMT-CNN on one fold of a dataset, then evaluates it on the held-out fold.
#include <fmt/core.h>

#include "apps/commands.h"
#include "apps/run_setup.h"

namespace cmt::app {

namespace {

struct TrainArgs {
  RunConfigOptions config;
  std::string resume;
  bool dry_run = false;
};

int run_train(const TrainArgs& a) {
  RunConfig c = a.config.finalize();
  c.validate();
  if (a.dry_run) {
    std::printf("%s\n", c.to_json().dump(2).c_str());
    return kOk;
  }
  const FoldResult r = train_fold(c, a.resume);
  if (r.status == TrainStatus::interrupted) {
    std::fprintf(stderr, "cmt: stopped by a signal; checkpoint written to %s/last.h5 (resume with --resume)\n", c.out.c_str());
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
  cmd->add_option("--resume", args->resume, "continue from a checkpoint (e.g. RUN/last.h5)")->check(CLI::ExistingFile);
  cmd->add_flag("--dry-run", args->dry_run, "validate and print the configuration, train nothing");
  cmd->callback([&action, args] { action = [args] { return run_train(*args); }; });
}

}  // namespace

CMT_REGISTER_COMMAND(50, "train", setup_train);

}  // namespace cmt::app
