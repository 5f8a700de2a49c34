// PNG and JPEG images (the signature picks the decoder).
#include "data/image_io.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = cmt::fuzz::write_file("input.img", data, size);
  return cmt::fuzz::refuse_only_with_error([&] { cmt::data::read_image(path); });
}
