// The preprocessing op family: validation and dispatch to kernels/cpu or kernels/cuda.
#include "engine/ops/resample.h"

#include "engine/ops/basic.h"
#include "engine/ops/validate.h"
#include "kernels/common/check.h"
#include "kernels/resample.h"

namespace cmt::ops {

using namespace detail;

namespace {

// One pass along axis `axis` of the rank-5 tensor x.
Tensor resample_axis(Context& ctx, const Tensor& x, int axis, std::int64_t out_len, bool antialias) {
  Shape shape = x.shape();
  const std::int64_t in_len = shape[axis];
  if (in_len == out_len) return x;
  std::int64_t outer = 1, inner = 1;
  for (int i = 0; i < axis; ++i) outer *= shape[i];
  for (int i = axis + 1; i < 5; ++i) inner *= shape[i];
  shape[axis] = out_len;
  Tensor y = Tensor::empty(shape, DType::f32, x.device());
  const int in_n = static_cast<int>(in_len), out_n = static_cast<int>(out_len);
  CMT_DISPATCH(ctx, "resample",
               cuda::resample_axis_f32(x.data<float>(), y.data<float>(), outer, in_n, out_n, inner, antialias,
                                       ctx.compute_stream()),
               cpu::resample_axis_f32(x.data<float>(), y.data<float>(), outer, in_n, out_n, inner, antialias));
  return y;
}

}  // namespace

Tensor resample(Context& ctx, const Tensor& x, std::int64_t out_d, std::int64_t out_h, std::int64_t out_w, bool antialias) {
  require_f32(ctx, x, "resample", "x");
  CMT_CHECK(x.rank() == 5, "resample: 'x' must be (N, D, H, W, C), got " << x.describe());
  CMT_CHECK(out_d > 0 && out_h > 0 && out_w > 0 && out_d < (1 << 30) && out_h < (1 << 30) && out_w < (1 << 30),
            "resample: output size must be positive, got " << out_d << "x" << out_h << "x" << out_w);
  for (int a = 1; a <= 3; ++a) CMT_CHECK(x.dim(a) > 0, "resample: 'x' has an empty spatial axis: " << x.describe());
  // W first, then H, then D: the CPU and CUDA backends use the same order.
  Tensor y = resample_axis(ctx, x, 3, out_w, antialias);
  y = resample_axis(ctx, y, 2, out_h, antialias);
  y = resample_axis(ctx, y, 1, out_d, antialias);
  if (y.shares_storage(x)) {  // nothing to resample: still return a fresh tensor
    y = Tensor::empty(x.shape(), DType::f32, x.device());
    copy(ctx, x, y);
  }
  ctx.debug_check("resample");
  return y;
}

Tensor hu_window(Context& ctx, const Tensor& x, float lo, float hi) {
  require_f32(ctx, x, "hu_window", "x");
  CMT_CHECK(hi > lo, "hu_window: the window must have hi > lo, got [" << lo << ", " << hi << "]");
  Tensor y = Tensor::empty(x.shape(), DType::f32, x.device());
  CMT_DISPATCH(ctx, "hu_window", cuda::window_f32(x.data<float>(), y.data<float>(), x.numel(), lo, hi, ctx.compute_stream()),
               cpu::window_f32(x.data<float>(), y.data<float>(), x.numel(), lo, hi));
  return y;
}

Tensor minmax_scale(Context& ctx, const Tensor& x) {
  require_f32(ctx, x, "minmax_scale", "x");
  CMT_CHECK(x.rank() >= 1, "minmax_scale: 'x' must have a sample dimension, got " << x.describe());
  const std::int64_t samples = x.dim(0), per = samples ? x.numel() / samples : 0;
  Tensor y = Tensor::empty(x.shape(), DType::f32, x.device());
  CMT_DISPATCH(ctx, "minmax_scale", cuda::minmax_f32(x.data<float>(), y.data<float>(), samples, per, ctx.compute_stream()),
               cpu::minmax_f32(x.data<float>(), y.data<float>(), samples, per));
  return y;
}

}  // namespace cmt::ops
