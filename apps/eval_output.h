// The files of one evaluation: metrics (eval.json), ROC and confusion plots, and one row per
// sample in predictions.csv. An evaluation on another dataset than the run's own gets a suffix
// ("eval-ext.json", "roc-ext.svg", ...), so the run's own held-out result is never overwritten.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "data/loader.h"
#include "engine/trainer.h"

namespace cmt::app {

struct EvalTarget {
  std::string dir;     // where the files go
  std::string suffix;  // "" for the run's held-out fold, "-NAME" for a dataset NAME.h5
  std::string what;    // for plot titles: "fold 0", "all of ext.h5"
  int fold = -1;       // recorded in the metrics; -1: every sample of the dataset
  bool write = true;   // false on ranks other than 0
  nlohmann::json extra = nlohmann::json::object();  // merged into the metrics (e.g. which checkpoint)
};

// Evaluates `samples` (a Loader over rows of `ds`), writes the files of `target` and returns the
// metrics (metrics::evaluate plus "fold", "class_names", "positive_class" and "predictions").
nlohmann::json evaluate_and_write(Trainer& trainer, data::Loader& samples, const data::Dataset& ds, int positive,
                                  const EvalTarget& target);

// The names of the files an evaluation writes, for the summary line.
std::vector<std::string> eval_file_names(const std::string& suffix);

}  // namespace cmt::app
