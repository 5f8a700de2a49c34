// Evaluating a trained run: its held-out fold of its own dataset, or all of an external dataset
// that was prepared like the training data.
#include <filesystem>
#include <numeric>

#include <fmt/core.h>

#include "apps/eval_output.h"
#include "apps/run_setup.h"
#include "apps/task.h"
#include "engine/checkpoint.h"

namespace cmt::app {

namespace fs = std::filesystem;

namespace {

// An external dataset must look like the training data to the model: the same classes in the same
// order, sample shape, modality and (CT) HU window. Resampling or rewindowing is prepare's job.
void check_like_training(const data::Dataset& ds, const DataInfo& info, const std::string& run_dir) {
  const std::string redo =
      fmt::format("; prepare it again with `cmt prepare --modality {} --size {}x{}x{}{}`", info.modality, info.sample_shape[0],
                  info.sample_shape[1], info.sample_shape[2], info.modality == "ct" ? " --window " + info.window : std::string());
  const auto classes = ds.class_names();
  std::string theirs, ours;
  for (const auto& n : classes) theirs += (theirs.empty() ? "" : ", ") + n;
  for (const auto& n : info.class_names) ours += (ours.empty() ? "" : ", ") + n;
  CMT_CHECK(classes == info.class_names,
            ds.path() << ": classes (" << theirs << ") differ from those " << run_dir << " was trained on (" << ours << ")");
  CMT_CHECK(ds.modality() == info.modality,
            ds.path() << ": modality '" << ds.modality() << "', but " << run_dir << " was trained on '" << info.modality << "'");
  CMT_CHECK(ds.sample_shape() == info.sample_shape, ds.path()
                                                        << ": sample shape " << ds.sample_shape().str() << ", but " << run_dir
                                                        << " was trained on " << info.sample_shape.str() << redo);
  if (info.modality == "ct")
    CMT_CHECK(ds.attribute("window") == info.window, ds.path() << ": HU window '" << ds.attribute("window") << "', but "
                                                               << run_dir << " was trained on '" << info.window << "'" << redo);
}

// Whether `path` is the run's own dataset (then its held-out fold is what to evaluate).
bool is_training_dataset(const std::string& path, const std::string& run_dir, const LoadedRun& run) {
  if (run.info.dataset) return data::identify_dataset(path) == *run.info.dataset;
  try {
    return fs::equivalent(path, resolve_run_dataset(run_dir, run));
  } catch (const Error&) {
    return false;  // the run's own dataset is gone: `path` cannot be it
  }
}

}  // namespace

std::string resolve_run_dataset(const std::string& run_dir, const LoadedRun& run) {
  const std::string typed = run.config.dataset;
  std::vector<std::string> candidates{typed};
  if (run.info.dataset) candidates.push_back(run.info.dataset->path);
  if (fs::path(typed).is_relative()) candidates.push_back((fs::path(run_dir) / typed).string());
  return data::resolve_dataset(candidates, run.info.dataset,
                               fmt::format("Give the dataset with --dataset FILE (the HDF5 file {} was trained on).", run_dir));
}

nlohmann::json evaluate_run(const std::string& run_dir, const std::string& checkpoint, const std::string& dataset_override) {
  const fs::path dir(run_dir);
  const LoadedRun run = read_run(run_dir);
  RunConfig c = run.config;
  c.progress = false;
  const bool external = !dataset_override.empty() && !is_training_dataset(dataset_override, run_dir, run);
  c.dataset = dataset_override.empty() ? resolve_run_dataset(run_dir, run) : dataset_override;
  data::Dataset ds = open_task_dataset(c);
  if (external) check_like_training(ds, run.info, run_dir);
  else CMT_CHECK(ds.class_names() == run.info.class_names, c.dataset << ": classes differ from those the run was trained on");
  auto ctx = make_context(c);
  models::CmtModel model(model_config(c, run.info));
  RunConfig no_files = c;
  no_files.out.clear();
  Trainer trainer(*ctx, model, trainer_config(no_files, 1));
  const std::string path = checkpoint == "best" || checkpoint == "last" ? (dir / (checkpoint + ".h5")).string() : checkpoint;
  // Weights only: a periodic checkpoint may hold no optimizer state, and evaluation needs none.
  const CheckpointState saved = load_checkpoint(path, trainer.store(), nullptr);
  CMT_CHECK(saved.model == model.describe(), "checkpoint " << path << " holds " << saved.model << ", not " << model.describe());
  EvalTarget target{run_dir, "", fmt::format("fold {}", c.fold), c.fold, true};
  std::vector<std::int64_t> rows = ds.fold_indices(c.fold, true);
  if (external) {
    // Every sample: an external test set has no fold structure that relates to this run.
    const std::string name = fs::path(c.dataset).stem().string();
    target = EvalTarget{run_dir, "-" + name, "all of " + fs::path(c.dataset).filename().string(), -1, true};
    rows.resize(static_cast<std::size_t>(ds.size()));
    std::iota(rows.begin(), rows.end(), std::int64_t{0});
  }
  data::Loader loader(ds, rows, loader_config(c, false), *ctx);
  nlohmann::json m = evaluate_and_write(trainer, loader, ds, positive_index(c, ds.class_names()), target);
  m["files"] = eval_file_names(target.suffix);
  m["samples"] = rows.size();
  return m;
}

}  // namespace cmt::app
