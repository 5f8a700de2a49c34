// The NT-Xent op family: validation and dispatch to kernels/cpu/ntxent or kernels/cuda/ntxent.
#include "engine/ops/ntxent.h"

#include <cmath>

#include "engine/ops/basic.h"
#include "engine/ops/validate.h"
#include "kernels/common/check.h"
#include "kernels/ntxent.h"

namespace cmt::ops {

using namespace detail;

namespace {

// Checks the arguments of every NT-Xent entry point and returns the problem description.
NtXentDesc describe(const Context& ctx, const Tensor& local, const Tensor& all, std::int64_t row_offset, float tau,
                    const char* op) {
  for (const auto& [t, name] : {std::pair<const Tensor&, const char*>{local, "local"}, {all, "all"}}) {
    require_f32(ctx, t, op, name);
    CMT_CHECK(t.rank() == 2, op << ": '" << name << "' must be (rows, d), got " << t.describe());
  }
  CMT_CHECK(local.dim(1) == all.dim(1),
            op << ": local and all must have the same d, got " << local.describe() << " and " << all.describe());
  CMT_CHECK(all.dim(1) > 0, op << ": d must be positive, got " << all.describe());
  CMT_CHECK(all.dim(0) >= 2 && all.dim(0) % 2 == 0,
            op << ": the number of rows must be even and >= 2 (pairs of views), got " << all.describe());
  CMT_CHECK(local.dim(0) >= 1, op << ": no local rows, got " << local.describe());
  CMT_CHECK(row_offset >= 0 && row_offset + local.dim(0) <= all.dim(0),
            op << ": local rows [" << row_offset << ", " << row_offset + local.dim(0) << ") exceed the "
               << all.dim(0) << " gathered rows");
  CMT_CHECK(std::isfinite(tau) && tau > 0, op << ": tau must be positive and finite, got " << tau);
  NtXentDesc d;
  d.rows_local = local.dim(0);
  d.rows_total = all.dim(0);
  d.row_offset = row_offset;
  d.dim = all.dim(1);
  d.tau = tau;
  return d;
}

}  // namespace

NtXentResult ntxent_forward_partial(Context& ctx, const Tensor& local, const Tensor& all, std::int64_t row_offset,
                                    float tau) {
  const NtXentDesc d = describe(ctx, local, all, row_offset, tau, "ntxent_forward");
  NtXentResult res;
  res.loss = Tensor::empty(Shape{1}, DType::f32, local.device());
  res.row_loss = Tensor::empty(Shape{d.rows_local}, DType::f32, local.device());
  res.pos_sim = Tensor::empty(Shape{d.rows_local}, DType::f32, local.device());
  CMT_DISPATCH(ctx, "ntxent_forward",
               {
                 void* ws = ctx.workspace(cuda::ntxent_forward_workspace_bytes(d));
                 cuda::ntxent_forward(d, local.data<float>(), all.data<float>(), res.row_loss.data<float>(),
                                      res.pos_sim.data<float>(), res.loss.data<float>(), ws, ctx.compute_stream());
               },
               {
                 const double total = cpu::ntxent_forward(d, local.data<float>(), all.data<float>(),
                                                          res.row_loss.data<float>(), res.pos_sim.data<float>());
                 res.loss.data<float>()[0] = static_cast<float>(total / static_cast<double>(d.rows_total));
               });
  return res;
}

namespace {

// The multi-rank backward; with `result` it also fills the forward's results from the same pass.
NtXentPartialGrads backward_partial(Context& ctx, const Tensor& local, const Tensor& all, std::int64_t row_offset,
                                    float tau, float dloss, NtXentResult* result, const char* op) {
  const NtXentDesc d = describe(ctx, local, all, row_offset, tau, op);
  CMT_CHECK(std::isfinite(dloss), op << ": dloss must be finite, got " << dloss);
  NtXentPartialGrads g;
  g.d_local = Tensor::empty(local.shape(), DType::f32, local.device());
  g.d_all = Tensor::empty(all.shape(), DType::f32, all.device());
  float* row_loss = nullptr;
  float* pos_sim = nullptr;
  if (result != nullptr) {
    result->loss = Tensor::empty(Shape{1}, DType::f32, local.device());
    result->row_loss = Tensor::empty(Shape{d.rows_local}, DType::f32, local.device());
    result->pos_sim = Tensor::empty(Shape{d.rows_local}, DType::f32, local.device());
    row_loss = result->row_loss.data<float>();
    pos_sim = result->pos_sim.data<float>();
  }
  CMT_DISPATCH(ctx, op,
               {
                 void* ws = ctx.workspace(cuda::ntxent_backward_workspace_bytes(d));
                 cuda::ntxent_backward(d, local.data<float>(), all.data<float>(), dloss, g.d_local.data<float>(),
                                       g.d_all.data<float>(), ws, ctx.cublas(), ctx.precision.tensor_cores(),
                                       ctx.compute_stream(), 0, row_loss, pos_sim);
                 if (result != nullptr)
                   cuda::ntxent_loss_sum(row_loss, d.rows_local, d.rows_total, result->loss.data<float>(),
                                         ctx.compute_stream());
               },
               {
                 const double total = cpu::ntxent_backward(d, local.data<float>(), all.data<float>(), dloss,
                                                           g.d_local.data<float>(), g.d_all.data<float>(), row_loss,
                                                           pos_sim);
                 if (result != nullptr)
                   result->loss.data<float>()[0] = static_cast<float>(total / static_cast<double>(d.rows_total));
               });
  return g;
}

}  // namespace

NtXentPartialGrads ntxent_backward_partial(Context& ctx, const Tensor& local, const Tensor& all,
                                           std::int64_t row_offset, float tau, float dloss) {
  return backward_partial(ctx, local, all, row_offset, tau, dloss, nullptr, "ntxent_backward");
}

NtXentPartialStep ntxent_forward_backward_partial(Context& ctx, const Tensor& local, const Tensor& all,
                                                  std::int64_t row_offset, float tau, float dloss) {
  NtXentPartialStep step;
  step.grads = backward_partial(ctx, local, all, row_offset, tau, dloss, &step.result, "ntxent_forward_backward");
  return step;
}

NtXentResult ntxent_forward(Context& ctx, const Tensor& r, float tau) {
  return ntxent_forward_partial(ctx, r, r, 0, tau);
}

NtXentStep ntxent_forward_backward(Context& ctx, const Tensor& r, float tau, float dloss) {
  [[maybe_unused]] const NtXentDesc d = describe(ctx, r, r, 0, tau, "ntxent_forward_backward");
  CMT_CHECK(std::isfinite(dloss), "ntxent_forward_backward: dloss must be finite, got " << dloss);
#if defined(CMT_WITH_CUDA)
  if (r.is_cuda() && cuda::ntxent_small_supported(d)) {
    NtXentStep step;
    step.result.loss = Tensor::empty(Shape{1}, DType::f32, r.device());
    step.result.row_loss = Tensor::empty(Shape{d.rows_local}, DType::f32, r.device());
    step.result.pos_sim = Tensor::empty(Shape{d.rows_local}, DType::f32, r.device());
    step.dr = Tensor::empty(r.shape(), DType::f32, r.device());
    void* ws = ctx.workspace(cuda::ntxent_small_workspace_bytes(d));
    cuda::ntxent_small(d, r.data<float>(), dloss, step.result.row_loss.data<float>(), step.result.pos_sim.data<float>(),
                       step.result.loss.data<float>(), step.dr.data<float>(), ws, ctx.compute_stream());
    ctx.debug_check("ntxent_forward_backward");
    return step;
  }
#endif
  // One rank owns every row: the query part and the key part land on the same rows.
  NtXentPartialStep p = ntxent_forward_backward_partial(ctx, r, r, 0, tau, dloss);
  axpy(ctx, 1.f, p.grads.d_local, p.grads.d_all);
  return {p.result, p.grads.d_all};
}

Tensor ntxent_backward(Context& ctx, const Tensor& r, float tau, float dloss) {
  // Small batches on CUDA: the two-launch fused path (its forward results are a by-product).
  if (r.is_cuda()) {
#if defined(CMT_WITH_CUDA)
    const NtXentDesc d = describe(ctx, r, r, 0, tau, "ntxent_backward");
    if (cuda::ntxent_small_supported(d)) return ntxent_forward_backward(ctx, r, tau, dloss).dr;
#endif
  }
  // One rank owns every row: both parts land on the same rows.
  NtXentPartialGrads g = ntxent_backward_partial(ctx, r, r, 0, tau, dloss);
  axpy(ctx, 1.f, g.d_local, g.d_all);
  return g.d_all;
}

}  // namespace cmt::ops
