// `cmt augment --preview OUT.png --dataset FILE --index I`: the two views a policy makes of one
// sample of the user's dataset, beside the sample (axial slices for CT), as a labelled PNG.
#pragma once
#include <cstdint>
#include <string>

namespace cmt::app {

struct DatasetPreviewArgs {
  std::string out, dataset, policy, device;
  std::int64_t index = 0;
  std::uint64_t seed = 0;
};

int run_dataset_preview(const DatasetPreviewArgs& a);

}  // namespace cmt::app
