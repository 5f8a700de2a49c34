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

}  // namespace cmt::data
