// Atomic text file writes.
#include "apps/text_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "kernels/common/check.h"

namespace cmt::app {

void write_text_atomic(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  errno = 0;
  std::ofstream f(tmp);
  CMT_CHECK(f, path << ": cannot open for writing (" << std::strerror(errno) << ")");
  f << text;
  f.close();  // flushes: on a full disk the write fails here, and nothing may be renamed over the old file
  if (!f) {
    const int cause = errno;
    std::remove(tmp.c_str());
    CMT_THROW(path << ": write failed (" << (cause ? std::strerror(cause) : "unknown cause")
                   << "); the file under this name is unchanged");
  }
  std::filesystem::rename(tmp, path);
}

nlohmann::json read_json_file(const std::string& path, const std::string& when_missing) {
  std::ifstream in(path);
  CMT_CHECK(in, path << ": missing" << when_missing);
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    CMT_THROW(path << ": not valid JSON: " << e.what());
  }
}

}  // namespace cmt::app
