// What makes a dataset file the same dataset: a hash of its samples' description (shape, modality,
// classes, labels, folds, patients, source paths, preparation attributes) and of its first and
// last images. A resumed run compares it with the one its checkpoint recorded, so that a dataset
// replaced or rewritten under the same path is refused rather than silently trained on.
#pragma once
#include <string>

#include "data/dataset.h"

namespace cmt::data {

// "fnv1a64:" and 16 hex digits; equal for the same file, and for the same inputs prepared again
// with the same settings.
std::string dataset_identity(const Dataset& ds);

}  // namespace cmt::data
