// The preprocessing family: separable resampling, HU window, min-max.
// cmt::cpu holds the CPU reference, cmt::cuda the CUDA launchers with the same contract. The CUDA part
// needs no CUDA headers (kernels/common/stream.h forward-declares the handle types) and is declared
// only in CUDA builds, the only ones that define it.
#pragma once
#include <cstdint>

// CPU reference.
namespace cmt::cpu {

// One 1D resampling pass along the middle axis of a contiguous (outer, in_len, inner) array,
// writing (outer, out_len, inner). Three passes (W, H, D) make the trilinear/bilinear resample.
void resample_axis_f32(const float* src, float* dst, std::int64_t outer, int in_len, int out_len, std::int64_t inner,
                       bool antialias);

// y = clamp((x - lo) / (hi - lo), 0, 1), elementwise.
void window_f32(const float* src, float* dst, std::int64_t n, float lo, float hi);

// Per sample s of `samples` rows of `per_sample` values: (x - min) / (max - min); 0 when constant.
void minmax_f32(const float* src, float* dst, std::int64_t samples, std::int64_t per_sample);

}  // namespace cmt::cpu

#if defined(CMT_WITH_CUDA)
#include "kernels/common/stream.h"

// CUDA launchers.
namespace cmt::cuda {

// Same contract as cpu::resample_axis_f32: (outer, in_len, inner) -> (outer, out_len, inner).
void resample_axis_f32(const float* src, float* dst, std::int64_t outer, int in_len, int out_len, std::int64_t inner,
                       bool antialias, cudaStream_t stream);
void window_f32(const float* src, float* dst, std::int64_t n, float lo, float hi, cudaStream_t stream);
void minmax_f32(const float* src, float* dst, std::int64_t samples, std::int64_t per_sample, cudaStream_t stream);

}  // namespace cmt::cuda
#endif  // CMT_WITH_CUDA
