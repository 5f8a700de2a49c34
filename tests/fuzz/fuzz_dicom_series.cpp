// A DICOM series of up to four files (parts of the input): grouping, ordering and assembly.
#include "data/dicom.h"
#include "data/ingest.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto parts = cmt::fuzz::split_parts(data, size, 4);
  const std::filesystem::path dir = cmt::fuzz::scratch() / "series";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::vector<std::string> files;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    files.push_back((dir / ("IM" + std::to_string(i) + ".dcm")).string());
    std::ofstream(files.back(), std::ios::binary) << parts[i];
  }
  return cmt::fuzz::refuse_only_with_error([&] {
    const cmt::data::Discovery d = cmt::data::discover_scans(dir.string(), "ct");
    for (const auto& item : d.items) {
      bool hu = false;
      cmt::data::load_item(item, "ct", hu);
    }
    cmt::data::assemble_series(files);
  });
}
