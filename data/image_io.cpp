// PNG and JPEG ingest through libpng and libjpeg, with errors that name the file.
#include "data/image_io.h"

#include <jpeglib.h>
#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "data/input_limits.h"
#include "kernels/common/check.h"

namespace cmt::data {

namespace {

using FilePtr = std::unique_ptr<FILE, int (*)(FILE*)>;

FilePtr open_file(const std::string& path, const char* mode) {
  FILE* f = std::fopen(path.c_str(), mode);
  CMT_CHECK(f != nullptr, path << ": cannot open (" << std::strerror(errno) << ")");
  return FilePtr(f, &std::fclose);
}

bool has_signature(const std::string& path, const unsigned char* sig, std::size_t n) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  unsigned char buf[8] = {};
  const std::size_t got = std::fread(buf, 1, n, f);
  std::fclose(f);
  return got == n && std::memcmp(buf, sig, n) == 0;
}

float luma(float r, float g, float b) { return 0.299f * r + 0.587f * g + 0.114f * b; }

Volume read_png(const std::string& path) {
  FilePtr f = open_file(path, "rb");
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  CMT_CHECK(png && info, path << ": libpng could not start");
  Volume v;
  std::vector<png_bytep> rows;
  std::vector<std::uint8_t> buffer;
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    CMT_THROW(path << ": unreadable PNG (corrupt or truncated)");
  }
  png_set_error_fn(png, nullptr, [](png_structp p, png_const_charp) { png_longjmp(p, 1); }, [](png_structp, png_const_charp) {});
  png_init_io(png, f.get());
  png_read_info(png, info);
  try {
    check_image_size(path, "PNG header", png_get_image_height(png, info), png_get_image_width(png, info));
  } catch (const Error&) {
    png_destroy_read_struct(&png, &info, nullptr);
    throw;
  }
  const int bit_depth = png_get_bit_depth(png, info);
  const int color = png_get_color_type(png, info);
  if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
  if (bit_depth == 16) png_set_swap(png);  // PNG is big-endian; read native uint16
  png_read_update_info(png, info);
  const int w = static_cast<int>(png_get_image_width(png, info)), h = static_cast<int>(png_get_image_height(png, info));
  const int channels = png_get_channels(png, info);
  const int depth = png_get_bit_depth(png, info);
  const std::size_t rowbytes = png_get_rowbytes(png, info);
  buffer.resize(rowbytes * static_cast<std::size_t>(h));
  rows.resize(static_cast<std::size_t>(h));
  for (int y = 0; y < h; ++y) rows[static_cast<std::size_t>(y)] = buffer.data() + rowbytes * static_cast<std::size_t>(y);
  png_read_image(png, rows.data());
  png_destroy_read_struct(&png, &info, nullptr);

  v.d = 1;
  v.h = h;
  v.w = w;
  v.v.resize(static_cast<std::size_t>(w) * h);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      float c[4];
      for (int k = 0; k < channels; ++k) {
        const std::size_t at = static_cast<std::size_t>(x) * channels + k;
        if (depth == 16) {
          std::uint16_t s;
          std::memcpy(&s, rows[static_cast<std::size_t>(y)] + 2 * at, 2);
          c[k] = s;
        } else {
          c[k] = rows[static_cast<std::size_t>(y)][at];
        }
      }
      v.at(0, y, x) = channels >= 3 ? luma(c[0], c[1], c[2]) : c[0];  // grey(+alpha) or RGB(+alpha)
    }
  return v;
}

struct JpegError {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

Volume read_jpeg(const std::string& path) {
  FilePtr f = open_file(path, "rb");
  jpeg_decompress_struct cinfo;
  JpegError err;
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = [](j_common_ptr c) {
    auto* e = reinterpret_cast<JpegError*>(c->err);
    (*c->err->format_message)(c, e->message);
    std::longjmp(e->jump, 1);
  };
  err.mgr.emit_message = [](j_common_ptr, int) {};
  // Declared before setjmp: a decoding error jumps back here past everything declared later, whose
  // destructors would never run (a leak of the image at each corrupt file).
  Volume v;
  std::vector<JSAMPLE> row;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    CMT_THROW(path << ": unreadable JPEG (" << err.message << ")");
  }
  jpeg_create_decompress(&cinfo);
  jpeg_stdio_src(&cinfo, f.get());
  jpeg_read_header(&cinfo, TRUE);
  try {
    check_image_size(path, "JPEG header", cinfo.image_height, cinfo.image_width);
  } catch (const Error&) {
    jpeg_destroy_decompress(&cinfo);
    throw;
  }
  cinfo.out_color_space = JCS_GRAYSCALE;  // libjpeg converts colour to luma itself
  jpeg_start_decompress(&cinfo);
  v.d = 1;
  v.h = static_cast<int>(cinfo.output_height);
  v.w = static_cast<int>(cinfo.output_width);
  v.v.resize(static_cast<std::size_t>(v.w) * v.h);
  row.resize(static_cast<std::size_t>(v.w) * cinfo.output_components);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW rp = row.data();
    const int y = static_cast<int>(cinfo.output_scanline);
    jpeg_read_scanlines(&cinfo, &rp, 1);
    for (int x = 0; x < v.w; ++x) v.at(0, y, x) = row[static_cast<std::size_t>(x)];
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return v;
}

}  // namespace

bool is_png_file(const std::string& path) {
  static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  return has_signature(path, sig, 8);
}

bool is_jpeg_file(const std::string& path) {
  static const unsigned char sig[3] = {0xFF, 0xD8, 0xFF};
  return has_signature(path, sig, 3);
}

Volume read_image(const std::string& path) {
  CMT_CHECK(std::filesystem::is_regular_file(path), path << ": no such file");
  if (is_png_file(path)) return read_png(path);
  if (is_jpeg_file(path)) return read_jpeg(path);
  CMT_THROW(path << ": not a PNG or JPEG file (unknown signature)");
}

void write_png16(const std::string& path, int width, int height, const std::vector<std::uint16_t>& pixels) {
  CMT_CHECK(pixels.size() == static_cast<std::size_t>(width) * height, path << ": pixel count does not match " << width << "x" << height);
  const std::string tmp = path + ".tmp";
  {
    FilePtr f = open_file(tmp, "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
    png_infop info = png ? png_create_info_struct(png) : nullptr;
    if (!png || !info || setjmp(png_jmpbuf(png))) {
      png_destroy_write_struct(&png, &info);
      std::remove(tmp.c_str());
      CMT_THROW(path << ": libpng failed to write the image");
    }
    png_init_io(png, f.get());
    png_set_IHDR(png, info, static_cast<png_uint_32>(width), static_cast<png_uint_32>(height), 16, PNG_COLOR_TYPE_GRAY,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    png_set_swap(png);
    for (int y = 0; y < height; ++y)
      png_write_row(png, reinterpret_cast<png_const_bytep>(pixels.data() + static_cast<std::size_t>(y) * width));
    png_write_end(png, nullptr);
    png_destroy_write_struct(&png, &info);
  }
  std::filesystem::rename(tmp, path);
}

void write_jpeg_grey(const std::string& path, int width, int height, const std::vector<std::uint8_t>& pixels, int quality) {
  CMT_CHECK(pixels.size() == static_cast<std::size_t>(width) * height, path << ": pixel count does not match " << width << "x" << height);
  const std::string tmp = path + ".tmp";
  {
    FilePtr f = open_file(tmp, "wb");
    jpeg_compress_struct cinfo;
    jpeg_error_mgr jerr;
    cinfo.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&cinfo);
    jpeg_stdio_dest(&cinfo, f.get());
    cinfo.image_width = static_cast<JDIMENSION>(width);
    cinfo.image_height = static_cast<JDIMENSION>(height);
    cinfo.input_components = 1;
    cinfo.in_color_space = JCS_GRAYSCALE;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
      JSAMPROW row = const_cast<JSAMPROW>(pixels.data() + static_cast<std::size_t>(cinfo.next_scanline) * width);
      jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
  }
  std::filesystem::rename(tmp, path);
}

}  // namespace cmt::data
