// Channel-map ops: validation and dispatch.
#include "engine/ops/channel_map.h"

#include "engine/ops/validate.h"
#include "kernels/channel_map.h"

namespace cmt::ops {

using namespace detail;

namespace {

Shape map_shape(const Shape& x) { return Shape{x[0], x[1], x[2], x[3], 1}; }

// m must be x's one-channel map; returns the position count N*D*H*W.
std::int64_t check_map(const Context& ctx, const Tensor& x, const Tensor& m, const char* op, const char* xn, const char* mn) {
  require_f32(ctx, x, op, xn);
  require_f32(ctx, m, op, mn);
  require_rank(x, 5, op, xn);
  CMT_CHECK(m.shape() == map_shape(x.shape()),
            op << ": '" << mn << "' must be the one-channel map of '" << xn << "' " << x.describe() << ", got " << m.describe());
  return m.numel();
}

void reduce_into(Context& ctx, const Tensor& a, const Tensor* b, Tensor& out, float scale, const char* op) {
  const std::int64_t positions = out.numel(), c = a.dim(4);
  const float* bp = b != nullptr ? b->data<float>() : nullptr;
  CMT_DISPATCH(ctx, op, cuda::channel_reduce(a.data<float>(), bp, out.data<float>(), positions, c, scale, ctx.compute_stream()),
               cpu::channel_reduce(a.data<float>(), bp, out.data<float>(), positions, c, scale));
}

void broadcast_into(Context& ctx, const Tensor* x, const Tensor& m, Tensor& y, float scale, const char* op) {
  const std::int64_t positions = m.numel(), c = y.dim(4);
  const float* xp = x != nullptr ? x->data<float>() : nullptr;
  CMT_DISPATCH(ctx, op, cuda::channel_broadcast(xp, m.data<float>(), y.data<float>(), positions, c, scale, ctx.compute_stream()),
               cpu::channel_broadcast(xp, m.data<float>(), y.data<float>(), positions, c, scale));
}

}  // namespace

Tensor channel_mean(Context& ctx, const Tensor& x) {
  const char* op = "channel_mean";
  require_f32(ctx, x, op, "x");
  require_rank(x, 5, op, "x");
  CMT_CHECK(x.dim(4) >= 1, op << ": 'x' has no channels: " << x.describe());
  Tensor y = Tensor::empty(map_shape(x.shape()), DType::f32, x.device());
  reduce_into(ctx, x, nullptr, y, 1.f / static_cast<float>(x.dim(4)), op);
  return y;
}

Tensor channel_mean_backward(Context& ctx, const Tensor& dy, const Shape& x_shape) {
  const char* op = "channel_mean_backward";
  CMT_CHECK(x_shape.rank() == 5 && x_shape[4] >= 1, op << ": x_shape must be (N, D, H, W, C) with C >= 1");
  require_f32(ctx, dy, op, "dy");
  CMT_CHECK(dy.shape() == map_shape(x_shape), op << ": 'dy' must be the one-channel map of x, got " << dy.describe());
  Tensor dx = Tensor::empty(x_shape, DType::f32, dy.device());
  broadcast_into(ctx, nullptr, dy, dx, 1.f / static_cast<float>(x_shape[4]), op);
  return dx;
}

Tensor map_scale(Context& ctx, const Tensor& x, const Tensor& m) {
  const char* op = "map_scale";
  check_map(ctx, x, m, op, "x", "m");
  Tensor y = Tensor::empty(x.shape(), DType::f32, x.device());
  broadcast_into(ctx, &x, m, y, 1.f, op);
  return y;
}

MapScaleGrads map_scale_backward(Context& ctx, const Tensor& dy, const Tensor& x, const Tensor& m) {
  const char* op = "map_scale_backward";
  check_map(ctx, x, m, op, "x", "m");
  require_f32(ctx, dy, op, "dy");
  require_same_shape(dy, x, op, "dy", "x");
  MapScaleGrads g{Tensor::empty(x.shape(), DType::f32, x.device()), Tensor::empty(m.shape(), DType::f32, x.device())};
  broadcast_into(ctx, &dy, m, g.dx, 1.f, op);
  reduce_into(ctx, dy, &x, g.dm, 1.f, op);
  return g;
}

}  // namespace cmt::ops
