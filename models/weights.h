// Weight exchange with torchvision: tools/export_torchvision.py writes a state dict as HDF5 (already
// in cmt's layouts); this loads it into a matching model by name, checking every name and shape.
#pragma once
#include <string>
#include <vector>

#include "engine/parameters.h"

namespace cmt::models {

struct WeightLoadOptions {
  std::string prefix;                      // our name prefix to strip ("backbone." for a CMT-CNN)
  std::vector<std::string> skip_prefixes;  // file names to ignore (e.g. torchvision's "fc.", "classifier.")
  bool strict = true;                      // every parameter/buffer under prefix must be in the file
  // A first conv stored with 3 input channels loads into a 1-channel model as the sum over channels
  // (grey = R + G + B of ImageNet weights), the usual adaptation.
  bool sum_rgb_to_grey = true;
};

// Loads `path` into `store`; throws cmt::Error listing missing, unexpected and mis-shaped names.
// Returns how many tensors were loaded.
int load_torchvision_weights(Context& ctx, ParameterStore& store, const std::string& path, const WeightLoadOptions& opt);

}  // namespace cmt::models
