// Fully connected layer: validation and dispatch (OpenBLAS on the CPU, cuBLASLt/cuBLAS on CUDA).
#include "engine/ops/linear.h"

#include "engine/ops/validate.h"
#include "kernels/cpu/linear.h"
#if defined(CMT_WITH_CUDA)
#include "kernels/cuda/linear.h"
#endif

namespace cmt::ops {

using namespace detail;

namespace {

void check_xw(const Context& ctx, const Tensor& x, const Tensor& w, const char* op) {
  require_f32(ctx, x, op, "x");
  require_f32(ctx, w, op, "w");
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
  if (bias.defined()) require_vector(ctx, bias, out, op, "bias");
  const float* b = bias.defined() ? bias.data<float>() : nullptr;
  Tensor y = Tensor::empty(Shape{n, out}, DType::f32, x.device());
  CMT_DISPATCH(ctx, op,
               {
                 const std::size_t ws_bytes = cuda::linear_workspace_bytes(n, out);
                 cuda::linear_forward(ctx.cublaslt(), x.data<float>(), w.data<float>(), b, y.data<float>(), n, in, out,
                                      ctx.precision.tensor_cores(), ctx.workspace(ws_bytes), ws_bytes,
                                      ctx.compute_stream());
               },
               cpu::linear_forward(x.data<float>(), w.data<float>(), b, y.data<float>(), n, in, out));
  return y;
}

LinearGrads linear_backward(Context& ctx, const Tensor& dy, const Tensor& x, const Tensor& w, bool has_bias) {
  const char* op = "linear_backward";
  check_xw(ctx, x, w, op);
  require_f32(ctx, dy, op, "dy");
  const std::int64_t n = x.dim(0), in = x.dim(1), out = w.dim(0);
  CMT_CHECK(dy.rank() == 2 && dy.dim(0) == n && dy.dim(1) == out,
            op << ": dy must be (" << n << ", " << out << "), got " << dy.describe());
  LinearGrads g{Tensor::empty(x.shape(), DType::f32, x.device()), Tensor::empty(w.shape(), DType::f32, x.device()), {}};
  if (has_bias) g.db = Tensor::empty(Shape{out}, DType::f32, x.device());
  float* db = has_bias ? g.db.data<float>() : nullptr;
  CMT_DISPATCH(ctx, op,
               cuda::linear_backward(ctx.cublas(), dy.data<float>(), x.data<float>(), w.data<float>(),
                                     g.dx.data<float>(), g.dw.data<float>(), db, n, in, out,
                                     ctx.precision.tensor_cores(), ctx.workspace(cuda::linear_workspace_bytes(n, out)),
                                     ctx.compute_stream()),
               cpu::linear_backward(dy.data<float>(), x.data<float>(), w.data<float>(), g.dx.data<float>(),
                                    g.dw.data<float>(), db, n, in, out));
  return g;
}

Tensor flatten(const Tensor& x) {
  CMT_CHECK(x.defined() && x.rank() >= 1, "flatten: needs a defined tensor of rank >= 1, got " << x.describe());
  const std::int64_t n = x.dim(0);
  return x.view(Shape{n, n == 0 ? 0 : x.numel() / n});
}

}  // namespace cmt::ops
