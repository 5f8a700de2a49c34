// CPU reference of batch normalisation on a (M, C) view of N,D,H,W,C data (M = N*D*H*W). T is the data's
// element type: float, or std::uint16_t for bf16 (statistics and math in float/double, outputs rounded once);
// parameters and statistics are always f32.
#pragma once
#include <cstdint>

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

}  // namespace cmt::cpu
