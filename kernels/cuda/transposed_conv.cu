// CUDA x2 up-sampling transposed convolution of one channel (the formulas of kernels/cpu/transposed_conv.cpp).
#include <cuda_runtime.h>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/portable.cuh"
#include "kernels/cuda/reduce.cuh"
#include "kernels/transposed_conv.h"

namespace cmt::cuda {

namespace {

constexpr int kSumThreads = 256;

// Flat index of output (b, kd*d+i, 2h+j, 2w+k) for input p = (b, d, h, w) and tap t = (i*2+j)*2+k.
__device__ __forceinline__ std::int64_t output_index(const TransposedConv2xShape& s, std::int64_t p, int t) {
  const std::int64_t q = p % s.w, h = (p / s.w) % s.h, d = (p / (s.w * s.h)) % s.d, b = p / (s.w * s.h * s.d);
  const int i = t / 4, j = (t / 2) % 2, k = t % 2;
  return ((b * s.kd * s.d + s.kd * d + i) * 2 * s.h + 2 * h + j) * 2 * s.w + 2 * q + k;
}

// One thread per output element.
__global__ void transposed_conv2x_kernel(const float* __restrict__ x, const float* __restrict__ w,
                                         const float* __restrict__ b, float* __restrict__ y, TransposedConv2xShape s) {
  const std::int64_t total = s.inputs() * s.taps();
  const std::int64_t ow = 2 * s.w, oh = 2 * s.h, od = s.kd * s.d;
  for (std::int64_t o = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; o < total; o += std::int64_t{gridDim.x} * blockDim.x) {
    const std::int64_t wo = o % ow, ho = (o / ow) % oh, dz = (o / (ow * oh)) % od, bi = o / (ow * oh * od);
    const std::int64_t p = ((bi * s.d + dz / s.kd) * s.h + ho / 2) * s.w + wo / 2;
    const int t = static_cast<int>(((dz % s.kd) * 2 + ho % 2) * 2 + wo % 2);
    y[o] = x[p] * w[t] + b[0];
  }
}

// One thread per input element: the taps it fed, in tap order.
__global__ void transposed_conv2x_dx_kernel(const float* __restrict__ dy, const float* __restrict__ w, float* __restrict__ dx,
                                            TransposedConv2xShape s) {
  for (std::int64_t p = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; p < s.inputs(); p += std::int64_t{gridDim.x} * blockDim.x) {
    double acc = 0;
    for (int t = 0; t < s.taps(); ++t) acc += static_cast<double>(dy[output_index(s, p, t)]) * w[t];
    dx[p] = static_cast<float>(acc);
  }
}

// Block t < taps: dw[t] = sum over inputs of dy(tap t) * x; block taps: db = sum of dy. A fixed-order sum.
__global__ void transposed_conv2x_dwdb_kernel(const float* __restrict__ dy, const float* __restrict__ x, float* __restrict__ dw,
                                              float* __restrict__ db, TransposedConv2xShape s) {
  const int t = static_cast<int>(blockIdx.x);
  double acc = 0;
  if (t < s.taps()) {
    for (std::int64_t p = threadIdx.x; p < s.inputs(); p += kSumThreads) acc += static_cast<double>(dy[output_index(s, p, t)]) * x[p];
  } else {
    for (std::int64_t o = threadIdx.x; o < s.inputs() * s.taps(); o += kSumThreads) acc += dy[o];
  }
  acc = block_sum<kSumThreads>(acc);
  if (threadIdx.x == 0) {
    if (t < s.taps()) dw[t] = static_cast<float>(acc);
    else db[0] = static_cast<float>(acc);
  }
}

}  // namespace

void transposed_conv2x(const float* x, const float* w, const float* b, float* y, const TransposedConv2xShape& s,
                       cudaStream_t stream) {
  if (s.inputs() == 0) return;
  cmt::cuda::launch(transposed_conv2x_kernel, colred::grid_1d(s.inputs() * s.taps()), 256, 0, stream, x, w, b, y, s);
  CUDA_CHECK_LAUNCH();
}

void transposed_conv2x_backward(const float* dy, const float* x, const float* w, float* dx, float* dw, float* db,
                                const TransposedConv2xShape& s, cudaStream_t stream) {
  if (s.inputs() > 0) {
    cmt::cuda::launch(transposed_conv2x_dx_kernel, colred::grid_1d(s.inputs()), 256, 0, stream, dy, w, dx, s);
    CUDA_CHECK_LAUNCH();
  }
  // With no inputs the sums are zeros, written all the same.
  cmt::cuda::launch(transposed_conv2x_dwdb_kernel, static_cast<unsigned>(s.taps() + 1), kSumThreads, 0, stream, dy, x, dw, db, s);
  CUDA_CHECK_LAUNCH();
}

}  // namespace cmt::cuda
