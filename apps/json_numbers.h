// Numbers in the JSON files cmt writes and reads: a float is written as the shortest decimal that
// reads back to the same float ("lr": 0.001, not 0.0010000000474974513), and an integer setting
// given a fraction is refused rather than truncated.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cmt::app {

// The double nearest to the shortest decimal of `f` (non-finite values unchanged).
double json_float(float f);
nlohmann::json json_floats(const std::vector<float>& v);

// `j` as an integer; throws cmt::Error "WHAT must be an integer, got 4.5" for a fraction or a non-number.
long long json_integer(const nlohmann::json& j, const std::string& what);

}  // namespace cmt::app
