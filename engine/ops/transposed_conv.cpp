// x2 up-sampling transposed convolution: validation and dispatch.
#include "engine/ops/transposed_conv.h"

#include "engine/ops/validate.h"
#include "kernels/transposed_conv.h"

namespace cmt::ops {

using namespace detail;

namespace {

TransposedConv2xShape check_problem(const Context& ctx, const Tensor& x, const Tensor& w, const char* op) {
  require_f32(ctx, x, op, "x");
  require_f32(ctx, w, op, "w");
  require_rank(x, 5, op, "x");
  CMT_CHECK(x.dim(4) == 1, op << ": 'x' must have one channel, got " << x.describe());
  CMT_CHECK(w.rank() == 3 && (w.dim(0) == 1 || w.dim(0) == 2) && w.dim(1) == 2 && w.dim(2) == 2,
            op << ": 'w' must be (1, 2, 2) in 2D or (2, 2, 2) in 3D, got " << w.describe());
  return TransposedConv2xShape{x.dim(0), x.dim(1), x.dim(2), x.dim(3), w.dim(0)};
}

Shape output_shape(const TransposedConv2xShape& s) { return Shape{s.n, s.kd * s.d, 2 * s.h, 2 * s.w, 1}; }

}  // namespace

Tensor transposed_conv2x(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& b) {
  const char* op = "transposed_conv2x";
  const TransposedConv2xShape s = check_problem(ctx, x, w, op);
  require_vector(ctx, b, 1, op, "b");
  Tensor y = Tensor::empty(output_shape(s), DType::f32, x.device());
  CMT_DISPATCH(ctx, op,
               cuda::transposed_conv2x(x.data<float>(), w.data<float>(), b.data<float>(), y.data<float>(), s, ctx.compute_stream()),
               cpu::transposed_conv2x(x.data<float>(), w.data<float>(), b.data<float>(), y.data<float>(), s));
  return y;
}

TransposedConv2xGrads transposed_conv2x_backward(Context& ctx, const Tensor& dy, const Tensor& x, const Tensor& w) {
  const char* op = "transposed_conv2x_backward";
  const TransposedConv2xShape s = check_problem(ctx, x, w, op);
  require_f32(ctx, dy, op, "dy");
  CMT_CHECK(dy.shape() == output_shape(s), op << ": 'dy' must be " << output_shape(s).str() << ", got " << dy.describe());
  TransposedConv2xGrads g{Tensor::empty(x.shape(), DType::f32, x.device()), Tensor::empty(w.shape(), DType::f32, x.device()),
                          Tensor::empty(Shape{1}, DType::f32, x.device())};
  CMT_DISPATCH(ctx, op,
               cuda::transposed_conv2x_backward(dy.data<float>(), x.data<float>(), w.data<float>(), g.dx.data<float>(),
                                                g.dw.data<float>(), g.db.data<float>(), s, ctx.compute_stream()),
               cpu::transposed_conv2x_backward(dy.data<float>(), x.data<float>(), w.data<float>(), g.dx.data<float>(),
                                               g.dw.data<float>(), g.db.data<float>(), s));
  return g;
}

}  // namespace cmt::ops
