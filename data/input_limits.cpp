// Header-based size limits on inputs (see input_limits.h).
#include "data/input_limits.h"

#include <cstdlib>

#include "kernels/common/check.h"

namespace cmt::data {

namespace {

void override_from_env(const char* name, std::uint64_t& value) {
  const char* text = std::getenv(name);
  if (text == nullptr || *text == '\0') return;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(text, &end, 10);
  CMT_CHECK(*end == '\0' && v > 0 && text[0] != '-', name << "='" << text << "': expected a positive integer");
  value = v;
}

InputLimits limits_from_env() {
  InputLimits l;
  override_from_env("CMT_MAX_IMAGE_PIXELS", l.max_image_pixels);
  override_from_env("CMT_MAX_SLICES", l.max_slices);
  override_from_env("CMT_MAX_VOLUME_VOXELS", l.max_volume_voxels);
  return l;
}

}  // namespace

const InputLimits& input_limits() {
  static const InputLimits limits = limits_from_env();
  return limits;
}

void check_image_size(const std::string& path, const char* what, std::uint64_t rows, std::uint64_t cols, std::uint64_t frames) {
  const InputLimits& l = input_limits();
  // Each factor fits in 32 bits, so the products below cannot overflow 64 bits.
  CMT_CHECK(rows <= 0xFFFFFFFFull && cols <= 0xFFFFFFFFull && rows * cols <= l.max_image_pixels,
            path << ": " << what << " claims " << rows << " x " << cols << " pixels, over the limit of " << l.max_image_pixels
                 << " (CMT_MAX_IMAGE_PIXELS)");
  CMT_CHECK(frames <= l.max_slices,
            path << ": " << what << " claims " << frames << " frames, over the limit of " << l.max_slices << " (CMT_MAX_SLICES)");
  CMT_CHECK(frames * rows * cols <= l.max_volume_voxels, path << ": " << what << " claims " << frames << " x " << rows << " x "
                                                              << cols << " voxels, over the limit of " << l.max_volume_voxels
                                                              << " (CMT_MAX_VOLUME_VOXELS)");
}

void check_slice_count(const std::string& source, std::uint64_t slices) {
  const InputLimits& l = input_limits();
  CMT_CHECK(slices <= l.max_slices,
            source << ": " << slices << " slices in one volume, over the limit of " << l.max_slices << " (CMT_MAX_SLICES)");
}

}  // namespace cmt::data
