// Which of cuDNN's measured algorithms the baseline may use: a pure rule, kept apart from cudnn.h so
// that it is tested on machines without a GPU.
#pragma once
#include <cstddef>
#include <span>

#include "kernels/conv.h"

namespace cmt::cudnn {

// One result of cudnnFind*AlgorithmEx, reduced to what the choice reads.
struct AlgoResult {
  int algo = 0;
  bool succeeded = false;     // status == CUDNN_STATUS_SUCCESS
  std::size_t memory = 0;     // workspace bytes it needs
  bool fma_math = false;      // mathType == CUDNN_FMA_MATH: plain fp32 arithmetic, no tensor cores
};

// The first usable result (cuDNN lists them fastest first): succeeded, within `max_workspace`, and
// under fp32 math only CUDNN_FMA_MATH ones: CUDNN_DEFAULT_MATH may run TF32 on sm_80 and later, which
// would make an "exact fp32" comparison compare against TF32. Returns the index, or -1.
inline int pick_algorithm(std::span<const AlgoResult> results, ConvMath math, std::size_t max_workspace) {
  for (std::size_t i = 0; i < results.size(); ++i) {
    const AlgoResult& r = results[i];
    if (!r.succeeded || r.memory > max_workspace) continue;
    if (math == ConvMath::fp32 && !r.fma_math) continue;
    return static_cast<int>(i);
  }
  return -1;
}

}  // namespace cmt::cudnn
