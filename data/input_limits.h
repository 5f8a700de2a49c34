// Limits on what an input file may ask for, checked against its header before any large allocation:
// a corrupt or hostile DICOM, PNG or JPEG header can claim gigabytes, and a folder can hold
// thousands of tiny slices. Defaults are far above real CT and radiographs; each can be changed
// with an environment variable (docs/robustness.md).
#pragma once
#include <cstdint>
#include <string>

namespace cmt::data {

struct InputLimits {
  std::uint64_t max_image_pixels = 100'000'000;  // CMT_MAX_IMAGE_PIXELS: rows x cols of one image or slice
  std::uint64_t max_slices = 4096;               // CMT_MAX_SLICES: files (or frames) of one CT volume
  std::uint64_t max_volume_voxels = 1ull << 30;  // CMT_MAX_VOLUME_VOXELS: slices x rows x cols (4 GiB as floats)
};

// The limits in force: the defaults above, each replaced by its environment variable when set
// (a positive integer; anything else throws cmt::Error naming the variable). Read once.
const InputLimits& input_limits();

// Throws cmt::Error naming `path` when rows x cols exceeds max_image_pixels or frames x rows x cols
// exceeds max_volume_voxels. `what` says where the numbers come from ("PNG header").
void check_image_size(const std::string& path, const char* what, std::uint64_t rows, std::uint64_t cols,
                      std::uint64_t frames = 1);

// Throws cmt::Error naming `source` when a volume would have more than max_slices slices.
void check_slice_count(const std::string& source, std::uint64_t slices);

}  // namespace cmt::data
