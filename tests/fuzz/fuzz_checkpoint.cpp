// A checkpoint: its state (attributes, JSON), then the weights loaded into a small model, as
// `cmt train --resume` and `cmt eval` do. CMT_FUZZ_WRITE_SEED=FILE writes a valid one and exits.
#include <cstdlib>

#include "engine/checkpoint.h"
#include "fuzz_input.h"
#include "fuzz_model.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* seed = std::getenv("CMT_FUZZ_WRITE_SEED")) {
    cmt::CheckpointState state;
    state.model = "fuzz seed";
    state.config = {{"backbone", "resnet50"}, {"epochs", 2}};
    cmt::save_checkpoint(seed, *cmt::fuzz::small_model().store, nullptr, state);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  cmt::fuzz::SmallModel& m = cmt::fuzz::small_model();
  const std::string path = cmt::fuzz::write_file("input.h5", data, size);
  return cmt::fuzz::refuse_only_with_error([&] {
    cmt::read_checkpoint_state(path);
    cmt::load_checkpoint(path, *m.store, nullptr);
  }, path);
}
