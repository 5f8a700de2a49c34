// Atomic text file writes.
#include "apps/text_file.h"

#include <filesystem>
#include <fstream>

#include "kernels/common/check.h"

namespace cmt::app {

void write_text_atomic(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp);
    CMT_CHECK(f, path << ": cannot open for writing");
    f << text;
    CMT_CHECK(f.good(), path << ": write failed");
  }
  std::filesystem::rename(tmp, path);
}

}  // namespace cmt::app
