// CUDA batch normalisation: one-read Welford statistics, deterministic column reductions, then one apply pass.
#include <cuda_runtime.h>

#include "kernels/batchnorm.h"
#include "kernels/common/elem.h"
#include "kernels/cuda/portable.cuh"
#include "kernels/cuda/reduce.cuh"

namespace cmt::cuda {

namespace {

// Batch statistics in one read of x: Welford per thread, Chan's merge across the block's row lanes (in float)
// and across chunks (in double, fixed order). The counts follow from the row split, so only (mean, M2) are stored.
__host__ __device__ __forceinline__ std::int64_t lane_count(std::int64_t len, int lane) {
  return len > lane ? (len - lane + colred::kRows - 1) / colred::kRows : 0;
}

template <typename T>
__global__ void welford_partial_kernel(const T* __restrict__ x, std::int64_t rows, std::int64_t c, int chunks,
                                       float2* __restrict__ partial) {
  CMT_SHARED(float2, sh, [colred::kRows][colred::kCols]);
  const std::int64_t col = blockIdx.x * std::int64_t{colred::kCols} + threadIdx.x;
  const std::int64_t per = (rows + chunks - 1) / chunks;
  const std::int64_t begin = blockIdx.y * per, end = min(rows, begin + per);
  float mean = 0.f, m2 = 0.f;
  if (col < c) {
    float n = 0.f;
    for (std::int64_t r = begin + threadIdx.y; r < end; r += colred::kRows) {
      const float v = elem::load(x[r * c + col]);
      n += 1.f;
      const float d = v - mean;
      mean += d / n;
      m2 += d * (v - mean);
    }
  }
  sh[threadIdx.y][threadIdx.x] = make_float2(mean, m2);
  __syncthreads();
  if (threadIdx.y == 0 && col < c) {
    const std::int64_t len = end > begin ? end - begin : 0;
    float na = static_cast<float>(lane_count(len, 0));
    for (int k = 1; k < colred::kRows; ++k) {
      const float nb = static_cast<float>(lane_count(len, k));
      if (nb == 0.f) break;  // later lanes have no rows either
      const float2 b = sh[k][threadIdx.x];
      const float n = na + nb, delta = b.x - mean;
      mean += delta * (nb / n);
      m2 += b.y + delta * delta * (na * nb / n);
      na = n;
    }
    partial[blockIdx.y * c + col] = make_float2(mean, m2);
  }
}

// Column col's (mean, M2) over all rows from the chunks' partial pairs, merged in chunk order in double.
__device__ void merge_chunks(const float2* __restrict__ partial, std::int64_t rows, std::int64_t c, int chunks, std::int64_t col,
                             double& mean, double& m2) {
  const std::int64_t per = (rows + chunks - 1) / chunks;
  double na = 0;
  mean = 0;
  m2 = 0;
  for (int k = 0; k < chunks; ++k) {
    const std::int64_t begin = k * per, end = min(rows, begin + per);
    if (end <= begin) break;
    const double nb = static_cast<double>(end - begin);
    const float2 b = partial[k * c + col];
    const double n = na + nb, delta = b.x - mean;
    mean += delta * (nb / n);
    m2 += b.y + delta * delta * (na * nb / n);
    na = n;
  }
}

__global__ void welford_finish_kernel(const float2* __restrict__ partial, std::int64_t rows, std::int64_t c,
                                      int chunks, float momentum, float eps, float* __restrict__ running_mean,
                                      float* __restrict__ running_var, float* __restrict__ mean_out,
                                      float* __restrict__ invstd) {
  const std::int64_t col = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x;
  if (col >= c) return;
  double mean, m2;
  merge_chunks(partial, rows, c, chunks, col, mean, m2);
  const double var = m2 / static_cast<double>(rows);
  mean_out[col] = static_cast<float>(mean);
  invstd[col] = static_cast<float>(1.0 / sqrt(var + eps));
  running_mean[col] = static_cast<float>((1.0 - momentum) * running_mean[col] + momentum * mean);
  running_var[col] = static_cast<float>((1.0 - momentum) * running_var[col] + momentum * m2 / static_cast<double>(rows - 1));
}

// The chunks' (mean, M2) merged as in welford_finish_kernel, written as a moments row (kernels/batchnorm.h).
__global__ void moments_finish_kernel(const float2* __restrict__ partial, std::int64_t rows, std::int64_t c, int chunks,
                                      float* __restrict__ row) {
  const std::int64_t col = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x;
  if (col >= c) return;
  double mean, m2;
  merge_chunks(partial, rows, c, chunks, col, mean, m2);
  if (col == 0) {
    const std::int64_t lo = rows % (std::int64_t{1} << 24);
    row[0] = static_cast<float>(rows - lo);
    row[1] = static_cast<float>(lo);
  }
  row[2 + col] = static_cast<float>(mean);
  row[2 + c + col] = static_cast<float>(m2);
}

// One thread per channel, ranks merged in row order: every rank computes the same values.
__global__ void merge_moments_kernel(const float* __restrict__ rows, std::int64_t ranks, std::int64_t c, float momentum,
                                     float eps, float* __restrict__ running_mean, float* __restrict__ running_var,
                                     float* __restrict__ mean_out, float* __restrict__ var_out,
                                     float* __restrict__ invstd, float* __restrict__ count) {
  const std::int64_t col = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x;
  if (col >= c) return;
  double total = 0;
  batchnorm_merge_channel(rows, ranks, c, col, momentum, eps, running_mean, running_var, mean_out, var_out, invstd, &total);
  if (col == 0) count[0] = static_cast<float>(total);
}

__global__ void sync_coefficients_kernel(const float* __restrict__ dgamma, const float* __restrict__ dbeta,
                                         const float* __restrict__ sums_all, std::int64_t c, std::int64_t m_local,
                                         const float* __restrict__ count, const float* __restrict__ gamma,
                                         const float* __restrict__ invstd, float* __restrict__ a, float* __restrict__ b) {
  const std::int64_t col = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x;
  if (col >= c) return;
  const double inv_l = 1.0 / static_cast<double>(m_local), inv_g = 1.0 / static_cast<double>(count[0]);
  const double scale = static_cast<double>(gamma[col]) * invstd[col];
  a[col] = static_cast<float>(scale * (dgamma[col] * inv_l - sums_all[col] * inv_g));
  b[col] = static_cast<float>(scale * (dbeta[col] * inv_l - sums_all[c + col] * inv_g));
}

template <typename T>
struct GradSums {
  const T* dy;
  const T* x;
  const float* mean;
  const float* invstd;
  std::int64_t c;
  __device__ float2 operator()(std::int64_t r, std::int64_t col) const {
    const float g = elem::load(dy[r * c + col]);
    return make_float2(g, g * ((elem::load(x[r * c + col]) - mean[col]) * invstd[col]));
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
template <typename T>
__global__ void apply_kernel(const T* __restrict__ x, std::int64_t total, std::int64_t c,
                             const float* __restrict__ mean, const float* __restrict__ invstd,
                             const float* __restrict__ gamma, const float* __restrict__ beta, T* __restrict__ y) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < total;
       i += std::int64_t{gridDim.x} * blockDim.x) {
    const std::int64_t j = i % c;
    elem::store(y[i], (elem::load(x[i]) - mean[j]) * invstd[j] * gamma[j] + beta[j]);
  }
}

template <typename T>
__global__ void eval_kernel(const T* __restrict__ x, std::int64_t total, std::int64_t c,
                            const float* __restrict__ rmean, const float* __restrict__ rvar, float eps,
                            const float* __restrict__ gamma, const float* __restrict__ beta, T* __restrict__ y) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < total;
       i += std::int64_t{gridDim.x} * blockDim.x) {
    const std::int64_t j = i % c;
    const float invstd = 1.0f / sqrtf(rvar[j] + eps);
    elem::store(y[i], (elem::load(x[i]) - rmean[j]) * invstd * gamma[j] + beta[j]);
  }
}

template <typename T>
__global__ void backward_kernel(const T* __restrict__ dy, const T* __restrict__ x, std::int64_t total,
                                std::int64_t c, float inv_m, const float* __restrict__ mean,
                                const float* __restrict__ invstd, const float* __restrict__ gamma,
                                const float* __restrict__ dgamma, const float* __restrict__ dbeta,
                                T* __restrict__ dx) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < total;
       i += std::int64_t{gridDim.x} * blockDim.x) {
    const std::int64_t j = i % c;
    const float xhat = (elem::load(x[i]) - mean[j]) * invstd[j];
    elem::store(dx[i], gamma[j] * invstd[j] * (elem::load(dy[i]) - (dbeta[j] + xhat * dgamma[j]) * inv_m));
  }
}

}  // namespace

std::size_t batchnorm_workspace_bytes(std::int64_t m, std::int64_t c) { return colred::workspace_bytes(1, m, c); }

template <typename T>
void batchnorm_train_stats(const T* x, std::int64_t m, std::int64_t c, float momentum, float eps,
                           float* running_mean, float* running_var, float* mean, float* invstd, void* workspace,
                           cudaStream_t stream) {
  const int chunks = colred::chunks_for(1, m, c);
  auto* partial = static_cast<float2*>(workspace);
  const dim3 grid(static_cast<unsigned>((c + colred::kCols - 1) / colred::kCols), static_cast<unsigned>(chunks));
  cmt::cuda::launch(welford_partial_kernel<T>, grid, dim3(colred::kCols, colred::kRows), 0, stream, x, m, c, chunks, partial);
  CUDA_CHECK_LAUNCH();
  cmt::cuda::launch(welford_finish_kernel, static_cast<unsigned>((c + 255) / 256), 256, 0, stream,
      partial, m, c, chunks, momentum, eps, running_mean, running_var, mean, invstd);
  CUDA_CHECK_LAUNCH();
}

template <typename T>
void batchnorm_apply(const T* x, std::int64_t m, std::int64_t c, const float* mean, const float* invstd,
                     const float* gamma, const float* beta, T* y, cudaStream_t stream) {
  cmt::cuda::launch(apply_kernel<T>, colred::grid_1d(m * c), 256, 0, stream, x, m * c, c, mean, invstd, gamma, beta, y);
  CUDA_CHECK_LAUNCH();
}

template <typename T>
void batchnorm_eval(const T* x, std::int64_t m, std::int64_t c, const float* running_mean,
                    const float* running_var, float eps, const float* gamma, const float* beta, T* y,
                    cudaStream_t stream) {
  cmt::cuda::launch(eval_kernel<T>, colred::grid_1d(m * c), 256, 0, stream, x, m * c, c, running_mean, running_var, eps, gamma, beta, y);
  CUDA_CHECK_LAUNCH();
}

template <typename T>
void batchnorm_backward(const T* dy, const T* x, std::int64_t m, std::int64_t c, const float* mean,
                        const float* invstd, const float* gamma, T* dx, float* dgamma, float* dbeta,
                        void* workspace, cudaStream_t stream) {
  colred::run(1, m, c, GradSums<T>{dy, x, mean, invstd, c}, StoreGrads{dbeta, dgamma}, workspace, stream);
  cmt::cuda::launch(backward_kernel<T>, colred::grid_1d(m * c), 256, 0, stream, dy, x, m * c, c, 1.0f / static_cast<float>(m), mean,
      invstd, gamma, dgamma, dbeta, dx);
  CUDA_CHECK_LAUNCH();
}

template <typename T>
void batchnorm_moments(const T* x, std::int64_t m, std::int64_t c, float* row, void* workspace, cudaStream_t stream) {
  const int chunks = colred::chunks_for(1, m, c);
  auto* partial = static_cast<float2*>(workspace);
  const dim3 grid(static_cast<unsigned>((c + colred::kCols - 1) / colred::kCols), static_cast<unsigned>(chunks));
  cmt::cuda::launch(welford_partial_kernel<T>, grid, dim3(colred::kCols, colred::kRows), 0, stream, x, m, c, chunks, partial);
  CUDA_CHECK_LAUNCH();
  cmt::cuda::launch(moments_finish_kernel, static_cast<unsigned>((c + 255) / 256), 256, 0, stream, partial, m, c, chunks, row);
  CUDA_CHECK_LAUNCH();
}

void batchnorm_merge_moments(const float* rows, std::int64_t ranks, std::int64_t c, float momentum, float eps,
                             float* running_mean, float* running_var, float* mean, float* var, float* invstd,
                             float* count, cudaStream_t stream) {
  cmt::cuda::launch(merge_moments_kernel, static_cast<unsigned>((c + 255) / 256), 256, 0, stream, rows, ranks, c, momentum, eps,
                    running_mean, running_var, mean, var, invstd, count);
  CUDA_CHECK_LAUNCH();
}

void batchnorm_sync_coefficients(const float* dgamma, const float* dbeta, const float* sums_all, std::int64_t c,
                                 std::int64_t m_local, const float* count, const float* gamma, const float* invstd,
                                 float* a, float* b, cudaStream_t stream) {
  cmt::cuda::launch(sync_coefficients_kernel, static_cast<unsigned>((c + 255) / 256), 256, 0, stream, dgamma, dbeta, sums_all, c,
                    m_local, count, gamma, invstd, a, b);
  CUDA_CHECK_LAUNCH();
}

#define CMT_BN_INSTANTIATE(T)                                                                                \
  template void batchnorm_train_stats<T>(const T*, std::int64_t, std::int64_t, float, float, float*, float*, float*,  \
                                         float*, void*, cudaStream_t);                                                 \
  template void batchnorm_apply<T>(const T*, std::int64_t, std::int64_t, const float*, const float*, const float*,    \
                                   const float*, T*, cudaStream_t);                                                    \
  template void batchnorm_eval<T>(const T*, std::int64_t, std::int64_t, const float*, const float*, float,            \
                                  const float*, const float*, T*, cudaStream_t);                                       \
  template void batchnorm_backward<T>(const T*, const T*, std::int64_t, std::int64_t, const float*, const float*,     \
                                      const float*, T*, float*, float*, void*, cudaStream_t);                         \
  template void batchnorm_moments<T>(const T*, std::int64_t, std::int64_t, float*, void*, cudaStream_t);
CMT_BN_INSTANTIATE(float)
CMT_BN_INSTANTIATE(std::uint16_t)
#undef CMT_BN_INSTANTIATE

}  // namespace cmt::cuda
