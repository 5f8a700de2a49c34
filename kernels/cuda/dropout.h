// CUDA launchers of dropout and stochastic depth; same draws as kernels/cpu/dropout.h.
#pragma once
#include <cstdint>

#include "kernels/common/philox.h"
#include "kernels/common/stream.h"

namespace cmt::cuda {

void dropout_forward(const float* x, float* y, std::uint8_t* mask, std::int64_t n, float p, float scale,
                     rng::Stream rs, cudaStream_t stream);
void masked_scale(const float* x, const std::uint8_t* mask, float* y, std::int64_t n, std::int64_t per_mask,
                  float scale, cudaStream_t stream);
void bernoulli_keep(std::uint8_t* keep, std::int64_t samples, float p, rng::Stream rs, cudaStream_t stream);

}  // namespace cmt::cuda
