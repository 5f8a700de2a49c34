// The validation part carved out of the training folds: by patient, stratified, reproducible.
#include <algorithm>
#include <map>
#include <set>

#include "data/folds.h"
#include "support/testing.h"

using namespace cmt;

TEST_CASE("split_validation: patient-level, stratified per class, disjoint, reproducible") {
  // 3 classes with 10, 20 and 40 patients; two samples per patient, some patients with a third.
  std::vector<std::int32_t> labels;
  std::vector<std::string> patients;
  const int per_class[3] = {10, 20, 40};
  for (int c = 0; c < 3; ++c)
    for (int p = 0; p < per_class[c]; ++p)
      for (int s = 0; s < 2 + (p % 3 == 0); ++s) {
        labels.push_back(c);
        patients.push_back(std::to_string(c * 1000 + p));
      }
  std::vector<std::int64_t> idx;
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (i % 7 != 3) idx.push_back(static_cast<std::int64_t>(i));  // a training part: not every sample
  const auto split = data::split_validation(idx, labels, patients, 0.2, test::run_seed(), 0);
  // Disjoint, and together the whole input in its order.
  std::vector<std::int64_t> merged = split.train;
  merged.insert(merged.end(), split.validation.begin(), split.validation.end());
  std::sort(merged.begin(), merged.end());
  CHECK(merged == idx);
  CHECK(std::is_sorted(split.train.begin(), split.train.end()));
  CHECK(std::is_sorted(split.validation.begin(), split.validation.end()));
  // No patient on both sides; 20% of each class's patients held (rounded).
  std::set<std::string> train_patients, val_patients;
  for (auto i : split.train) train_patients.insert(patients[static_cast<std::size_t>(i)]);
  std::map<int, std::set<std::string>> val_by_class;
  for (auto i : split.validation) {
    val_patients.insert(patients[static_cast<std::size_t>(i)]);
    val_by_class[labels[static_cast<std::size_t>(i)]].insert(patients[static_cast<std::size_t>(i)]);
  }
  for (const auto& p : val_patients) CHECK(train_patients.count(p) == 0);
  CHECK(val_by_class[0].size() == 2);
  CHECK(val_by_class[1].size() == 4);
  CHECK(val_by_class[2].size() == 8);
  // Reproducible; another fold's salt or another seed draws other patients.
  CHECK(data::split_validation(idx, labels, patients, 0.2, test::run_seed(), 0).validation == split.validation);
  CHECK(data::split_validation(idx, labels, patients, 0.2, test::run_seed(), 1).validation != split.validation);
  CHECK(data::split_validation(idx, labels, patients, 0.2, test::run_seed() + 1, 0).validation != split.validation);
  // Fraction 0: no validation; a tiny fraction still holds one patient of each class with two or more.
  CHECK(data::split_validation(idx, labels, patients, 0.0, 1, 0).validation.empty());
  std::set<std::int32_t> tiny_classes;
  for (auto i : data::split_validation(idx, labels, patients, 0.01, 1, 0).validation)
    tiny_classes.insert(labels[static_cast<std::size_t>(i)]);
  CHECK(tiny_classes.size() == 3);
  CHECK_THROWS_WITH_AS(data::split_validation(idx, labels, patients, 1.0, 1, 0), doctest::Contains("fraction"), cmt::Error);
}
