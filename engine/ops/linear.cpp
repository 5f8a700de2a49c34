// Fully connected layer: validation and dispatch (OpenBLAS on the CPU, cuBLASLt/cuBLAS on CUDA).
#include "engine/ops/linear.h"

#include "engine/ops/cpu_widen.h"
#include "engine/ops/validate.h"
#include "kernels/linear.h"

namespace cmt::ops {

using namespace detail;

namespace {

void check_xw(const Context& ctx, const Tensor& x, const Tensor& w, const char* op) {
  require_f32_or_bf16(ctx, x, op, "x");
  require_f32_or_bf16(ctx, w, op, "w");
  require_same_dtype(x, w, op, "x", "w");
  require_rank(x, 2, op, "x");
  require_rank(w, 2, op, "w");
  CMT_CHECK(x.dim(1) == w.dim(1), op << ": x " << x.describe() << " has " << x.dim(1) << " features but w "
                                     << w.describe() << " expects " << w.dim(1));
  CMT_CHECK(x.numel() > 0 && w.numel() > 0, op << ": empty operand x " << x.describe() << ", w " << w.describe());
}

}  // namespace

Tensor linear_forward(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& bias) {
  const char* op = "linear_forward";
  check_xw(ctx, x, w, op);
  const std::int64_t n = x.dim(0), in = x.dim(1), out = w.dim(0);
  if (bias.defined()) {
    require_f32_or_bf16(ctx, bias, op, "bias");
    require_same_dtype(x, bias, op, "x", "bias");
    CMT_CHECK(bias.rank() == 1 && bias.dim(0) == out, op << ": 'bias' must be " << dtype_name(x.dtype()) << "[" << out << "], got " << bias.describe());
  }
  Tensor y = Tensor::empty(Shape{n, out}, x.dtype(), x.device());
  CMT_DISPATCH(ctx, op,
               {
                 const std::size_t ws_bytes = cuda::linear_workspace_bytes(n, out);
                 cuda::linear_forward(ctx.cublaslt(), x.dtype() == DType::bf16, x.raw(), w.raw(), bias.defined() ? bias.raw() : nullptr,
                                      y.raw(), n, in, out, ctx.precision.tensor_cores(), ctx.workspace(ws_bytes), ws_bytes,
                                      ctx.compute_stream());
               },
               {
                 const Tensor xf = widen(x);
                 const Tensor wf = widen(w);
                 const Tensor bf = widen(bias);
                 cpu_into(y, [&](float* yp) {
                   cpu::linear_forward(xf.data<float>(), wf.data<float>(), bf.defined() ? bf.data<float>() : nullptr, yp, n, in, out);
                 });
               });
  return y;
}

LinearGrads linear_backward(Context& ctx, const Tensor& dy, const Tensor& x, const Tensor& w, bool has_bias) {
  const char* op = "linear_backward";
  check_xw(ctx, x, w, op);
  require_f32_or_bf16(ctx, dy, op, "dy");
  require_same_dtype(dy, x, op, "dy", "x");
  const std::int64_t n = x.dim(0), in = x.dim(1), out = w.dim(0);
  CMT_CHECK(dy.rank() == 2 && dy.dim(0) == n && dy.dim(1) == out,
            op << ": dy must be (" << n << ", " << out << "), got " << dy.describe());
  const DType t = x.dtype();
  LinearGrads g{Tensor::empty(x.shape(), t, x.device()), Tensor::empty(w.shape(), t, x.device()), {}};
  if (has_bias) g.db = Tensor::empty(Shape{out}, t, x.device());
  CMT_DISPATCH(ctx, op,
               cuda::linear_backward(ctx.cublas(), t == DType::bf16, dy.raw(), x.raw(), w.raw(), g.dx.raw(), g.dw.raw(),
                                     has_bias ? g.db.raw() : nullptr, n, in, out, ctx.precision.tensor_cores(),
                                     ctx.workspace(cuda::linear_workspace_bytes(n, out)), ctx.compute_stream()),
               {
                 const Tensor dyf = widen(dy);
                 const Tensor xf = widen(x);
                 const Tensor wf = widen(w);
                 const auto run = [&](float* dx, float* dw, float* db) {
                   cpu::linear_backward(dyf.data<float>(), xf.data<float>(), wf.data<float>(), dx, dw, db, n, in, out);
                 };
                 cpu_into(g.dx, [&](float* dx) {
                   cpu_into(g.dw, [&](float* dw) {
                     if (has_bias) cpu_into(g.db, [&](float* db) { run(dx, dw, db); });
                     else run(dx, dw, nullptr);
                   });
                 });
               });
  return g;
}

Tensor flatten(const Tensor& x) {
  CMT_CHECK(x.defined() && x.rank() >= 1, "flatten: needs a defined tensor of rank >= 1, got " << x.describe());
  const std::int64_t n = x.dim(0);
  return x.view(Shape{n, n == 0 ? 0 : x.numel() / n});
}

}  // namespace cmt::ops
