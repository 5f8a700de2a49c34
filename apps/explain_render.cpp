#include "apps/explain_render.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "apps/bitmap_text.h"
#include "data/png_write.h"

namespace cmt::app {

namespace {

constexpr int kMinPanel = 128;  // small inputs are enlarged (nearest neighbour) to at least this
constexpr int kFontScale = 2, kLabel = 14, kGap = 4;
constexpr int kMontageColumns = 8, kMontageSlices = 16;
constexpr float kMapWeight = 0.5f;  // overlay = (1 - w) * image + w * colour

// A plane through a (D, H, W) volume: axial (z fixed; rows y, columns x), coronal (y fixed; rows z,
// columns x) or sagittal (x fixed; rows z, columns y).
enum class Plane { axial, coronal, sagittal };
struct Cut {
  Plane plane;
  int index;
};
int rows_of(Plane p, const std::array<int, 3>& s) { return p == Plane::axial ? s[1] : s[0]; }
int cols_of(Plane p, const std::array<int, 3>& s) { return p == Plane::sagittal ? s[1] : s[2]; }
std::size_t voxel(const Cut& c, const std::array<int, 3>& s, int r, int col) {
  const auto at = [&](int z, int y, int x) { return (static_cast<std::size_t>(z) * s[1] + y) * s[2] + x; };
  if (c.plane == Plane::axial) return at(c.index, r, col);
  if (c.plane == Plane::coronal) return at(r, c.index, col);
  return at(r, col, c.index);
}
std::string cut_name(const Cut& c) {
  if (c.plane == Plane::axial) return fmt::format("axial z={}", c.index);
  if (c.plane == Plane::coronal) return fmt::format("coronal y={}", c.index);
  return fmt::format("sagittal x={}", c.index);
}

class Canvas {
 public:
  Canvas(int width, int height) : w_(width), h_(height), rgb_(static_cast<std::size_t>(width) * height * 3, 40) {}

  // In the large font when it fits before max_x, else in the small one.
  void label(int x, int y, const std::string& text, int max_x) {
    const int scale = x + 4 * kFontScale * static_cast<int>(text.size()) <= max_x ? kFontScale : 1;
    std::vector<std::uint8_t> strip(static_cast<std::size_t>(w_) * text_height(scale), 0);
    draw_text(strip, w_, x, 0, text, scale, max_x);
    for (int r = 0; r < text_height(scale); ++r)
      for (int c = 0; c < w_; ++c)
        if (strip[static_cast<std::size_t>(r) * w_ + c])
          for (int k = 0; k < 3; ++k) rgb_[(static_cast<std::size_t>(y + r) * w_ + c) * 3 + k] = 255;
  }

  // The image's cut in grey, with the map's cut over it in colour when a map is given.
  void panel(int x, int y, const std::vector<float>& image, const std::vector<float>* map, const std::array<int, 3>& s,
             const Cut& cut, int zoom) {
    const int rows = rows_of(cut.plane, s), cols = cols_of(cut.plane, s);
    for (int i = 0; i < rows * zoom; ++i)
      for (int j = 0; j < cols * zoom; ++j) {
        const std::size_t v = voxel(cut, s, i / zoom, j / zoom);
        const float g = std::clamp(image[v], 0.f, 1.f);
        std::array<float, 3> rgb{g, g, g};
        if (map) {
          const std::array<float, 3> m = jet((*map)[v]);
          for (int k = 0; k < 3; ++k)
            rgb[static_cast<std::size_t>(k)] = (1 - kMapWeight) * g + kMapWeight * m[static_cast<std::size_t>(k)];
        }
        for (int k = 0; k < 3; ++k)
          rgb_[(static_cast<std::size_t>(y + i) * w_ + x + j) * 3 + k] =
              static_cast<std::uint8_t>(std::lround(std::clamp(rgb[static_cast<std::size_t>(k)], 0.f, 1.f) * 255.f));
      }
  }

  void write(const std::string& path) const { data::write_png(path, w_, h_, 3, rgb_); }

 private:
  int w_, h_;
  std::vector<std::uint8_t> rgb_;
};

int zoom_for(const std::array<int, 3>& s) {
  const int side = std::max({s[0], s[1], s[2]});
  return std::max(1, (kMinPanel + side - 1) / side);
}

}  // namespace

std::array<float, 3> jet(float v) {
  const float t = std::clamp(v, 0.f, 1.f);
  auto ramp = [&](float centre) { return std::clamp(1.5f - std::fabs(4.f * t - centre), 0.f, 1.f); };
  return {ramp(3.f), ramp(2.f), ramp(1.f)};
}

void write_overview_png(const std::string& path, const std::vector<float>& image, const std::array<int, 3>& s,
                        const std::vector<MapView>& maps) {
  const int zoom = zoom_for(s);
  if (s[0] == 1) {  // X-ray: the image, then one overlay per run
    const Cut cut{Plane::axial, 0};
    const int pw = s[2] * zoom, ph = s[1] * zoom, cols = 1 + static_cast<int>(maps.size());
    Canvas canvas(cols * pw + (cols + 1) * kGap, ph + kLabel + 2 * kGap);
    for (int c = 0; c < cols; ++c) {
      const int x = kGap + c * (pw + kGap);
      canvas.label(x + 2, kGap, c == 0 ? std::string("image") : maps[static_cast<std::size_t>(c - 1)].label, x + pw);
      canvas.panel(x, kGap + kLabel, image, c == 0 ? nullptr : maps[static_cast<std::size_t>(c - 1)].map, s, cut, zoom);
    }
    canvas.write(path);
    return;
  }
  // CT: the planes through the first run's maximum, for the image and for every run.
  const std::array<int, 3> peak = maps.empty() ? std::array<int, 3>{s[0] / 2, s[1] / 2, s[2] / 2} : maps.front().peak;
  const Cut cuts[3] = {{Plane::axial, peak[0]}, {Plane::coronal, peak[1]}, {Plane::sagittal, peak[2]}};
  const int row_h = std::max(s[0], s[1]) * zoom + kLabel;
  int width = kGap;
  for (const Cut& c : cuts) width += cols_of(c.plane, s) * zoom + kGap;
  const int rows = 1 + static_cast<int>(maps.size());
  Canvas canvas(width, rows * (row_h + kGap) + kGap);
  for (int r = 0; r < rows; ++r) {
    int x = kGap;
    const int y = kGap + r * (row_h + kGap);
    for (const Cut& c : cuts) {
      const int pw = cols_of(c.plane, s) * zoom;
      const std::string who = r == 0 ? std::string("image") : maps[static_cast<std::size_t>(r - 1)].label;
      canvas.label(x + 2, y, who + " " + cut_name(c), x + pw);
      canvas.panel(x, y + kLabel, image, r == 0 ? nullptr : maps[static_cast<std::size_t>(r - 1)].map, s, c, zoom);
      x += pw + kGap;
    }
  }
  canvas.write(path);
}

void write_montage_png(const std::string& path, const std::vector<float>& image, const std::array<int, 3>& s,
                       const std::vector<MapView>& maps) {
  // Evenly spaced axial slices: the middle of each of k equal slabs.
  const int k = std::min(s[0], kMontageSlices);
  std::vector<int> slices;
  for (int j = 0; j < k; ++j) slices.push_back((2 * j + 1) * s[0] / (2 * k));
  const int zoom = zoom_for({1, s[1], s[2]}) > 1 ? std::max(1, zoom_for({1, s[1], s[2]}) / 2) : 1;
  const int pw = s[2] * zoom, ph = s[1] * zoom;
  const int cols = std::min(k, kMontageColumns), block_rows = (k + cols - 1) / cols;
  const int rows = block_rows * static_cast<int>(maps.size());
  Canvas canvas(cols * (pw + kGap) + kGap, rows * (ph + kLabel + kGap) + kGap);
  for (std::size_t m = 0; m < maps.size(); ++m)
    for (int j = 0; j < k; ++j) {
      const int r = static_cast<int>(m) * block_rows + j / cols, c = j % cols;
      const int x = kGap + c * (pw + kGap), y = kGap + r * (ph + kLabel + kGap);
      const Cut cut{Plane::axial, slices[static_cast<std::size_t>(j)]};
      canvas.label(x + 2, y, fmt::format("{} z={}", maps[m].label, cut.index), x + pw);
      canvas.panel(x, y + kLabel, image, maps[m].map, s, cut, zoom);
    }
  canvas.write(path);
}

}  // namespace cmt::app
