// What a run's configuration asks of its dataset, checked from the dataset's metadata alone (no
// pixels read): train, cv and --dry-run refuse a run that could only fail later.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "apps/run_config.h"

namespace cmt::app {

struct DatasetFit {
  int folds = 0;
  std::size_t train_samples = 0, held_out_samples = 0;  // of c.fold
  std::vector<std::string> class_names;
};

// Opens c.dataset (a missing or unreadable file is a runtime error, exit 1) and checks that fold
// c.fold exists, that its training part holds one batch, and that there are two or more classes; a
// configuration that fails is a UsageError (exit 2) naming the key.
DatasetFit check_against_dataset(const RunConfig& c);

}  // namespace cmt::app
