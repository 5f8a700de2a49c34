// Stratified, patient-grouped k-fold assignment.
#include "data/folds.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "kernels/common/check.h"
#include "kernels/common/philox.h"

namespace cmt::data {

namespace {
// Fisher-Yates from the Philox stream of one class.
void shuffle_patients(std::vector<std::string>& patients, std::uint64_t seed, std::uint32_t epoch, std::int32_t cls) {
  const rng::Stream s =
      rng::Stream::make(seed, epoch, static_cast<std::uint32_t>(cls), static_cast<std::uint32_t>(rng::Op::shuffle));
  for (std::size_t i = patients.size(); i > 1; --i) {
    const std::size_t j = rng::uniform_int(s.word(i), static_cast<std::uint32_t>(i));
    std::swap(patients[i - 1], patients[j]);
  }
}
}  // namespace

std::vector<std::int32_t> stratified_patient_folds(const std::vector<std::int32_t>& labels,
                                                   const std::vector<std::string>& patient_ids, int k,
                                                   std::uint64_t seed) {
  CMT_CHECK(labels.size() == patient_ids.size(), "folds: " << labels.size() << " labels but " << patient_ids.size() << " patient ids");
  CMT_CHECK(k >= 1, "folds: the number of folds must be at least 1, got " << k);
  // Patients in order of first appearance, grouped by class.
  std::map<std::string, std::int32_t> patient_class;
  std::map<std::int32_t, std::vector<std::string>> by_class;
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (patient_class.emplace(patient_ids[i], labels[i]).second) by_class[labels[i]].push_back(patient_ids[i]);
  std::map<std::string, std::int32_t> patient_fold;
  int next = 0;
  for (auto& [cls, patients] : by_class) {
    shuffle_patients(patients, seed, 0, cls);
    for (const auto& p : patients) {
      patient_fold[p] = next;
      next = (next + 1) % k;
    }
  }
  std::vector<std::int32_t> folds(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) folds[i] = patient_fold[patient_ids[i]];
  return folds;
}

TrainValidationSplit split_validation(const std::vector<std::int64_t>& indices, const std::vector<std::int32_t>& labels,
                                      const std::vector<std::string>& patient_ids, double fraction, std::uint64_t seed,
                                      std::uint32_t salt) {
  CMT_CHECK(fraction >= 0 && fraction < 1, "validation split: the fraction must be in [0, 1), got " << fraction);
  std::map<std::string, std::int32_t> patient_class;
  std::map<std::int32_t, std::vector<std::string>> by_class;
  for (std::int64_t i : indices) {
    const auto u = static_cast<std::size_t>(i);
    if (patient_class.emplace(patient_ids[u], labels[u]).second) by_class[labels[u]].push_back(patient_ids[u]);
  }
  std::map<std::string, bool> held;
  for (auto& [cls, patients] : by_class) {
    // Epochs 1 + salt: streams apart from the fold split's (epoch 0) and from other folds' splits.
    shuffle_patients(patients, seed, 1u + salt, cls);
    auto take = static_cast<std::size_t>(std::lround(fraction * static_cast<double>(patients.size())));
    if (fraction > 0 && take == 0 && patients.size() >= 2) take = 1;
    for (std::size_t k = 0; k < take; ++k) held[patients[k]] = true;
  }
  TrainValidationSplit split;
  for (std::int64_t i : indices)
    (held.count(patient_ids[static_cast<std::size_t>(i)]) ? split.validation : split.train).push_back(i);
  return split;
}

}  // namespace cmt::data
