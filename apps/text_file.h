// Writing a small text file atomically: a temporary name, then a rename, so that a reader (or a
// failure halfway) never sees a partial file and an earlier version stays until the new one is whole.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace cmt::app {

void write_text_atomic(const std::string& path, const std::string& text);

// Reads a JSON file; a missing file says "PATH: missing (when_missing)", a malformed one names it.
nlohmann::json read_json_file(const std::string& path, const std::string& when_missing);

}  // namespace cmt::app
