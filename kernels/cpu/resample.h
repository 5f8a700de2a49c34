// CPU reference kernels of the preprocessing family: separable resampling, HU window, min-max.
#pragma once
#include <cstdint>

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
