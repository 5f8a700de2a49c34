// Where a command writes its report files when --out is not given: $OUT when set (a harness's
// result folder), else a folder of the current directory named after the command.
#pragma once
#include <cstdlib>
#include <string>

namespace cmt::app {

inline std::string output_dir(const std::string& requested, const std::string& fallback) {
  if (!requested.empty()) return requested;
  const char* out = std::getenv("OUT");
  return out && *out ? out : fallback;
}

}  // namespace cmt::app
