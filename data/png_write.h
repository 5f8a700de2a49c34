// Writes 8-bit greyscale or RGB PNG files (previews, plots), atomically.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace cmt::data {

// pixels: height rows of width * channels bytes (channels 1 = grey, 3 = RGB). Writes to a
// temporary name and renames, so a failed write leaves nothing under `path`.
void write_png(const std::string& path, int width, int height, int channels, const std::vector<std::uint8_t>& pixels);

}  // namespace cmt::data
