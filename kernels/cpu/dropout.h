// CPU reference of dropout and stochastic depth; masks come from the Philox stream (same draws as CUDA).
#pragma once
#include <cstdint>

#include "kernels/common/philox.h"

namespace cmt::cpu {

// keep_i = uniform01(word i) >= p; y = keep ? x * scale : 0. scale = 1 / (1 - p).
void dropout_forward(const float* x, float* y, std::uint8_t* mask, std::int64_t n, float p, float scale,
                     rng::Stream rs);
// y = mask ? dy * scale : 0 (also the stochastic depth forward/backward with a per-sample mask).
void masked_scale(const float* x, const std::uint8_t* mask, float* y, std::int64_t n, std::int64_t per_mask,
                  float scale);
// keep[s] = uniform01(word s) >= p for s < samples.
void bernoulli_keep(std::uint8_t* keep, std::int64_t samples, float p, rng::Stream rs);

}  // namespace cmt::cpu
