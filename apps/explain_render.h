// The pictures of `cmt explain` (docs/explain.md): attention maps in a colour map over the image. An
// X-ray is one row (the image, then each run's overlay); a CT is a row of axial, coronal and sagittal
// planes through the first run's map maximum per run, under the image's planes, and a montage of
// axial slices per run.
#pragma once
#include <array>
#include <string>
#include <vector>

namespace cmt::app {

// One run's map of one input: D*H*W values in [0, 1] (x fastest), its maximum at peak (z, y, x).
struct MapView {
  std::string label;
  const std::vector<float>* map = nullptr;
  std::array<int, 3> peak{};
};

// image: D*H*W values in [0, 1]; size (D, H, W). Writes 8-bit RGB PNGs (atomically).
void write_overview_png(const std::string& path, const std::vector<float>& image, const std::array<int, 3>& size,
                        const std::vector<MapView>& maps);
void write_montage_png(const std::string& path, const std::vector<float>& image, const std::array<int, 3>& size,
                       const std::vector<MapView>& maps);

// The colour of a map value v in [0, 1] (the "jet" colour map: blue, cyan, yellow, red).
std::array<float, 3> jet(float v);

}  // namespace cmt::app
