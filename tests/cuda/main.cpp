// doctest main of the CUDA tests: with no usable GPU, says why and exits 77 so that CTest reports
// every case as skipped (never as passed). Listing test cases works without a GPU.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstring>

#include "engine/cuda_runtime.h"

int main(int argc, char** argv) {
  bool listing = false;
  for (int i = 1; i < argc; ++i)
    listing = listing || std::strstr(argv[i], "list-test") != nullptr || std::strstr(argv[i], "-ltc") != nullptr ||
              std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0;
  if (!listing && !cmt::cuda_status().available) {
    std::printf("SKIPPED: CUDA tests need a GPU: %s\n", cmt::cuda_status().reason.c_str());
    return 77;
  }
  doctest::Context context(argc, argv);
  return context.run();
}
