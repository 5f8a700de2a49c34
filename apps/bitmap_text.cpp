#include "apps/bitmap_text.h"

#include <array>
#include <cctype>

namespace cmt::app {

namespace {

// Rows of 3 bits, top first; characters without a glyph are blank.
std::array<int, 5> glyph(char c) {
  switch (c) {
    case 'A': return {2, 5, 7, 5, 5};
    case 'B': return {6, 5, 6, 5, 6};
    case 'C': return {3, 4, 4, 4, 3};
    case 'D': return {6, 5, 5, 5, 6};
    case 'E': return {7, 4, 6, 4, 7};
    case 'F': return {7, 4, 6, 4, 4};
    case 'G': return {3, 4, 5, 5, 3};
    case 'H': return {5, 5, 7, 5, 5};
    case 'I': return {7, 2, 2, 2, 7};
    case 'J': return {1, 1, 1, 5, 2};
    case 'K': return {5, 5, 6, 5, 5};
    case 'L': return {4, 4, 4, 4, 7};
    case 'M': return {5, 7, 7, 5, 5};
    case 'N': return {5, 7, 7, 7, 5};
    case 'O': return {2, 5, 5, 5, 2};
    case 'P': return {6, 5, 6, 4, 4};
    case 'Q': return {2, 5, 5, 7, 3};
    case 'R': return {6, 5, 6, 5, 5};
    case 'S': return {3, 4, 2, 1, 6};
    case 'T': return {7, 2, 2, 2, 2};
    case 'U': return {5, 5, 5, 5, 7};
    case 'V': return {5, 5, 5, 5, 2};
    case 'W': return {5, 5, 7, 7, 5};
    case 'X': return {5, 5, 2, 5, 5};
    case 'Y': return {5, 5, 2, 2, 2};
    case 'Z': return {7, 1, 2, 4, 7};
    case '0': return {7, 5, 5, 5, 7};
    case '1': return {2, 6, 2, 2, 7};
    case '2': return {7, 1, 7, 4, 7};
    case '3': return {7, 1, 3, 1, 7};
    case '4': return {5, 5, 7, 1, 1};
    case '5': return {7, 4, 7, 1, 7};
    case '6': return {7, 4, 7, 5, 7};
    case '7': return {7, 1, 1, 1, 1};
    case '8': return {7, 5, 7, 5, 7};
    case '9': return {7, 5, 7, 1, 7};
    case '=': return {0, 7, 0, 7, 0};
    case '-': return {0, 0, 7, 0, 0};
    case '.': return {0, 0, 0, 0, 2};
    case '_': return {0, 0, 0, 0, 7};
    case ':': return {0, 2, 0, 2, 0};
    case '/': return {1, 1, 2, 4, 4};
    default: return {0, 0, 0, 0, 0};
  }
}

}  // namespace

void draw_text(std::vector<std::uint8_t>& img, int width, int x0, int y0, const std::string& text, int scale, int max_x) {
  for (std::size_t k = 0; k < text.size(); ++k) {
    const int cx = x0 + static_cast<int>(k) * 4 * scale;
    if (cx + 3 * scale > max_x) return;
    const auto g = glyph(static_cast<char>(std::toupper(static_cast<unsigned char>(text[k]))));
    for (int r = 0; r < 5; ++r)
      for (int c = 0; c < 3; ++c)
        if (g[static_cast<std::size_t>(r)] & (4 >> c))
          for (int dy = 0; dy < scale; ++dy)
            for (int dx = 0; dx < scale; ++dx)
              img[static_cast<std::size_t>(y0 + r * scale + dy) * width + cx + c * scale + dx] = 255;
  }
}

}  // namespace cmt::app
