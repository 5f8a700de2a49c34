// Tensor-level preprocessing ops: trilinear/bilinear resampling (antialiased when shrinking),
// HU windowing and per-sample min-max scaling to [0, 1].
#pragma once
#include <cstdint>

#include "engine/context.h"
#include "engine/tensor.h"

namespace cmt::ops {

// x: (N, D, H, W, C) f32 -> (N, out_d, out_h, out_w, C). Separable linear interpolation with
// align_corners = false (PyTorch's convention); with antialias, an axis that shrinks is filtered
// by a triangle widened by the shrink factor (PyTorch's antialias=True). D = 1 -> 1 is 2D.
Tensor resample(Context& ctx, const Tensor& x, std::int64_t out_d, std::int64_t out_h, std::int64_t out_w,
                bool antialias = true);

// Elementwise clamp((x - lo) / (hi - lo), 0, 1): the HU window of a CT (e.g. -1000, 400).
Tensor hu_window(Context& ctx, const Tensor& x, float lo, float hi);

// x: (N, ...) f32; each sample (row of dim 0) scaled to [0, 1] by its own min and max (0 if constant).
Tensor minmax_scale(Context& ctx, const Tensor& x);

}  // namespace cmt::ops
