// Shortest round-trip floats and strict integers for JSON.
#include "apps/json_numbers.h"

#include <cmath>
#include <cstdlib>

#include <fmt/core.h>

#include "kernels/common/check.h"

namespace cmt::app {

double json_float(float f) {
  if (!std::isfinite(f)) return static_cast<double>(f);
  return std::strtod(fmt::format("{}", f).c_str(), nullptr);  // fmt's "{}" is the shortest round-trip form
}

nlohmann::json json_floats(const std::vector<float>& v) {
  nlohmann::json out = nlohmann::json::array();
  for (float f : v) out.push_back(json_float(f));
  return out;
}

long long json_integer(const nlohmann::json& j, const std::string& what) {
  CMT_CHECK(j.is_number(), what << " must be an integer, got " << j.dump());
  if (j.is_number_float()) {
    const double d = j.get<double>();
    // In range before the cast: casting a double beyond long long is undefined behaviour.
    CMT_CHECK(std::isfinite(d) && d == std::floor(d) && d >= -0x1p63 && d < 0x1p63,
              what << " must be an integer, got " << j.dump());
    return static_cast<long long>(d);
  }
  CMT_CHECK(!j.is_number_unsigned() || j.get<unsigned long long>() <= 0x7FFFFFFFFFFFFFFFull,
            what << " must be an integer up to 2^63 - 1, got " << j.dump());
  return j.get<long long>();
}

}  // namespace cmt::app
