// Pooling: validation, output shapes and dispatch. f32 or bf16 data; the CPU runs bf16 through the f32
// reference on widened inputs and rounds each result once, the CUDA kernels are templates on the element type.
#include "engine/ops/pool.h"

#include "engine/ops/cpu_widen.h"
#include "engine/ops/validate.h"
#include "kernels/pool.h"

namespace cmt::ops {

using namespace detail;

namespace {

void check_x(const Context& ctx, const Tensor& x, const char* op) {
  require_f32_or_bf16(ctx, x, op, "x");
  require_rank(x, 5, op, "x");
  CMT_CHECK(x.numel() > 0, op << ": 'x' is empty " << x.describe());
}

void check_x_shape(const Shape& s, const char* op) {
  CMT_CHECK(s.rank() == 5 && s.numel() > 0, op << ": x_shape must be a non-empty (N,D,H,W,C) shape, got " << s.str());
}

PoolDesc make_desc(const Shape& x, const Shape& y) {
  PoolDesc d;
  d.n = x[0];
  d.c = x[4];
  for (int a = 0; a < 3; ++a) {
    d.in[a] = static_cast<int>(x[a + 1]);
    d.out[a] = static_cast<int>(y[a + 1]);
  }
  return d;
}

// One pooling pass out = f(in): on CUDA `cuda_call` with T the element type of `in` (bf16 as its bits);
// on the CPU `cpu_call` on float pointers src (in, widened) and dst (rounded once into out).
#define CMT_POOL_PASS(ctx, op, in, out, cuda_call, cpu_call)                                              \
  CMT_DISPATCH(ctx, op, with_elem((in).dtype(), [&](auto t) {                                               \
                 using T = decltype(t);                                                                     \
                 cuda_call;                                                                                 \
               }),                                                                                          \
               {                                                                                            \
                 const Tensor src_f32 = widen(in);                                                          \
                 cpu_into(out, [&](float* dst) {                                                            \
                   const float* src = src_f32.data<float>();                                                \
                   cpu_call;                                                                                \
                 });                                                                                        \
               })

PoolDesc make_desc(const Shape& x, const PoolParams& p) {
  PoolDesc d = make_desc(x, pool_output_shape(x, p));
  for (int a = 0; a < 3; ++a) {
    d.k[a] = p.kernel[static_cast<std::size_t>(a)];
    d.s[a] = p.stride[static_cast<std::size_t>(a)];
    d.p[a] = p.padding[static_cast<std::size_t>(a)];
  }
  return d;
}

}  // namespace

Shape pool_output_shape(const Shape& x, const PoolParams& p) {
  CMT_CHECK(x.rank() == 5, "pool: input must be (N,D,H,W,C), got " << x.str());
  Shape y = x;
  for (std::size_t a = 0; a < 3; ++a) {
    const int k = p.kernel[a], s = p.stride[a], pad = p.padding[a];
    CMT_CHECK(k >= 1 && s >= 1 && pad >= 0, "pool: kernel " << k << ", stride " << s << ", padding " << pad
                                                              << " in dim " << a << " (need k >= 1, s >= 1, p >= 0)");
    CMT_CHECK(2 * pad <= k, "pool: padding " << pad << " must be at most half the kernel " << k << " (dim " << a << ")");
    const std::int64_t span = x[static_cast<int>(a) + 1] + 2 * pad - k;
    CMT_CHECK(span >= 0, "pool: kernel " << k << " is larger than the padded input " << x.str() << " in dim " << a);
    y[static_cast<int>(a) + 1] = span / s + 1;
  }
  return y;
}

Tensor maxpool_forward(Context& ctx, const Tensor& x, const PoolParams& p, Tensor& argmax) {
  const char* op = "maxpool_forward";
  check_x(ctx, x, op);
  const PoolDesc d = make_desc(x.shape(), p);
  const Shape ys = pool_output_shape(x.shape(), p);
  CMT_CHECK(d.in_volume() < (std::int64_t{1} << 31), op << ": spatial volume too large for i32 indices");
  Tensor y = Tensor::empty(ys, x.dtype(), x.device());
  argmax = Tensor::empty(ys, DType::i32, x.device());
  std::int32_t* am = argmax.data<std::int32_t>();
  CMT_POOL_PASS(ctx, op, x, y, cuda::maxpool_forward(d, elems<T>(x), elems<T>(y), am, ctx.compute_stream()),
                cpu::maxpool_forward(d, src, dst, am));
  return y;
}

Tensor maxpool_backward(Context& ctx, const Tensor& dy, const Tensor& argmax, const Shape& x_shape, const PoolParams& p) {
  const char* op = "maxpool_backward";
  check_x_shape(x_shape, op);
  require_f32_or_bf16(ctx, dy, op, "dy");
  require_on(ctx, argmax, op, "argmax");
  require_dtype(argmax, DType::i32, op, "argmax");
  require_same_shape(dy, argmax, op, "dy", "argmax");
  CMT_CHECK(dy.rank() == 5 && dy.dim(0) == x_shape[0] && dy.dim(4) == x_shape[4],
            op << ": dy " << dy.describe() << " does not match x_shape " << x_shape.str());
  const PoolDesc d = make_desc(x_shape, p);
  CMT_CHECK(pool_output_shape(x_shape, p) == dy.shape(), op << ": dy " << dy.describe() << " is not the output of x_shape "
                                                             << x_shape.str() << " under the given window");
  Tensor dx = Tensor::empty(x_shape, dy.dtype(), dy.device());
  const std::int32_t* am = argmax.data<std::int32_t>();
  CMT_POOL_PASS(ctx, op, dy, dx,
                cuda::maxpool_backward(d, elems<T>(dy), am, elems<T>(dx), ctx.compute_stream()),
                cpu::maxpool_backward(d, src, am, dst));
  return dx;
}

Tensor avgpool_forward(Context& ctx, const Tensor& x, const PoolParams& p) {
  const char* op = "avgpool_forward";
  check_x(ctx, x, op);
  const PoolDesc d = make_desc(x.shape(), p);
  Tensor y = Tensor::empty(pool_output_shape(x.shape(), p), x.dtype(), x.device());
  CMT_POOL_PASS(ctx, op, x, y, cuda::avgpool_forward(d, elems<T>(x), elems<T>(y), ctx.compute_stream()),
                cpu::avgpool_forward(d, src, dst));
  return y;
}

Tensor avgpool_backward(Context& ctx, const Tensor& dy, const Shape& x_shape, const PoolParams& p) {
  const char* op = "avgpool_backward";
  check_x_shape(x_shape, op);
  require_f32_or_bf16(ctx, dy, op, "dy");
  CMT_CHECK(dy.shape() == pool_output_shape(x_shape, p),
            op << ": dy " << dy.describe() << " is not the pooled shape of x " << x_shape.str());
  const PoolDesc d = make_desc(x_shape, p);
  Tensor dx = Tensor::empty(x_shape, dy.dtype(), dy.device());
  CMT_POOL_PASS(ctx, op, dy, dx, cuda::avgpool_backward(d, elems<T>(dy), elems<T>(dx), ctx.compute_stream()),
                cpu::avgpool_backward(d, src, dst));
  return dx;
}

Tensor global_avgpool_forward(Context& ctx, const Tensor& x) {
  const char* op = "global_avgpool_forward";
  check_x(ctx, x, op);
  const std::int64_t n = x.dim(0), c = x.dim(4);
  const std::int64_t sp = x.numel() / (n * c);
  Tensor y = Tensor::empty(Shape{n, c}, x.dtype(), x.device());
  CMT_POOL_PASS(ctx, op, x, y,
                cuda::global_avgpool_forward(elems<T>(x), elems<T>(y), n, sp, c,
                                             ctx.workspace(cuda::global_avgpool_workspace_bytes(n, sp, c)), ctx.compute_stream()),
                cpu::global_avgpool_forward(src, dst, n, sp, c));
  return y;
}

Tensor global_avgpool_backward(Context& ctx, const Tensor& dy, const Shape& x_shape) {
  const char* op = "global_avgpool_backward";
  check_x_shape(x_shape, op);
  require_f32_or_bf16(ctx, dy, op, "dy");
  CMT_CHECK(dy.rank() == 2 && dy.dim(0) == x_shape[0] && dy.dim(1) == x_shape[4],
            op << ": dy must be (N,C) = (" << x_shape[0] << ", " << x_shape[4] << "), got " << dy.describe());
  const std::int64_t n = x_shape[0], c = x_shape[4];
  const std::int64_t sp = x_shape.numel() / (n * c);
  Tensor dx = Tensor::empty(x_shape, dy.dtype(), dy.device());
  CMT_POOL_PASS(ctx, op, dy, dx, cuda::global_avgpool_backward(elems<T>(dy), elems<T>(dx), n, sp, c, ctx.compute_stream()),
                cpu::global_avgpool_backward(src, dst, n, sp, c));
  return dx;
}

Tensor adaptive_avgpool_forward(Context& ctx, const Tensor& x, std::array<int, 3> out_dhw) {
  const char* op = "adaptive_avgpool_forward";
  check_x(ctx, x, op);
  for (int o : out_dhw) CMT_CHECK(o >= 1, op << ": output sizes must be positive, got " << o);
  const Shape ys{x.dim(0), out_dhw[0], out_dhw[1], out_dhw[2], x.dim(4)};
  const PoolDesc d = make_desc(x.shape(), ys);
  Tensor y = Tensor::empty(ys, x.dtype(), x.device());
  CMT_POOL_PASS(ctx, op, x, y, cuda::adaptive_avgpool_forward(d, elems<T>(x), elems<T>(y), ctx.compute_stream()),
                cpu::adaptive_avgpool_forward(d, src, dst));
  return y;
}

Tensor adaptive_avgpool_backward(Context& ctx, const Tensor& dy, const Shape& x_shape) {
  const char* op = "adaptive_avgpool_backward";
  check_x_shape(x_shape, op);
  require_f32_or_bf16(ctx, dy, op, "dy");
  CMT_CHECK(dy.rank() == 5 && dy.dim(0) == x_shape[0] && dy.dim(4) == x_shape[4],
            op << ": dy " << dy.describe() << " does not match x_shape " << x_shape.str());
  const PoolDesc d = make_desc(x_shape, dy.shape());
  Tensor dx = Tensor::empty(x_shape, dy.dtype(), dy.device());
  CMT_POOL_PASS(ctx, op, dy, dx, cuda::adaptive_avgpool_backward(d, elems<T>(dy), elems<T>(dx), ctx.compute_stream()),
                cpu::adaptive_avgpool_backward(d, src, dst));
  return dx;
}

}  // namespace cmt::ops
