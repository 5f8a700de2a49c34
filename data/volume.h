// Volume: a scalar image of D x H x W floats (D = 1 for a 2D image) with its voxel spacing.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

namespace cmt::data {

struct Volume {
  int d = 0, h = 0, w = 0;
  std::array<double, 3> spacing{1.0, 1.0, 1.0};  // mm along (z, y, x)
  bool spacing_known = false;                    // from DICOM headers; PNG/JPEG carry none (nominal 1 mm)
  std::vector<float> v;                          // d * h * w values, x fastest

  std::int64_t numel() const { return std::int64_t{d} * h * w; }
  float& at(int z, int y, int x) { return v[(static_cast<std::size_t>(z) * h + y) * w + x]; }
  float at(int z, int y, int x) const { return v[(static_cast<std::size_t>(z) * h + y) * w + x]; }
};

}  // namespace cmt::data
