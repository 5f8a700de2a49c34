// Batch normalisation on a (M, C) view of N,D,H,W,C data (M = N*D*H*W). T is the data's element type:
// float, or std::uint16_t for bf16 (statistics and math in float/double, outputs rounded once);
// parameters and statistics are always f32.
// cmt::cpu holds the CPU reference, cmt::cuda the CUDA launchers with the same contract. The CUDA part
// needs no CUDA headers (kernels/common/stream.h forward-declares the handle types) and is declared
// only in CUDA builds, the only ones that define it.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "kernels/activation.h"
#include "kernels/common/macros.h"

namespace cmt {

// One channel of Chan's merge of `ranks` moments rows (layout below, batchnorm_moments) in row order, in
// double, and what it yields: mean, biased var, invstd, the running stats' update. One definition for the
// CPU reference and the CUDA kernel, so every rank and backend merges in the same order.
CMT_HD void batchnorm_merge_channel(const float* rows, std::int64_t ranks, std::int64_t c, std::int64_t col, float momentum,
                                    float eps, float* running_mean, float* running_var, float* mean_out, float* var_out,
                                    float* invstd, double* count) {
  const std::int64_t w = 2 + 2 * c;
  double na = 0, mean = 0, m2 = 0;
  for (std::int64_t r = 0; r < ranks; ++r) {
    const float* q = rows + r * w;
    const double nb = static_cast<double>(q[0]) + static_cast<double>(q[1]);
    if (nb == 0) continue;
    const double n = na + nb, delta = q[2 + col] - mean;
    mean += delta * (nb / n);
    m2 += q[2 + c + col] + delta * delta * (na * nb / n);
    na = n;
  }
  const double var = m2 / na;
  mean_out[col] = static_cast<float>(mean);
  var_out[col] = static_cast<float>(var);
  invstd[col] = static_cast<float>(1.0 / sqrt(var + eps));
  running_mean[col] = static_cast<float>((1.0 - momentum) * running_mean[col] + momentum * mean);
  running_var[col] = static_cast<float>((1.0 - momentum) * running_var[col] + momentum * m2 / (na - 1));
  *count = na;
}

}  // namespace cmt

// CPU reference.
namespace cmt::cpu {

// Two-pass batch statistics in double: mean[C] and invstd[C] = 1/sqrt(biased var + eps); updates the running
// stats in place with the unbiased variance (m > 1).
template <typename T>
void batchnorm_train_stats(const T* x, std::int64_t m, std::int64_t c, float momentum, float eps,
                           float* running_mean, float* running_var, float* mean, float* invstd);
// y = (x - mean) * invstd * gamma + beta, per channel.
template <typename T>
void batchnorm_apply(const T* x, std::int64_t m, std::int64_t c, const float* mean, const float* invstd,
                     const float* gamma, const float* beta, T* y);
// Eval: the same with mean = running_mean and invstd = 1/sqrt(running_var + eps).
template <typename T>
void batchnorm_eval(const T* x, std::int64_t m, std::int64_t c, const float* running_mean,
                    const float* running_var, float eps, const float* gamma, const float* beta, T* y);
// dbeta = sum dy; dgamma = sum dy*xhat; dx = gamma*invstd/M * (M*dy - dbeta - xhat*dgamma).
template <typename T>
void batchnorm_backward(const T* dy, const T* x, std::int64_t m, std::int64_t c, const float* mean,
                        const float* invstd, const float* gamma, T* dx, float* dgamma, float* dbeta);

// Batch norm followed by an activation in one pass (the graph's BN -> ReLU/SiLU pairs): the same bits
// as batchnorm_apply/eval, the output stored as T, then activation_forward. The backward recomputes
// the normalised value z from x (the activation keeps nothing) and equals activation_backward at z
// followed by batchnorm_backward; dx may be dy's buffer.
template <typename T>
void batchnorm_apply_act(Act act, const T* x, std::int64_t m, std::int64_t c, const float* mean, const float* invstd,
                         const float* gamma, const float* beta, T* y);
template <typename T>
void batchnorm_eval_act(Act act, const T* x, std::int64_t m, std::int64_t c, const float* running_mean,
                        const float* running_var, float eps, const float* gamma, const float* beta, T* y);
template <typename T>
void batchnorm_backward_act(Act act, const T* dy, const T* x, std::int64_t m, std::int64_t c, const float* mean,
                            const float* invstd, const float* gamma, const float* beta, T* dx, float* dgamma, float* dbeta);

// Synchronised batch norm (engine/ops/batchnorm_sync.cpp). A rank's moments row [2 + 2C]: its count m as two
// floats that add up to m exactly (m - m mod 2^24, m mod 2^24), mean[C], M2[C] = sum (x - mean)^2.
template <typename T>
void batchnorm_moments(const T* x, std::int64_t m, std::int64_t c, float* row);
// Chan's merge of `ranks` moments rows in row order, in double (no E[x^2] - E[x]^2 cancellation): mean, biased
// var, invstd = 1/sqrt(var + eps), running stats as in batchnorm_train_stats, count[0] = the total (must be > 1).
void batchnorm_merge_moments(const float* rows, std::int64_t ranks, std::int64_t c, float momentum, float eps,
                             float* running_mean, float* running_var, float* mean, float* var, float* invstd,
                             float* count);
// Backward with global statistics from the per-rank sums (dgamma, dbeta over m_local rows) and their sums over
// every rank (sums_all = [dgamma(C), dbeta(C)] over count[0] rows): dx = dx_local + xhat*a + b with
// a = gamma*invstd*(dgamma/m_local - dgamma_all/count), b likewise with dbeta.
void batchnorm_sync_coefficients(const float* dgamma, const float* dbeta, const float* sums_all, std::int64_t c,
                                 std::int64_t m_local, const float* count, const float* gamma, const float* invstd,
                                 float* a, float* b);

}  // namespace cmt::cpu

#if defined(CMT_WITH_CUDA)
#include "kernels/common/stream.h"

// CUDA launchers.
namespace cmt::cuda {

// Scratch for the per-chunk partial sums of the column reductions.
std::size_t batchnorm_workspace_bytes(std::int64_t m, std::int64_t c);
template <typename T>
void batchnorm_train_stats(const T* x, std::int64_t m, std::int64_t c, float momentum, float eps,
                           float* running_mean, float* running_var, float* mean, float* invstd, void* workspace,
                           cudaStream_t stream);
template <typename T>
void batchnorm_apply(const T* x, std::int64_t m, std::int64_t c, const float* mean, const float* invstd,
                     const float* gamma, const float* beta, T* y, cudaStream_t stream);
template <typename T>
void batchnorm_eval(const T* x, std::int64_t m, std::int64_t c, const float* running_mean,
                    const float* running_var, float eps, const float* gamma, const float* beta, T* y,
                    cudaStream_t stream);
template <typename T>
void batchnorm_backward(const T* dy, const T* x, std::int64_t m, std::int64_t c, const float* mean,
                        const float* invstd, const float* gamma, T* dx, float* dgamma, float* dbeta,
                        void* workspace, cudaStream_t stream);

// Synchronised batch norm: the moments row, its merge over ranks and the backward coefficients (contract and
// layout as on the CPU above). The moments use batchnorm_workspace_bytes(m, c) of workspace.
template <typename T>
void batchnorm_moments(const T* x, std::int64_t m, std::int64_t c, float* row, void* workspace, cudaStream_t stream);
void batchnorm_merge_moments(const float* rows, std::int64_t ranks, std::int64_t c, float momentum, float eps,
                             float* running_mean, float* running_var, float* mean, float* var, float* invstd,
                             float* count, cudaStream_t stream);
void batchnorm_sync_coefficients(const float* dgamma, const float* dbeta, const float* sums_all, std::int64_t c,
                                 std::int64_t m_local, const float* count, const float* gamma, const float* invstd,
                                 float* a, float* b, cudaStream_t stream);

}  // namespace cmt::cuda
#endif  // CMT_WITH_CUDA
