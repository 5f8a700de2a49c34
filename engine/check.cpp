// HDF5 failures as cmt::Error, with the innermost messages of HDF5's error stack.
#include "engine/check.h"

#include <hdf5.h>

#include <cstring>
#include <string>

namespace cmt::detail {

namespace {
herr_t collect(unsigned n, const H5E_error2_t* err, void* data) {
  auto* text = static_cast<std::string*>(data);
  if (n < 3 && err->desc != nullptr) {  // the innermost frames say what actually went wrong
    if (!text->empty()) *text += "; ";
    *text += std::string(err->func_name ? err->func_name : "?") + ": " + err->desc;
  }
  return 0;
}
}  // namespace

void throw_hdf5(const char* call, const char* file, int line) {
  std::string text;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect, &text);
  H5Eclear2(H5E_DEFAULT);
  const char* base = std::strrchr(file, '/');
  throw Error("HDF5 error (" + (text.empty() ? std::string("no details") : text) + ") in `" + call + "` at " +
              (base ? base + 1 : file) + ":" + std::to_string(line));
}

}  // namespace cmt::detail
