// CUDA batch normalisation: two-pass statistics by deterministic column reductions, then one apply pass.
#include <cuda_runtime.h>

#include "kernels/cuda/batchnorm.h"
#include "kernels/cuda/reduce.cuh"

namespace cmt::cuda {

namespace {

struct StoreMean {
  float* mean;
  std::int64_t m;
  __device__ void operator()(std::int64_t, std::int64_t col, double sx, double) const {
    mean[col] = static_cast<float>(sx / static_cast<double>(m));
  }
};

struct Centered {
  const float* x;
  const float* mean;
  std::int64_t c;
  __device__ float2 operator()(std::int64_t r, std::int64_t col) const {
    const float d = x[r * c + col] - mean[col];
    return make_float2(d * d, 0.f);
  }
};

struct FinishVar {
  float momentum, eps;
  std::int64_t m;
  const float* mean;
  float* running_mean;
  float* running_var;
  float* invstd;
  __device__ void operator()(std::int64_t, std::int64_t col, double q, double) const {
    const double var = q / static_cast<double>(m);
    invstd[col] = static_cast<float>(1.0 / sqrt(var + eps));
    running_mean[col] = static_cast<float>((1.0 - momentum) * running_mean[col] + momentum * static_cast<double>(mean[col]));
    running_var[col] = static_cast<float>((1.0 - momentum) * running_var[col] + momentum * q / static_cast<double>(m - 1));
  }
};

struct GradSums {
  const float* dy;
  const float* x;
  const float* mean;
  const float* invstd;
  std::int64_t c;
  __device__ float2 operator()(std::int64_t r, std::int64_t col) const {
    const float g = dy[r * c + col];
    return make_float2(g, g * ((x[r * c + col] - mean[col]) * invstd[col]));
  }
};

struct StoreGrads {
  float* dbeta;
  float* dgamma;
  __device__ void operator()(std::int64_t, std::int64_t col, double sb, double sg) const {
    dbeta[col] = static_cast<float>(sb);
    dgamma[col] = static_cast<float>(sg);
  }
};

// Channel index of element i: the grid-stride loop keeps consecutive threads on consecutive channels.
__global__ void apply_kernel(const float* __restrict__ x, std::int64_t total, std::int64_t c,
                             const float* __restrict__ mean, const float* __restrict__ invstd,
                             const float* __restrict__ gamma, const float* __restrict__ beta, float* __restrict__ y) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < total;
       i += std::int64_t{gridDim.x} * blockDim.x) {
    const std::int64_t j = i % c;
    y[i] = (x[i] - mean[j]) * invstd[j] * gamma[j] + beta[j];
  }
}

__global__ void eval_kernel(const float* __restrict__ x, std::int64_t total, std::int64_t c,
                            const float* __restrict__ rmean, const float* __restrict__ rvar, float eps,
                            const float* __restrict__ gamma, const float* __restrict__ beta, float* __restrict__ y) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < total;
       i += std::int64_t{gridDim.x} * blockDim.x) {
    const std::int64_t j = i % c;
    const float invstd = 1.0f / sqrtf(rvar[j] + eps);
    y[i] = (x[i] - rmean[j]) * invstd * gamma[j] + beta[j];
  }
}

__global__ void backward_kernel(const float* __restrict__ dy, const float* __restrict__ x, std::int64_t total,
                                std::int64_t c, float inv_m, const float* __restrict__ mean,
                                const float* __restrict__ invstd, const float* __restrict__ gamma,
                                const float* __restrict__ dgamma, const float* __restrict__ dbeta,
                                float* __restrict__ dx) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < total;
       i += std::int64_t{gridDim.x} * blockDim.x) {
    const std::int64_t j = i % c;
    const float xhat = (x[i] - mean[j]) * invstd[j];
    dx[i] = gamma[j] * invstd[j] * (dy[i] - (dbeta[j] + xhat * dgamma[j]) * inv_m);
  }
}

}  // namespace

std::size_t batchnorm_workspace_bytes(std::int64_t m, std::int64_t c) { return colred::workspace_bytes(1, m, c); }

void batchnorm_train_stats(const float* x, std::int64_t m, std::int64_t c, float momentum, float eps,
                           float* running_mean, float* running_var, float* mean, float* invstd, void* workspace,
                           cudaStream_t stream) {
  colred::run(1, m, c, colred::LoadRows{x, c}, StoreMean{mean, m}, workspace, stream);
  colred::run(1, m, c, Centered{x, mean, c}, FinishVar{momentum, eps, m, mean, running_mean, running_var, invstd},
              workspace, stream);
}

void batchnorm_apply(const float* x, std::int64_t m, std::int64_t c, const float* mean, const float* invstd,
                     const float* gamma, const float* beta, float* y, cudaStream_t stream) {
  apply_kernel<<<colred::grid_1d(m * c), 256, 0, stream>>>(x, m * c, c, mean, invstd, gamma, beta, y);
  CUDA_CHECK_LAUNCH();
}

void batchnorm_eval(const float* x, std::int64_t m, std::int64_t c, const float* running_mean,
                    const float* running_var, float eps, const float* gamma, const float* beta, float* y,
                    cudaStream_t stream) {
  eval_kernel<<<colred::grid_1d(m * c), 256, 0, stream>>>(x, m * c, c, running_mean, running_var, eps, gamma, beta, y);
  CUDA_CHECK_LAUNCH();
}

void batchnorm_backward(const float* dy, const float* x, std::int64_t m, std::int64_t c, const float* mean,
                        const float* invstd, const float* gamma, float* dx, float* dgamma, float* dbeta,
                        void* workspace, cudaStream_t stream) {
  colred::run(1, m, c, GradSums{dy, x, mean, invstd, c}, StoreGrads{dbeta, dgamma}, workspace, stream);
  backward_kernel<<<colred::grid_1d(m * c), 256, 0, stream>>>(dy, x, m * c, c, 1.0f / static_cast<float>(m), mean,
                                                               invstd, gamma, dgamma, dbeta, dx);
  CUDA_CHECK_LAUNCH();
}

}  // namespace cmt::cuda
