// CUDA pointwise activations; the formulas are those of kernels/cpu/activation.cpp.
#include <cuda_runtime.h>

#include "kernels/activation.h"
#include "kernels/common/elem.h"
#include "kernels/cuda/portable.cuh"
#include "kernels/cuda/reduce.cuh"

namespace cmt::cuda {

namespace {

__device__ __forceinline__ float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

template <Act A, typename T>
__global__ void forward_kernel(const T* __restrict__ x, T* __restrict__ y, std::int64_t n) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n; i += std::int64_t{gridDim.x} * blockDim.x) {
    const float v = elem::load(x[i]);
    if constexpr (A == Act::relu) elem::store(y[i], v > 0.f ? v : 0.f);
    else if constexpr (A == Act::silu) elem::store(y[i], v * sigmoidf(v));
    else elem::store(y[i], sigmoidf(v));
  }
}

template <Act A, typename T>
__global__ void backward_kernel(const T* __restrict__ dy, const T* __restrict__ saved, T* __restrict__ dx,
                                std::int64_t n) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n; i += std::int64_t{gridDim.x} * blockDim.x) {
    const float v = elem::load(saved[i]), g = elem::load(dy[i]);
    if constexpr (A == Act::relu) {
      elem::store(dx[i], v > 0.f ? g : 0.f);
    } else if constexpr (A == Act::silu) {
      const float s = sigmoidf(v);
      elem::store(dx[i], g * s * (1.f + v * (1.f - s)));
    } else {
      elem::store(dx[i], g * v * (1.f - v));
    }
  }
}

}  // namespace

template <typename T>
void activation_forward(Act act, const T* x, T* y, std::int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  const unsigned g = colred::grid_1d(n);
  switch (act) {
    case Act::relu: cmt::cuda::launch(forward_kernel<Act::relu, T>, g, 256, 0, stream, x, y, n); break;
    case Act::silu: cmt::cuda::launch(forward_kernel<Act::silu, T>, g, 256, 0, stream, x, y, n); break;
    case Act::sigmoid: cmt::cuda::launch(forward_kernel<Act::sigmoid, T>, g, 256, 0, stream, x, y, n); break;
  }
  CUDA_CHECK_LAUNCH();
}

template <typename T>
void activation_backward(Act act, const T* dy, const T* saved, T* dx, std::int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  const unsigned g = colred::grid_1d(n);
  switch (act) {
    case Act::relu: cmt::cuda::launch(backward_kernel<Act::relu, T>, g, 256, 0, stream, dy, saved, dx, n); break;
    case Act::silu: cmt::cuda::launch(backward_kernel<Act::silu, T>, g, 256, 0, stream, dy, saved, dx, n); break;
    case Act::sigmoid: cmt::cuda::launch(backward_kernel<Act::sigmoid, T>, g, 256, 0, stream, dy, saved, dx, n); break;
  }
  CUDA_CHECK_LAUNCH();
}

template void activation_forward<float>(Act, const float*, float*, std::int64_t, cudaStream_t);
template void activation_forward<std::uint16_t>(Act, const std::uint16_t*, std::uint16_t*, std::int64_t, cudaStream_t);
template void activation_backward<float>(Act, const float*, const float*, float*, std::int64_t, cudaStream_t);
template void activation_backward<std::uint16_t>(Act, const std::uint16_t*, const std::uint16_t*, std::uint16_t*,
                                                 std::int64_t, cudaStream_t);

}  // namespace cmt::cuda
