// CUDA pointwise activations; the formulas are those of kernels/cpu/activation.cpp.
#include <cuda_runtime.h>

#include "kernels/cuda/activation.h"
#include "kernels/cuda/reduce.cuh"

namespace cmt::cuda {

namespace {

__device__ __forceinline__ float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

template <Act A>
__global__ void forward_kernel(const float* __restrict__ x, float* __restrict__ y, std::int64_t n) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n; i += std::int64_t{gridDim.x} * blockDim.x) {
    const float v = x[i];
    if constexpr (A == Act::relu) y[i] = v > 0.f ? v : 0.f;
    else if constexpr (A == Act::silu) y[i] = v * sigmoidf(v);
    else y[i] = sigmoidf(v);
  }
}

template <Act A>
__global__ void backward_kernel(const float* __restrict__ dy, const float* __restrict__ saved, float* __restrict__ dx,
                                std::int64_t n) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n; i += std::int64_t{gridDim.x} * blockDim.x) {
    const float v = saved[i];
    if constexpr (A == Act::relu) {
      dx[i] = v > 0.f ? dy[i] : 0.f;
    } else if constexpr (A == Act::silu) {
      const float s = sigmoidf(v);
      dx[i] = dy[i] * s * (1.f + v * (1.f - s));
    } else {
      dx[i] = dy[i] * v * (1.f - v);
    }
  }
}

}  // namespace

void activation_forward(Act act, const float* x, float* y, std::int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  const unsigned g = colred::grid_1d(n);
  switch (act) {
    case Act::relu: forward_kernel<Act::relu><<<g, 256, 0, stream>>>(x, y, n); break;
    case Act::silu: forward_kernel<Act::silu><<<g, 256, 0, stream>>>(x, y, n); break;
    case Act::sigmoid: forward_kernel<Act::sigmoid><<<g, 256, 0, stream>>>(x, y, n); break;
  }
  CUDA_CHECK_LAUNCH();
}

void activation_backward(Act act, const float* dy, const float* saved, float* dx, std::int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  const unsigned g = colred::grid_1d(n);
  switch (act) {
    case Act::relu: backward_kernel<Act::relu><<<g, 256, 0, stream>>>(dy, saved, dx, n); break;
    case Act::silu: backward_kernel<Act::silu><<<g, 256, 0, stream>>>(dy, saved, dx, n); break;
    case Act::sigmoid: backward_kernel<Act::sigmoid><<<g, 256, 0, stream>>>(dy, saved, dx, n); break;
  }
  CUDA_CHECK_LAUNCH();
}

}  // namespace cmt::cuda
