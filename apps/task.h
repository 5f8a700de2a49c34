// The classification task of a run (the paper's Tables 1-4 report both): `ternary` keeps the
// dataset's classes; `binary` merges every class but the positive one (COVID-19) into "other" when
// the dataset is opened, so folds and samples stay those of the ternary task.
#pragma once
#include <string>
#include <vector>

#include "apps/run_config.h"
#include "data/dataset.h"

namespace cmt::app {

// The class names of the binary task: the positive class first, then "other".
std::vector<std::string> binary_class_names(const std::string& positive);

// c.dataset opened with the labels of c.task.
data::Dataset open_task_dataset(const RunConfig& c);
// The same for a dataset at `path` other than c.dataset (an external test set).
data::Dataset open_task_dataset(const RunConfig& c, const std::string& path);

}  // namespace cmt::app
