#include "apps/task.h"

#include "apps/run_setup.h"

namespace cmt::app {

std::vector<std::string> binary_class_names(const std::string& positive) {
  return {positive, positive == "other" ? "not other" : "other"};
}

data::Dataset open_task_dataset(const RunConfig& c, const std::string& path) {
  data::Dataset ds = data::Dataset::open(path);
  if (c.task != "binary") return ds;
  const std::vector<std::string> names = ds.class_names();
  CMT_CHECK(names.size() >= 2, path << ": the binary task needs two or more classes, the file has " << names.size());
  // The positive class is found as for the metrics (positive_class, or the COVID-like name).
  const int positive = positive_index(c, names);
  std::vector<std::int32_t> old_to_new(names.size(), 1);
  old_to_new[static_cast<std::size_t>(positive)] = 0;
  ds.relabel(binary_class_names(names[static_cast<std::size_t>(positive)]), old_to_new);
  return ds;
}

data::Dataset open_task_dataset(const RunConfig& c) { return open_task_dataset(c, c.dataset); }

}  // namespace cmt::app
