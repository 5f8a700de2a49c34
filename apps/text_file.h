// Writing a small text file atomically: a temporary name, then a rename, so that a reader (or a
// failure halfway) never sees a partial file and an earlier version stays until the new one is whole.
#pragma once
#include <string>

namespace cmt::app {

void write_text_atomic(const std::string& path, const std::string& text);

}  // namespace cmt::app
