// The HDF5 dataset opener and its validation, then what training reads of it: every sample, the
// folds, the per-sample metadata and the identity (size and header hash), and the lesion masks.
#include "data/dataset.h"
#include "data/dataset_identity.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = cmt::fuzz::write_file("input.h5", data, size);
  return cmt::fuzz::refuse_only_with_error([&] {
    const cmt::data::Dataset ds = cmt::data::Dataset::open(path);
    std::vector<float> sample(static_cast<std::size_t>(ds.sample_shape().numel()));
    std::vector<std::uint8_t> mask(sample.size());
    for (std::int64_t i = 0; i < ds.size() && i < 4; ++i) {
      ds.read_sample(i, sample.data());
      ds.read_mask(i, mask.data());
    }
    for (int f = 0; f < ds.num_folds() && f < 4; ++f) ds.fold_indices(f, true);
    ds.spacings();
    ds.original_shapes();
    cmt::data::identify_dataset(path);
  }, path);
}
