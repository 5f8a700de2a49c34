// The cuDNN baseline's algorithm choice (kernels/cudnn/algo_choice.h): exact fp32 means FMA math only.
#include <vector>

#include "kernels/cudnn/algo_choice.h"
#include "support/testing.h"

using namespace cmt;
using cudnn::AlgoResult;

TEST_CASE("cuDNN baseline: fp32 runs only CUDNN_FMA_MATH algorithms, tf32 and bf16 take the fastest") {
  constexpr std::size_t kCap = std::size_t{1} << 30;
  // Fastest first, as cudnnFind*AlgorithmEx lists them: a failed one, one over the workspace cap, a
  // default-math one (may run TF32 on sm_80+), then an FMA one.
  const std::vector<AlgoResult> found = {{7, false, 0, true}, {6, true, kCap + 1, true}, {1, true, 4096, false}, {0, true, 0, true}};
  CHECK(cudnn::pick_algorithm(found, ConvMath::fp32, kCap) == 3);
  CHECK(cudnn::pick_algorithm(found, ConvMath::tf32, kCap) == 2);
  CHECK(cudnn::pick_algorithm(found, ConvMath::bf16, kCap) == 2);
  // Nothing exact: fp32 has no algorithm rather than a TF32 one.
  const std::vector<AlgoResult> tensor_ops_only = {{1, true, 0, false}, {2, true, 64, false}};
  CHECK(cudnn::pick_algorithm(tensor_ops_only, ConvMath::fp32, kCap) == -1);
  CHECK(cudnn::pick_algorithm(tensor_ops_only, ConvMath::tf32, 32) == 0);
  CHECK(cudnn::pick_algorithm({}, ConvMath::tf32, kCap) == -1);
}
