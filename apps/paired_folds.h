// Pairing two cross-validations fold by fold for the paired t-test (`cmt compare`, `cmt study`).
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cmt::app {

// Throws unless both cv.json summaries held out the same samples in the same folds.
void check_same_folds(const nlohmann::json& a, const nlohmann::json& b, const std::string& a_dir, const std::string& b_dir);
// The per-fold values of metric `key`; a fold without a number is an error naming it.
std::vector<double> per_fold(const nlohmann::json& run, const std::string& dir, const char* key);

}  // namespace cmt::app
