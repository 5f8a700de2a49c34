// Metadata checks of a run against its dataset.
#include "apps/dataset_checks.h"

#include <algorithm>

#include "apps/usage_error.h"
#include "data/dataset.h"

namespace cmt::app {

DatasetFit check_against_dataset(const RunConfig& c) {
  const data::Dataset ds = data::Dataset::open(c.dataset);
  DatasetFit fit;
  fit.folds = ds.num_folds();
  fit.class_names = ds.class_names();
  as_usage_error([&] {
    CMT_CHECK(c.fold < fit.folds, "config: 'fold' is " << c.fold << " but " << c.dataset << " has " << fit.folds
                                                       << " folds (0 to " << fit.folds - 1 << ")");
    CMT_CHECK(fit.class_names.size() >= 2,
              c.dataset << " has " << fit.class_names.size() << " class(es): training needs two or more");
    CMT_CHECK(c.positive_class == "auto" ||
                  std::find(fit.class_names.begin(), fit.class_names.end(), c.positive_class) != fit.class_names.end(),
              "config: 'positive_class' is '" << c.positive_class << "', not a class of " << c.dataset);
  });
  fit.train_samples = ds.fold_indices(c.fold, false).size();  // a read error here is the file's, not the command line's
  fit.held_out_samples = ds.fold_indices(c.fold, true).size();
  as_usage_error([&] {
    CMT_CHECK(static_cast<std::int64_t>(fit.train_samples) >= c.batch_size,
              "config: 'batch_size' is " << c.batch_size << " but fold " << c.fold << " of " << c.dataset << " has "
                                         << fit.train_samples << " training samples, fewer than one batch");
    CMT_CHECK(fit.held_out_samples > 0, "fold " << c.fold << " of " << c.dataset << " has no held-out samples");
  });
  return fit;
}

}  // namespace cmt::app
