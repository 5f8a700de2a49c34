// A CSV manifest (path,label[,patient_id]) in a folder holding one PNG and one DICOM file that its
// rows may name.
#include "data/ingest.h"
#include "data/png_write.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::filesystem::path dir = cmt::fuzz::scratch() / "manifest";
  static const bool made = [&] {
    std::filesystem::create_directories(dir / "scan");
    cmt::data::write_png((dir / "a.png").string(), 2, 2, 1, {0, 64, 128, 255});
    cmt::data::write_png((dir / "scan" / "1.png").string(), 2, 2, 1, {9, 9, 9, 9});
    return true;
  }();
  (void)made;
  const std::string csv = (dir / "input.csv").string();
  std::ofstream(csv, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return cmt::fuzz::refuse_only_with_error([&] {
    for (const char* modality : {"ct", "xray"}) {
      const cmt::data::Discovery d = cmt::data::discover(csv, modality);
      for (const auto& item : d.items) {
        if (item.source.rfind(dir.string(), 0) != 0) continue;  // rows may name any path: read only ours
        bool hu = false;
        cmt::data::load_item(item, modality, hu);
      }
    }
  });
}
