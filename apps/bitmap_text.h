// Labels drawn into 8-bit greyscale images (the augmentation previews) with a 3x5 bitmap font.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace cmt::app {

// Writes `text` (letters, digits, '=', '-', '.', '_', ':', '/', spaces; case-insensitive) in white at (x0, y0) of a `width`-wide
// image, each font pixel scale x scale; characters that would pass `max_x` are left out.
void draw_text(std::vector<std::uint8_t>& img, int width, int x0, int y0, const std::string& text, int scale, int max_x);

constexpr int text_height(int scale) { return 5 * scale; }

}  // namespace cmt::app
