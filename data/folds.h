// Stratified k-fold splits by patient: no patient spans two folds; each class spreads evenly.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace cmt::data {

// Fold (0..k-1) of every sample. A patient's class is the label of its first sample. Patients of
// each class are shuffled (Philox, from seed) and dealt round-robin, continuing where the previous
// class stopped so fold sizes stay within one patient of each other.
std::vector<std::int32_t> stratified_patient_folds(const std::vector<std::int32_t>& labels,
                                                   const std::vector<std::string>& patient_ids, int k,
                                                   std::uint64_t seed);

// A validation part carved out of a training part: per class, round(fraction x its patients) of the
// patients (at least one when the class has two or more), shuffled by Philox from (seed, salt).
// Patient-level and stratified like the folds; both parts keep the order of `indices`.
struct TrainValidationSplit {
  std::vector<std::int64_t> train, validation;
};
TrainValidationSplit split_validation(const std::vector<std::int64_t>& indices, const std::vector<std::int32_t>& labels,
                                      const std::vector<std::string>& patient_ids, double fraction, std::uint64_t seed,
                                      std::uint32_t salt);

}  // namespace cmt::data
