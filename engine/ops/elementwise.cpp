// Elementwise and row ops: validation and dispatch.
#include "engine/ops/elementwise.h"

#include <cstring>

#include "engine/ops/basic.h"
#include "engine/ops/cpu_widen.h"
#include "engine/ops/validate.h"
#include "kernels/elementwise.h"

namespace cmt::ops {

using namespace detail;

namespace {

void check_pair(const Context& ctx, const Tensor& a, const Tensor& b, const char* op) {
  require_f32_or_bf16(ctx, a, op, "a");
  require_f32_or_bf16(ctx, b, op, "b");
  require_same_dtype(a, b, op, "a", "b");
  require_same_shape(a, b, op, "a", "b");
}

template <typename T>
void add_as(Context& ctx, const Tensor& a, const Tensor& b, Tensor& y, const char* op) {
  CMT_DISPATCH(ctx, op, cuda::add(elems<T>(a), elems<T>(b), elems<T>(y), a.numel(), ctx.compute_stream()),
               cpu::add(elems<T>(a), elems<T>(b), elems<T>(y), a.numel()));
}

void add_into(Context& ctx, const Tensor& a, const Tensor& b, Tensor& y, const char* op) {
  if (a.dtype() == DType::bf16) add_as<std::uint16_t>(ctx, a, b, y, op);
  else add_as<float>(ctx, a, b, y, op);
}

// x (N,D,H,W,C) and s (N,C), both f32 or both bf16: returns S = D*H*W.
std::int64_t check_channel_scale(const Context& ctx, const Tensor& x, const Tensor& s, const char* op) {
  require_f32_or_bf16(ctx, x, op, "x");
  require_f32_or_bf16(ctx, s, op, "s");
  require_same_dtype(x, s, op, "x", "s");
  require_rank(x, 5, op, "x");
  CMT_CHECK(s.rank() == 2 && s.dim(0) == x.dim(0) && s.dim(1) == x.dim(4),
            op << ": 's' must be (N,C) = (" << x.dim(0) << ", " << x.dim(4) << "), got " << s.describe());
  return x.dim(1) * x.dim(2) * x.dim(3);
}

void check_rows(const Context& ctx, const Tensor& x, float eps, const char* op) {
  require_f32(ctx, x, op, "x");
  require_rank(x, 2, op, "x");
  CMT_CHECK(eps > 0, op << ": eps must be positive, got " << eps);
}

}  // namespace

Tensor add(Context& ctx, const Tensor& a, const Tensor& b) {
  check_pair(ctx, a, b, "add");
  Tensor y = Tensor::empty(a.shape(), a.dtype(), a.device());
  add_into(ctx, a, b, y, "add");
  return y;
}

void add_(Context& ctx, Tensor& a, const Tensor& b) {
  check_pair(ctx, a, b, "add_");
  add_into(ctx, a, b, a, "add_");
}

Tensor scale(Context& ctx, const Tensor& x, float alpha) {
  require_f32(ctx, x, "scale", "x");
  Tensor y = Tensor::empty(x.shape(), DType::f32, x.device());
  CMT_DISPATCH(ctx, "scale", cuda::scale(x.data<float>(), alpha, y.data<float>(), x.numel(), ctx.compute_stream()),
               cpu::scale(x.data<float>(), alpha, y.data<float>(), x.numel()));
  return y;
}

Tensor channel_scale(Context& ctx, const Tensor& x, const Tensor& s) {
  const char* op = "channel_scale";
  const std::int64_t sp = check_channel_scale(ctx, x, s, op);
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  CMT_DISPATCH(ctx, op, with_elem(x.dtype(), [&](auto t) {
                 using T = decltype(t);
                 cuda::channel_scale(elems<T>(x), elems<T>(s), elems<T>(y), x.dim(0), sp, x.dim(4), ctx.compute_stream());
               }),
               {
                 const Tensor xf = widen(x);
                 const Tensor sf = widen(s);
                 cpu_into(y, [&](float* out) { cpu::channel_scale(xf.data<float>(), sf.data<float>(), out, x.dim(0), sp, x.dim(4)); });
               });
  return y;
}

ChannelScaleGrads channel_scale_backward(Context& ctx, const Tensor& dy, const Tensor& x, const Tensor& s) {
  const char* op = "channel_scale_backward";
  const std::int64_t sp = check_channel_scale(ctx, x, s, op);
  require_f32_or_bf16(ctx, dy, op, "dy");
  require_same_dtype(dy, x, op, "dy", "x");
  require_same_shape(dy, x, op, "dy", "x");
  const std::int64_t n = x.dim(0), c = x.dim(4);
  ChannelScaleGrads g{Tensor::empty(x.shape(), x.dtype(), x.device()), Tensor::empty(s.shape(), x.dtype(), x.device())};
  CMT_DISPATCH(ctx, op, with_elem(x.dtype(), [&](auto t) {
                 using T = decltype(t);
                 cuda::channel_scale_backward(elems<T>(dy), elems<T>(x), elems<T>(s), elems<T>(g.dx), elems<T>(g.ds), n, sp, c,
                                              ctx.workspace(cuda::channel_scale_workspace_bytes(n, sp, c)),
                                              ctx.compute_stream());
               }),
               {
                 const Tensor dyf = widen(dy);
                 const Tensor xf = widen(x);
                 const Tensor sf = widen(s);
                 cpu_into(g.dx, [&](float* dx) {
                   cpu_into(g.ds, [&](float* ds) {
                     cpu::channel_scale_backward(dyf.data<float>(), xf.data<float>(), sf.data<float>(), dx, ds, n, sp, c);
                   });
                 });
               });
  return g;
}

Tensor concat_rows(Context& ctx, const Tensor& a, const Tensor& b) {
  const char* op = "concat_rows";
  require_on(ctx, a, op, "a");
  require_on(ctx, b, op, "b");
  CMT_CHECK(a.dtype() == b.dtype() && a.rank() == b.rank() && a.rank() >= 1,
            op << ": 'a' " << a.describe() << " and 'b' " << b.describe() << " differ in dtype or rank");
  for (int i = 1; i < a.rank(); ++i)
    CMT_CHECK(a.dim(i) == b.dim(i), op << ": 'a' " << a.describe() << " and 'b' " << b.describe() << " differ in dim " << i);
  Shape ys = a.shape();
  ys[0] = a.dim(0) + b.dim(0);
  Tensor y = Tensor::empty(ys, a.dtype(), a.device());
  Tensor top = y.narrow(0, a.dim(0)), bottom = y.narrow(a.dim(0), b.dim(0));
  copy(ctx, a, top);
  copy(ctx, b, bottom);
  return y;
}

std::pair<Tensor, Tensor> split_rows(const Tensor& x, std::int64_t n) {
  CMT_CHECK(x.defined() && x.rank() >= 1 && n >= 0 && n <= x.dim(0),
            "split_rows: cannot split " << x.describe() << " at row " << n);
  return {x.narrow(0, n), x.narrow(n, x.dim(0) - n)};
}

Tensor l2_normalize_rows(Context& ctx, const Tensor& x, float eps) {
  const char* op = "l2_normalize_rows";
  check_rows(ctx, x, eps, op);
  Tensor y = Tensor::empty(x.shape(), DType::f32, x.device());
  CMT_DISPATCH(ctx, op,
               cuda::l2_normalize_rows(x.data<float>(), y.data<float>(), x.dim(0), x.dim(1), eps, ctx.compute_stream()),
               cpu::l2_normalize_rows(x.data<float>(), y.data<float>(), x.dim(0), x.dim(1), eps));
  return y;
}

Tensor l2_normalize_rows_backward(Context& ctx, const Tensor& dy, const Tensor& x, float eps) {
  const char* op = "l2_normalize_rows_backward";
  check_rows(ctx, x, eps, op);
  require_f32(ctx, dy, op, "dy");
  require_same_shape(dy, x, op, "dy", "x");
  Tensor dx = Tensor::empty(x.shape(), DType::f32, x.device());
  CMT_DISPATCH(ctx, op,
               cuda::l2_normalize_rows_backward(dy.data<float>(), x.data<float>(), dx.data<float>(), x.dim(0), x.dim(1),
                                                eps, ctx.compute_stream()),
               cpu::l2_normalize_rows_backward(dy.data<float>(), x.data<float>(), dx.data<float>(), x.dim(0), x.dim(1),
                                               eps));
  return dx;
}

}  // namespace cmt::ops
