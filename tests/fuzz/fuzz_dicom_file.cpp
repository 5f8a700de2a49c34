// One DICOM file: header and pixel decoding (every transfer syntax DCMTK decodes).
#include "data/dicom.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = cmt::fuzz::write_file("input.dcm", data, size);
  return cmt::fuzz::refuse_only_with_error([&] {
    cmt::data::read_dicom(path, false);
    cmt::data::read_dicom(path, true);
  });
}
