// PNG (8 and 16 bit) and JPEG reading to greyscale, and the writers the phantom generator and tests use.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "data/volume.h"

namespace cmt::data {

bool is_png_file(const std::string& path);   // by signature
bool is_jpeg_file(const std::string& path);  // by signature

// A PNG or JPEG as a 1 x H x W volume of its grey values (0..255 or 0..65535); colour becomes grey
// by ITU-R BT.601 luma, alpha is dropped. Throws cmt::Error naming the file and the reason.
Volume read_image(const std::string& path);

// 16-bit greyscale PNG and 8-bit greyscale JPEG writers (atomic: temporary name + rename).
void write_png16(const std::string& path, int width, int height, const std::vector<std::uint16_t>& pixels);
void write_jpeg_grey(const std::string& path, int width, int height, const std::vector<std::uint8_t>& pixels, int quality);

}  // namespace cmt::data
