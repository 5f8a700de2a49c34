// Synchronised batch norm, all on the device: each rank's (count, mean, M2) row -> all-gather ->
// merged in double on every rank in rank order (Chan's parallel formula, the same values everywhere)
// -> normalisation by the eval op with the global statistics. Backward corrects the per-rank dx with
// the all-reduced sums. No value comes back to the host, so no step waits for the device here.
#include "engine/ops/batchnorm_sync.h"

#include "engine/ops/basic.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/validate.h"
#include "kernels/batchnorm.h"

namespace cmt::ops {

using namespace detail;

namespace {

template <typename T>
void moments_as(Context& ctx, const Tensor& x, std::int64_t m, std::int64_t c, Tensor& row, const char* op) {
  CMT_DISPATCH(ctx, op,
               cuda::batchnorm_moments(elems<T>(x), m, c, row.data<float>(), ctx.workspace(cuda::batchnorm_workspace_bytes(m, c)),
                                       ctx.compute_stream()),
               cpu::batchnorm_moments(elems<T>(x), m, c, row.data<float>()));
}

}  // namespace

Tensor batchnorm_sync_forward_train(Context& ctx, Communicator& comm, const Tensor& x, const Tensor& gamma,
                                    const Tensor& beta, Tensor& running_mean, Tensor& running_var, float momentum,
                                    float eps, SyncBatchNormSaved& saved) {
  const char* op = "batchnorm_sync_forward_train";
  require_f32_or_bf16(ctx, x, op, "x");
  require_rank(x, 5, op, "x");
  CMT_CHECK(x.numel() > 0, op << ": 'x' is empty " << x.describe());
  const std::int64_t c = x.dim(4), m = x.numel() / c;
  for (auto [t, name] : {std::pair<const Tensor*, const char*>{&gamma, "gamma"}, {&beta, "beta"}, {&running_mean, "running_mean"},
                         {&running_var, "running_var"}})
    require_vector(ctx, *t, c, op, name);
  // Every rank holds at least one value per channel, so 2+ ranks always have more than one in all.
  CMT_CHECK(m > 1 || comm.size() > 1, op << ": one value per channel over all ranks (" << x.describe() << ")");
  CMT_CHECK(eps > 0 && momentum >= 0 && momentum <= 1, op << ": bad eps " << eps << " or momentum " << momentum);
  Tensor row = Tensor::empty(Shape{1, 2 + 2 * c}, DType::f32, x.device());
  if (x.dtype() == DType::bf16) moments_as<std::uint16_t>(ctx, x, m, c, row, op);
  else moments_as<float>(ctx, x, m, c, row, op);
  const Tensor rows = comm.all_gather_rows(ctx, row);
  CMT_CHECK(rows.device() == x.device() && rows.rank() == 2 && rows.dim(1) == 2 + 2 * c,
            op << ": the communicator returned " << rows.describe() << " for " << row.describe());
  saved.global.mean = Tensor::empty(Shape{c}, DType::f32, x.device());
  saved.global.invstd = Tensor::empty(Shape{c}, DType::f32, x.device());
  saved.var = Tensor::empty(Shape{c}, DType::f32, x.device());
  saved.count = Tensor::empty(Shape{1}, DType::f32, x.device());
  saved.m_local = m;
  float *rm = running_mean.data<float>(), *rv = running_var.data<float>(), *mean = saved.global.mean.data<float>(),
        *var = saved.var.data<float>(), *inv = saved.global.invstd.data<float>(), *count = saved.count.data<float>();
  CMT_DISPATCH(ctx, op,
               cuda::batchnorm_merge_moments(rows.data<float>(), rows.dim(0), c, momentum, eps, rm, rv, mean, var, inv, count,
                                             ctx.compute_stream()),
               cpu::batchnorm_merge_moments(rows.data<float>(), rows.dim(0), c, momentum, eps, rm, rv, mean, var, inv, count));
  return batchnorm_forward_eval(ctx, x, gamma, beta, saved.global.mean, saved.var, eps);
}

BatchNormGrads batchnorm_sync_backward(Context& ctx, Communicator& comm, const Tensor& dy, const Tensor& x,
                                       const Tensor& gamma, const SyncBatchNormSaved& saved, float eps) {
  const char* op = "batchnorm_sync_backward";
  CMT_CHECK(saved.count.defined() && saved.var.defined(), op << ": no saved statistics (call the training forward first)");
  require_on(ctx, saved.count, op, "saved.count");
  // Per-rank op with the global mean/invstd: dgamma_l = sum dy*xhat, dbeta_l = sum dy (local sums) and
  // dx_l = gamma*invstd*(dy - (dbeta_l + xhat*dgamma_l)/m_l). The global dx has the all-reduced sums over
  // m_g instead: dx = dx_l + xhat*a + b with a = gamma*invstd*(dgamma_l/m_l - dgamma_g/m_g), likewise b.
  BatchNormGrads g = batchnorm_backward(ctx, dy, x, gamma, saved.global);
  const std::int64_t c = gamma.numel();
  Tensor sums = Tensor::empty(Shape{2 * c}, DType::f32, x.device());  // one collective for both
  Tensor sums_gamma = sums.narrow(0, c), sums_beta = sums.narrow(c, c);
  copy(ctx, g.dgamma, sums_gamma);
  copy(ctx, g.dbeta, sums_beta);
  comm.all_reduce_sum(ctx, sums);
  Tensor ab = Tensor::empty(Shape{2 * c}, DType::f32, x.device());
  const Tensor a = ab.narrow(0, c), b = ab.narrow(c, c);
  CMT_DISPATCH(ctx, op,
               cuda::batchnorm_sync_coefficients(g.dgamma.data<float>(), g.dbeta.data<float>(), sums.data<float>(), c, saved.m_local,
                                                 saved.count.data<float>(), gamma.data<float>(), saved.global.invstd.data<float>(),
                                                 a.data<float>(), b.data<float>(), ctx.compute_stream()),
               cpu::batchnorm_sync_coefficients(g.dgamma.data<float>(), g.dbeta.data<float>(), sums.data<float>(), c, saved.m_local,
                                                saved.count.data<float>(), gamma.data<float>(), saved.global.invstd.data<float>(),
                                                a.data<float>(), b.data<float>()));
  // xhat*a + b is the eval op with gamma = a, beta = b and the global statistics.
  const Tensor correction = batchnorm_forward_eval(ctx, x, a, b, saved.global.mean, saved.var, eps);
  add_(ctx, g.dx, correction);
  return g;
}

}  // namespace cmt::ops
