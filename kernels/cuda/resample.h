// CUDA launchers of the preprocessing family: separable resampling, HU window, min-max.
#pragma once
#include <cstdint>

#include "kernels/common/stream.h"

namespace cmt::cuda {

// Same contract as cpu::resample_axis_f32: (outer, in_len, inner) -> (outer, out_len, inner).
void resample_axis_f32(const float* src, float* dst, std::int64_t outer, int in_len, int out_len, std::int64_t inner,
                       bool antialias, cudaStream_t stream);
void window_f32(const float* src, float* dst, std::int64_t n, float lo, float hi, cudaStream_t stream);
void minmax_f32(const float* src, float* dst, std::int64_t samples, std::int64_t per_sample, cudaStream_t stream);

}  // namespace cmt::cuda
