// Dropout and stochastic depth; masks come from the Philox stream (the same draws on both backends).
// cmt::cpu holds the CPU reference, cmt::cuda the CUDA launchers with the same contract. The CUDA part
// needs no CUDA headers (kernels/common/stream.h forward-declares the handle types) and is declared
// only in CUDA builds, the only ones that define it.
#pragma once
#include <cstdint>

#include "kernels/common/philox.h"

// CPU reference.
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

#if defined(CMT_WITH_CUDA)
#include "kernels/common/stream.h"

// CUDA launchers. T = float or std::uint16_t (bf16 bits: x * scale computed in float, rounded once).
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
#endif  // CMT_WITH_CUDA
