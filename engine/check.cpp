// HDF5 failures as cmt::Error, with the innermost messages of HDF5's error stack.
#include "engine/check.h"

#include <hdf5.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace cmt::detail {

namespace {
herr_t collect(unsigned, const H5E_error2_t* err, void* data) {
  if (err->desc == nullptr) return 0;
  std::string frame = std::string(err->func_name ? err->func_name : "?") + ": " + err->desc;
  std::replace(frame.begin(), frame.end(), '\n', ' ');  // the file driver's message holds ctime()'s newline
  static_cast<std::vector<std::string>*>(data)->push_back(frame);
  return 0;
}
// HDF5's clean-up at exit closes every file still open, and crashes (HDF5 1.10) on one whose
// close already failed, as on a full disk: the error the user should read would end in a
// segmentation fault. Files are closed explicitly, so that clean-up is turned off before HDF5 starts.
[[maybe_unused]] const herr_t kNoHdf5CleanupAtExit = H5dont_atexit();

}  // namespace

void throw_hdf5(const char* call, const char* file, int line) {
  // Walked from the API call inwards: the innermost frames (the last) say what actually went wrong,
  // such as the file driver's errno of a failed write.
  std::vector<std::string> frames;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect, &frames);
  H5Eclear2(H5E_DEFAULT);
  std::string text;
  for (std::size_t i = frames.size() > 3 ? frames.size() - 3 : 0; i < frames.size(); ++i)
    text += (text.empty() ? "" : "; ") + frames[i];
  const char* base = std::strrchr(file, '/');
  throw Error("HDF5 error (" + (text.empty() ? std::string("no details") : text) + ") in `" + call + "` at " +
              (base ? base + 1 : file) + ":" + std::to_string(line));
}

}  // namespace cmt::detail
