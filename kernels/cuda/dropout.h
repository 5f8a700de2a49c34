// CUDA launchers of dropout and stochastic depth; same draws as kernels/cpu/dropout.h. T = float or
// std::uint16_t (bf16 bits: x * scale computed in float, rounded once).
#pragma once
#include <cstdint>

#include "kernels/common/philox.h"
#include "kernels/common/stream.h"

namespace cmt::cuda {

// epoch_step: null, or (epoch, step) in device memory replacing rs's (a captured step's per-step key).
template <typename T>
void dropout_forward(const T* x, T* y, std::uint8_t* mask, std::int64_t n, float p, float scale, rng::Stream rs,
                     const std::uint32_t* epoch_step, cudaStream_t stream);
template <typename T>
void masked_scale(const T* x, const std::uint8_t* mask, T* y, std::int64_t n, std::int64_t per_mask, float scale,
                  cudaStream_t stream);
void bernoulli_keep(std::uint8_t* keep, std::int64_t samples, float p, rng::Stream rs, const std::uint32_t* epoch_step,
                    cudaStream_t stream);

}  // namespace cmt::cuda
