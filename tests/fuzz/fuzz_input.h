// What the fuzz targets share: the input written to a file (the parsers read paths), one per
// process, and the rule that a parser may refuse an input only with cmt::Error. Anything else, a
// crash, a sanitizer report, a leak or another exception type, is a finding.
#pragma once
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "kernels/common/check.h"

namespace cmt::fuzz {

// A scratch folder of this process (removed at exit), holding the files an input becomes.
inline const std::filesystem::path& scratch() {
  static const std::filesystem::path dir = [] {
    const auto d = std::filesystem::temp_directory_path() / ("cmt-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  static const struct Cleanup {
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } cleanup;
  return dir;
}

inline std::string write_file(const std::string& name, const std::uint8_t* data, std::size_t size) {
  const std::filesystem::path p = scratch() / name;
  std::ofstream(p, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return p.string();
}

// Splits an input into up to `max_parts` parts at the separator "\n--cmt-part--\n" (a series of
// several files from one input; the seed corpus uses it).
inline std::vector<std::string> split_parts(const std::uint8_t* data, std::size_t size, std::size_t max_parts) {
  static const std::string sep = "\n--cmt-part--\n";
  const std::string all(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> parts;
  std::size_t at = 0;
  while (parts.size() + 1 < max_parts) {
    const std::size_t next = all.find(sep, at);
    if (next == std::string::npos) break;
    parts.push_back(all.substr(at, next - at));
    at = next + sep.size();
  }
  parts.push_back(all.substr(at));
  return parts;
}

// Runs `parse`; cmt::Error is the expected refusal of a bad input and is swallowed. The HDF5
// guard's refusals (HDF5 itself crashed, looped or ran out of memory in the checking child) are
// printed, for search.sh to count; with CMT_FUZZ_KEEP_GUARD_REFUSALS=DIR the input file is copied
// there too (DIR/guard-N.h5), to examine or to keep as a regression input.
template <class F>
int refuse_only_with_error(F&& parse, const std::string& input_file = "") {
  try {
    parse();
  } catch (const Error& e) {
    if (!std::strstr(e.what(), "the file's structure")) return 0;
    std::fprintf(stderr, "cmt-fuzz: refused by the HDF5 guard: %s\n", e.what());
    static int kept = 0;
    if (const char* dir = std::getenv("CMT_FUZZ_KEEP_GUARD_REFUSALS"); dir && !input_file.empty())
      std::filesystem::copy_file(input_file, std::filesystem::path(dir) / ("guard-" + std::to_string(kept++) + ".h5"),
                                 std::filesystem::copy_options::overwrite_existing);
  }
  return 0;
}

}  // namespace cmt::fuzz
