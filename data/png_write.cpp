// PNG writing through libpng.
#include "data/png_write.h"

#include <png.h>

#include <cstdio>
#include <filesystem>

#include "kernels/common/check.h"

namespace cmt::data {

void write_png(const std::string& path, int width, int height, int channels, const std::vector<std::uint8_t>& pixels) {
  CMT_CHECK(channels == 1 || channels == 3, path << ": PNG channels must be 1 or 3, got " << channels);
  CMT_CHECK(width > 0 && height > 0, path << ": bad PNG size " << width << "x" << height);
  CMT_CHECK(pixels.size() == static_cast<std::size_t>(width) * height * channels,
            path << ": " << pixels.size() << " bytes for a " << width << "x" << height << "x" << channels << " image");
  const std::string tmp = path + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "wb");
  CMT_CHECK(f != nullptr, path << ": cannot open for writing");
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!png || !info || setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    std::fclose(f);
    std::remove(tmp.c_str());
    CMT_THROW(path << ": libpng failed to write the image");
  }
  png_init_io(png, f);
  png_set_IHDR(png, info, static_cast<png_uint_32>(width), static_cast<png_uint_32>(height), 8,
               channels == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < height; ++y)
    png_write_row(png, const_cast<png_bytep>(pixels.data() + static_cast<std::size_t>(y) * width * channels));
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  CMT_CHECK(std::fclose(f) == 0, path << ": error closing the file");
  std::filesystem::rename(tmp, path);
}

}  // namespace cmt::data
