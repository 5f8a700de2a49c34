// Stratified, patient-grouped k-fold assignment.
#include "data/folds.h"

#include <algorithm>
#include <map>

#include "kernels/common/check.h"
#include "kernels/common/philox.h"

namespace cmt::data {

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
    // Fisher-Yates from the Philox stream of this class.
    const rng::Stream s = rng::Stream::make(seed, 0, static_cast<std::uint32_t>(cls), static_cast<std::uint32_t>(rng::Op::shuffle));
    for (std::size_t i = patients.size(); i > 1; --i) {
      const std::size_t j = rng::uniform_int(s.word(i), static_cast<std::uint32_t>(i));
      std::swap(patients[i - 1], patients[j]);
    }
    for (const auto& p : patients) {
      patient_fold[p] = next;
      next = (next + 1) % k;
    }
  }
  std::vector<std::int32_t> folds(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) folds[i] = patient_fold[patient_ids[i]];
  return folds;
}

}  // namespace cmt::data
