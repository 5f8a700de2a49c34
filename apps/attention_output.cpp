// Attention map files: PNG renderings through data/png_write and a NumPy .npy of the map.
#include "apps/attention_output.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>

#include "data/png_write.h"
#include "kernels/common/check.h"

namespace cmt::app {

namespace fs = std::filesystem;

namespace {

// "scans/p1/img 3.png" -> "scans_p1_img_3.png": one flat, portable file name per study (a path under
// the working folder is taken relative to it).
std::string stem_of(const std::string& source) {
  std::error_code ec;
  const fs::path rel = fs::path(source).lexically_relative(fs::current_path(ec));
  const std::string name = !ec && !rel.empty() && *rel.begin() != ".." ? rel.string() : source;
  std::string s;
  for (char c : name) s += std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ? c : '_';
  const auto first = s.find_first_not_of("._");
  return first == std::string::npos ? "study" : s.substr(first);
}

// NumPy format 1.0: magic, header length, a dict padded with spaces to a multiple of 64 bytes, the data.
void write_npy(const std::string& path, const std::array<int, 3>& shape, const std::vector<float>& values) {
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(shape[0]) + ", " +
                       std::to_string(shape[1]) + ", " + std::to_string(shape[2]) + "), }";
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary);
    CMT_CHECK(f, path << ": cannot open for writing");
    const auto len = static_cast<std::uint16_t>(header.size());
    const char prefix[] = {'\x93', 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
    f.write(prefix, sizeof prefix);
    f.write(header.data(), static_cast<std::streamsize>(header.size()));
    f.write(reinterpret_cast<const char*>(values.data()), static_cast<std::streamsize>(values.size() * sizeof(float)));
    CMT_CHECK(f.flush(), path << ": write failed (disk full?)");
  }
  fs::rename(tmp, path);
}

// One plane of image * map as 8-bit grey: rows x cols, pixel (r, c) at flat index at(r, c).
template <typename At>
void write_plane(const std::string& path, const AttentionMap& a, int rows, int cols, At at) {
  std::vector<std::uint8_t> px(static_cast<std::size_t>(rows) * cols);
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) {
      const std::size_t i = at(r, c);
      const float v = std::clamp(a.image[i], 0.f, 1.f) * a.map[i];
      px[static_cast<std::size_t>(r) * cols + c] = static_cast<std::uint8_t>(std::lround(255.f * v));
    }
  data::write_png(path, cols, rows, 1, px);
}

}  // namespace

std::vector<std::string> write_attention(const std::string& dir, const AttentionMap& a) {
  const int d = a.size[0], h = a.size[1], w = a.size[2];  // not a structured binding: clang 14 cannot capture those
  const std::size_t n = static_cast<std::size_t>(d) * h * w;
  CMT_CHECK(a.image.size() == n && a.map.size() == n, "attention map of " << a.source << ": " << a.map.size() << " values for "
                                                                           << d << "x" << h << "x" << w);
  const std::string base = (fs::path(dir) / stem_of(a.source)).string();
  std::vector<std::string> written;
  auto idx = [h = static_cast<std::size_t>(h), w = static_cast<std::size_t>(w)](int z, int y, int x) {
    return (static_cast<std::size_t>(z) * h + static_cast<std::size_t>(y)) * w + static_cast<std::size_t>(x);
  };
  if (d == 1) {
    written.push_back(base + ".attention.png");
    write_plane(written.back(), a, h, w, [&](int y, int x) { return idx(0, y, x); });
  } else {
    // The central slice across each axis, the volume's top (first slice) up.
    written.push_back(base + ".attention_axial.png");
    write_plane(written.back(), a, h, w, [&](int y, int x) { return idx(d / 2, y, x); });
    written.push_back(base + ".attention_coronal.png");
    write_plane(written.back(), a, d, w, [&](int z, int x) { return idx(z, h / 2, x); });
    written.push_back(base + ".attention_sagittal.png");
    write_plane(written.back(), a, d, h, [&](int z, int y) { return idx(z, y, w / 2); });
  }
  written.push_back(base + ".attention.npy");
  write_npy(written.back(), a.size, a.map);
  return written;
}

}  // namespace cmt::app
