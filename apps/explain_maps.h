// The raw attention maps of `cmt explain` as one small HDF5 file per input (docs/explain.md): the
// model's input image, each run's map at the input's size and at the feature map's size.
#pragma once
#include <string>
#include <vector>

#include "cmt/inference.h"

namespace cmt::app {

// One run's explanation of the input, named for the file's datasets ("" for the first run,
// "_compare" for the second: map, map_compare, ...).
struct NamedExplanation {
  std::string suffix;
  std::string run;
  const Explanation* explanation = nullptr;
};

// Writes `path` atomically (a temporary name, then a rename): image (D, H, W), and per run map
// (D, H, W) and cam (d, h, w), f32; attributes source, method, and per run run, class and score.
void write_map_file(const std::string& path, const std::string& source, const std::string& method,
                    const std::vector<NamedExplanation>& runs);

}  // namespace cmt::app
