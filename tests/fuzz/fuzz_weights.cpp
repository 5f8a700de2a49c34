// Exported torchvision weights (tools/export_torchvision.py: one HDF5 dataset per tensor name)
// loaded by name into a small model's backbone, strictly and not.
#include "fuzz_input.h"
#include "fuzz_model.h"
#include "models/weights.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  cmt::fuzz::SmallModel& m = cmt::fuzz::small_model();
  const std::string path = cmt::fuzz::write_file("input.h5", data, size);
  return cmt::fuzz::refuse_only_with_error([&] {
    for (const bool strict : {true, false}) {
      cmt::models::WeightLoadOptions opt;
      opt.prefix = "backbone.";
      opt.strict = strict;
      cmt::models::load_torchvision_weights(m.ctx, *m.store, path, opt);
    }
  }, path);
}
