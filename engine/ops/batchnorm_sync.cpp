// Synchronised batch norm from the per-rank ops: local statistics -> all-gather -> combined in double
// on every rank in the same order (Chan's parallel variance), normalisation by the eval op with the
// global statistics; backward corrects the per-rank dx with the all-reduced sums.
#include "engine/ops/batchnorm_sync.h"

#include <cmath>
#include <vector>

#include "engine/ops/basic.h"
#include "engine/ops/elementwise.h"

namespace cmt::ops {

namespace {
Tensor host_vector(const std::vector<float>& v, Device device) {
  Tensor t = Tensor::from_vector(v, Shape{static_cast<std::int64_t>(v.size())});
  return device.is_cpu() ? t : t.to(device);
}
}  // namespace

Tensor batchnorm_sync_forward_train(Context& ctx, Communicator& comm, const Tensor& x, const Tensor& gamma,
                                    const Tensor& beta, Tensor& running_mean, Tensor& running_var, float momentum,
                                    float eps, SyncBatchNormSaved& saved) {
  CMT_CHECK(x.rank() == 5, "batchnorm_sync_forward_train: x must be (N,D,H,W,C), got " << x.describe());
  const std::int64_t c = x.dim(4);
  const std::int64_t m = x.numel() / c;
  // Local statistics from the per-rank op (on scratch running stats: the real ones get global values).
  Tensor scratch_mean = Tensor::empty(Shape{c}, DType::f32, x.device()), scratch_var = Tensor::empty(Shape{c}, DType::f32, x.device());
  ops::fill(ctx, scratch_mean, 0.0);
  ops::fill(ctx, scratch_var, 1.0);
  BatchNormSaved local;
  (void)batchnorm_forward_train(ctx, x, gamma, beta, scratch_mean, scratch_var, 0.f, eps, local);
  const std::vector<float> lmean = local.mean.to_vector<float>(), linv = local.invstd.to_vector<float>();
  // One row per rank: [m, mean(C), biased var(C)].
  std::vector<float> row(static_cast<std::size_t>(1 + 2 * c));
  row[0] = static_cast<float>(m);
  for (std::int64_t k = 0; k < c; ++k) {
    row[static_cast<std::size_t>(1 + k)] = lmean[static_cast<std::size_t>(k)];
    const double inv = linv[static_cast<std::size_t>(k)];
    row[static_cast<std::size_t>(1 + c + k)] = static_cast<float>(std::max(0.0, 1.0 / (inv * inv) - eps));
  }
  const Tensor rows = comm.all_gather_rows(ctx, Tensor::from_vector(row, Shape{1, 1 + 2 * c})).to(Device::cpu());
  const float* g = rows.data<float>();
  std::vector<double> mean(static_cast<std::size_t>(c), 0.0), m2(static_cast<std::size_t>(c), 0.0);
  double total = 0;
  for (std::int64_t r = 0; r < rows.dim(0); ++r) {
    const float* q = g + r * (1 + 2 * c);
    const double n = q[0];
    for (std::int64_t k = 0; k < c; ++k) {
      const double delta = q[1 + k] - mean[static_cast<std::size_t>(k)];
      mean[static_cast<std::size_t>(k)] += delta * n / (total + n);
      m2[static_cast<std::size_t>(k)] += q[1 + c + k] * n + delta * delta * total * n / (total + n);
    }
    total += n;
  }
  CMT_CHECK(total > 1, "batchnorm_sync_forward_train: one value per channel over all ranks (" << x.describe() << ")");
  std::vector<float> gmean(static_cast<std::size_t>(c)), gvar(static_cast<std::size_t>(c)), ginv(static_cast<std::size_t>(c));
  std::vector<float> rmean = running_mean.to_vector<float>(), rvar = running_var.to_vector<float>();
  for (std::size_t k = 0; k < gmean.size(); ++k) {
    const double var = m2[k] / total;
    gmean[k] = static_cast<float>(mean[k]);
    gvar[k] = static_cast<float>(var);
    ginv[k] = static_cast<float>(1.0 / std::sqrt(var + eps));
    rmean[k] = static_cast<float>((1.0 - momentum) * rmean[k] + momentum * mean[k]);
    rvar[k] = static_cast<float>((1.0 - momentum) * rvar[k] + momentum * var * total / (total - 1));
  }
  ops::copy(ctx, Tensor::from_vector(rmean, running_mean.shape()), running_mean);
  ops::copy(ctx, Tensor::from_vector(rvar, running_var.shape()), running_var);
  saved.global.mean = host_vector(gmean, x.device());
  saved.global.invstd = host_vector(ginv, x.device());
  saved.var = host_vector(gvar, x.device());
  saved.m_local = m;
  saved.m_global = static_cast<std::int64_t>(total);
  return batchnorm_forward_eval(ctx, x, gamma, beta, saved.global.mean, saved.var, eps);
}

BatchNormGrads batchnorm_sync_backward(Context& ctx, Communicator& comm, const Tensor& dy, const Tensor& x,
                                       const Tensor& gamma, const SyncBatchNormSaved& saved, float eps) {
  // Per-rank op with the global mean/invstd: dgamma_l = sum dy*xhat, dbeta_l = sum dy (local sums) and
  // dx_l = gamma*invstd*(dy - (dbeta_l + xhat*dgamma_l)/m_l). The global dx has the all-reduced sums over
  // m_g instead: dx = dx_l + xhat*a + b with a = gamma*invstd*(dgamma_l/m_l - dgamma_g/m_g), likewise b.
  BatchNormGrads g = batchnorm_backward(ctx, dy, x, gamma, saved.global);
  const std::int64_t c = gamma.numel();
  std::vector<float> local = g.dgamma.to_vector<float>();
  const std::vector<float> dbeta = g.dbeta.to_vector<float>();
  local.insert(local.end(), dbeta.begin(), dbeta.end());
  Tensor sums = Tensor::from_vector(local, Shape{2 * c});
  comm.all_reduce_sum(ctx, sums);
  const float* s = sums.data<float>();
  const std::vector<float> gam = gamma.to_vector<float>(), inv = saved.global.invstd.to_vector<float>();
  std::vector<float> a(static_cast<std::size_t>(c)), b(static_cast<std::size_t>(c));
  const double ml = static_cast<double>(saved.m_local), mg = static_cast<double>(saved.m_global);
  for (std::int64_t k = 0; k < c; ++k) {
    const std::size_t u = static_cast<std::size_t>(k);
    const double scale = static_cast<double>(gam[u]) * inv[u];
    a[u] = static_cast<float>(scale * (local[u] / ml - s[k] / mg));
    b[u] = static_cast<float>(scale * (local[u + static_cast<std::size_t>(c)] / ml - s[c + k] / mg));
  }
  // xhat*a + b is the eval op with gamma = a, beta = b and the global statistics.
  const Tensor correction = batchnorm_forward_eval(ctx, x, host_vector(a, x.device()), host_vector(b, x.device()), saved.global.mean, saved.var, eps);
  add_(ctx, g.dx, correction);
  return g;
}

}  // namespace cmt::ops
