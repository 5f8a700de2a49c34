// CUDA launchers of batch normalisation on a (M, C) view of N,D,H,W,C data; same contract as kernels/cpu/batchnorm.h.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/common/stream.h"

namespace cmt::cuda {

// Scratch for the per-chunk partial sums of the column reductions.
std::size_t batchnorm_workspace_bytes(std::int64_t m, std::int64_t c);
void batchnorm_train_stats(const float* x, std::int64_t m, std::int64_t c, float momentum, float eps,
                           float* running_mean, float* running_var, float* mean, float* invstd, void* workspace,
                           cudaStream_t stream);
void batchnorm_apply(const float* x, std::int64_t m, std::int64_t c, const float* mean, const float* invstd,
                     const float* gamma, const float* beta, float* y, cudaStream_t stream);
void batchnorm_eval(const float* x, std::int64_t m, std::int64_t c, const float* running_mean,
                    const float* running_var, float eps, const float* gamma, const float* beta, float* y,
                    cudaStream_t stream);
void batchnorm_backward(const float* dy, const float* x, std::int64_t m, std::int64_t c, const float* mean,
                        const float* invstd, const float* gamma, float* dx, float* dgamma, float* dbeta,
                        void* workspace, cudaStream_t stream);

}  // namespace cmt::cuda
