// Wiring shared by train, eval, cv and predict: context, model and trainer from a RunConfig and a
// dataset; training and evaluating one fold with its files (checkpoints, metrics, plots).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/run_files.h"
#include "apps/run_config.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "engine/context.h"
#include "engine/trainer.h"
#include "models/cmt_model.h"

namespace cmt::app {

// RUN/data.json (api/run_files.h; the inference API reads it too).
using api::DataInfo;

std::unique_ptr<Context> make_context(const RunConfig& c);
models::CmtConfig model_config(const RunConfig& c, const DataInfo& info);
// A run folder's config, data description and model (not yet loaded from a checkpoint).
struct LoadedRun {
  RunConfig config;
  DataInfo info;
};
LoadedRun read_run(const std::string& run_dir);
int positive_index(const RunConfig& c, const std::vector<std::string>& class_names);
TrainerConfig trainer_config(const RunConfig& c, std::int64_t steps_per_epoch);
data::LoaderConfig loader_config(const RunConfig& c, bool training);  // training: shuffled, whole batches

struct FoldResult {
  TrainStatus status = TrainStatus::finished;
  nlohmann::json metrics;  // held-out evaluation (metrics::evaluate), with "fold"
  bool lead = true;        // rank 0 (or the only process): the one that reports
  nlohmann::json validation;  // val_fraction > 0: the selected epoch's validation metrics, with "epoch"
};

// Trains fold c.fold of c.dataset into c.out (resuming from `resume` when given), then evaluates on the
// held-out fold and writes eval.json, roc.svg and confusion.svg. With c.val_fraction > 0 a validation
// part of the training folds is scored every epoch, and the held-out fold is evaluated once, with the
// epoch of best validation accuracy (best.h5); otherwise with the final model.
FoldResult train_fold(const RunConfig& c, const std::string& resume);  // c.precision "auto" is resolved and recorded

// Evaluates a trained run folder (its config.json and a checkpoint: best, last or a path) on its
// held-out fold, or on every sample of another dataset (apps/eval_run.cpp).
nlohmann::json evaluate_run(const std::string& run_dir, const std::string& checkpoint, const std::string& dataset_override);

// The run's own dataset: the path in config.json, else the absolute one in data.json, verified
// against the recorded size and header hash. Throws naming what was tried and suggesting --dataset.
std::string resolve_run_dataset(const std::string& run_dir, const LoadedRun& run);

// Prints one row per metric (mean +- std over the given per-fold metrics) and returns the summary.
nlohmann::json summarize_folds(const std::vector<nlohmann::json>& folds);
void print_metrics_table(const nlohmann::json& summary);

}  // namespace cmt::app
