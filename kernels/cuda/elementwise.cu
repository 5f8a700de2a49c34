// CUDA elementwise and row ops: grid-stride loops; row norms by one block per row with a fixed-order reduction.
#include <cuda_runtime.h>

#include "kernels/common/elem.h"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/portable.cuh"
#include "kernels/cuda/reduce.cuh"
#include "kernels/elementwise.h"

namespace cmt::cuda {

namespace {

constexpr int kRowThreads = 256;

template <typename T>
__global__ void add_kernel(const T* a, const T* b, T* y, std::int64_t n) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n; i += std::int64_t{gridDim.x} * blockDim.x)
    elem::store(y[i], elem::load(a[i]) + elem::load(b[i]));
}

__global__ void scale_kernel(const float* __restrict__ x, float alpha, float* __restrict__ y, std::int64_t n) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n; i += std::int64_t{gridDim.x} * blockDim.x)
    y[i] = alpha * x[i];
}

template <typename T>
__global__ void channel_scale_kernel(const T* __restrict__ x, const T* __restrict__ s, T* __restrict__ y,
                                     std::int64_t total, std::int64_t sp, std::int64_t c) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < total; i += std::int64_t{gridDim.x} * blockDim.x)
    elem::store(y[i], elem::load(x[i]) * elem::load(s[(i / (sp * c)) * c + i % c]));
}

template <typename T>
struct DyTimesX {
  const T* dy;
  const T* x;
  std::int64_t c;
  __device__ float2 operator()(std::int64_t r, std::int64_t col) const {
    return make_float2(elem::load(dy[r * c + col]) * elem::load(x[r * c + col]), 0.f);
  }
};

template <typename T>
struct StoreNC {
  T* ds;
  std::int64_t c;
  __device__ void operator()(std::int64_t g, std::int64_t col, double s, double) const {
    elem::store(ds[g * c + col], static_cast<float>(s));
  }
};

__global__ void l2_normalize_kernel(const float* __restrict__ x, float* __restrict__ y, std::int64_t k, float eps) {
  const float* xr = x + blockIdx.x * k;
  double acc = 0;
  for (std::int64_t j = threadIdx.x; j < k; j += kRowThreads) acc += static_cast<double>(xr[j]) * xr[j];
  const float norm = static_cast<float>(sqrt(block_sum<kRowThreads>(acc)));
  const float inv = 1.0f / fmaxf(norm, eps);
  for (std::int64_t j = threadIdx.x; j < k; j += kRowThreads) y[blockIdx.x * k + j] = xr[j] * inv;
}

__global__ void l2_normalize_backward_kernel(const float* __restrict__ dy, const float* __restrict__ x,
                                             float* __restrict__ dx, std::int64_t k, float eps) {
  const float* xr = x + blockIdx.x * k;
  const float* gr = dy + blockIdx.x * k;
  double sq = 0, dot = 0;
  for (std::int64_t j = threadIdx.x; j < k; j += kRowThreads) {
    sq += static_cast<double>(xr[j]) * xr[j];
    dot += static_cast<double>(xr[j]) * gr[j];
  }
  const float norm = static_cast<float>(sqrt(block_sum<kRowThreads>(sq)));
  const double dsum = block_sum<kRowThreads>(dot);
  if (norm > eps) {
    const float inv = 1.0f / norm;
    const float coef = static_cast<float>(dsum) * inv * inv * inv;
    for (std::int64_t j = threadIdx.x; j < k; j += kRowThreads) dx[blockIdx.x * k + j] = gr[j] * inv - xr[j] * coef;
  } else {
    for (std::int64_t j = threadIdx.x; j < k; j += kRowThreads) dx[blockIdx.x * k + j] = gr[j] / eps;
  }
}

}  // namespace

template <typename T>
void add(const T* a, const T* b, T* y, std::int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  cmt::cuda::launch(add_kernel<T>, colred::grid_1d(n), 256, 0, stream, a, b, y, n);
  CUDA_CHECK_LAUNCH();
}

void scale(const float* x, float alpha, float* y, std::int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  cmt::cuda::launch(scale_kernel, colred::grid_1d(n), 256, 0, stream, x, alpha, y, n);
  CUDA_CHECK_LAUNCH();
}

template <typename T>
void channel_scale(const T* x, const T* s, T* y, std::int64_t n, std::int64_t sp, std::int64_t c, cudaStream_t stream) {
  if (n * sp * c == 0) return;
  cmt::cuda::launch(channel_scale_kernel<T>, colred::grid_1d(n * sp * c), 256, 0, stream, x, s, y, n * sp * c, sp, c);
  CUDA_CHECK_LAUNCH();
}

std::size_t channel_scale_workspace_bytes(std::int64_t n, std::int64_t sp, std::int64_t c) {
  return colred::workspace_bytes(n, sp, c);
}

template <typename T>
void channel_scale_backward(const T* dy, const T* x, const T* s, T* dx, T* ds, std::int64_t n, std::int64_t sp,
                            std::int64_t c, void* workspace, cudaStream_t stream) {
  channel_scale(dy, s, dx, n, sp, c, stream);
  colred::run(n, sp, c, DyTimesX<T>{dy, x, c}, StoreNC<T>{ds, c}, workspace, stream);
}

void l2_normalize_rows(const float* x, float* y, std::int64_t n, std::int64_t k, float eps, cudaStream_t stream) {
  if (n == 0) return;
  CMT_CHECK(n <= 0x7fffffff, "l2_normalize_rows: too many rows " << n);
  cmt::cuda::launch(l2_normalize_kernel, static_cast<unsigned>(n), kRowThreads, 0, stream, x, y, k, eps);
  CUDA_CHECK_LAUNCH();
}

void l2_normalize_rows_backward(const float* dy, const float* x, float* dx, std::int64_t n, std::int64_t k, float eps,
                                cudaStream_t stream) {
  if (n == 0) return;
  CMT_CHECK(n <= 0x7fffffff, "l2_normalize_rows_backward: too many rows " << n);
  cmt::cuda::launch(l2_normalize_backward_kernel, static_cast<unsigned>(n), kRowThreads, 0, stream, dy, x, dx, k, eps);
  CUDA_CHECK_LAUNCH();
}

template void channel_scale<float>(const float*, const float*, float*, std::int64_t, std::int64_t, std::int64_t,
                                   cudaStream_t);
template void channel_scale<std::uint16_t>(const std::uint16_t*, const std::uint16_t*, std::uint16_t*, std::int64_t,
                                           std::int64_t, std::int64_t, cudaStream_t);
template void channel_scale_backward<float>(const float*, const float*, const float*, float*, float*, std::int64_t,
                                            std::int64_t, std::int64_t, void*, cudaStream_t);
template void channel_scale_backward<std::uint16_t>(const std::uint16_t*, const std::uint16_t*, const std::uint16_t*,
                                                    std::uint16_t*, std::uint16_t*, std::int64_t, std::int64_t,
                                                    std::int64_t, void*, cudaStream_t);
template void add<float>(const float*, const float*, float*, std::int64_t, cudaStream_t);
template void add<std::uint16_t>(const std::uint16_t*, const std::uint16_t*, std::uint16_t*, std::int64_t, cudaStream_t);

}  // namespace cmt::cuda
