// CUDA kernels of the preprocessing family; the arithmetic matches kernels/cpu/resample.cpp.
#include <cuda_runtime.h>

#include <algorithm>
#include <cfloat>

#include "kernels/common/check.h"
#include "kernels/common/resample.h"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/portable.cuh"
#include "kernels/resample.h"

namespace cmt::cuda {

namespace {

constexpr int kThreads = 256;

int grid_for(std::int64_t n) {
  return static_cast<int>(std::min<std::int64_t>(std::max<std::int64_t>((n + kThreads - 1) / kThreads, 1), 65535 * 32));
}

// One thread per output element; the taps are recomputed per thread (a handful of flops).
__global__ void resample_axis_kernel(const float* __restrict__ src, float* __restrict__ dst, std::int64_t outer,
                                     int in_len, int out_len, std::int64_t inner, bool antialias) {
  const std::int64_t n = outer * out_len * inner;
  for (std::int64_t idx = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; idx < n;
       idx += std::int64_t{gridDim.x} * blockDim.x) {
    const std::int64_t r = idx % inner;
    const std::int64_t rest = idx / inner;
    const int i = static_cast<int>(rest % out_len);
    const std::int64_t o = rest / out_len;
    const rs::Taps t = rs::make_taps(i, in_len, out_len, antialias);
    const float* in = src + (o * in_len + t.first) * inner + r;
    float acc = 0.f;
    for (int k = 0; k < t.count; ++k) acc += rs::tap_weight(t, k) * in[k * inner];
    dst[idx] = acc / t.total;
  }
}

__global__ void window_kernel(const float* __restrict__ src, float* __restrict__ dst, std::int64_t n, float lo,
                              float inv) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n; i += std::int64_t{gridDim.x} * blockDim.x)
    dst[i] = rs::window01(src[i], lo, inv);
}

// One block per sample: reduce min and max in shared memory, then rescale.
__global__ void minmax_kernel(const float* __restrict__ src, float* __restrict__ dst, std::int64_t per_sample) {
  CMT_SHARED(float, smin, [kThreads]);
  CMT_SHARED(float, smax, [kThreads]);
  const float* x = src + blockIdx.x * per_sample;
  float* y = dst + blockIdx.x * per_sample;
  float mn = FLT_MAX, mx = -FLT_MAX;
  for (std::int64_t i = threadIdx.x; i < per_sample; i += kThreads) {
    mn = fminf(mn, x[i]);
    mx = fmaxf(mx, x[i]);
  }
  smin[threadIdx.x] = mn;
  smax[threadIdx.x] = mx;
  __syncthreads();
  shared_tree<kThreads>([&](int i, int j) {
    smin[i] = fminf(smin[i], smin[j]);
    smax[i] = fmaxf(smax[i], smax[j]);
  });
  const float lo = smin[0], range = smax[0] - smin[0];
  const float inv = range > 0.f ? 1.f / range : 0.f;
  for (std::int64_t i = threadIdx.x; i < per_sample; i += kThreads) y[i] = (x[i] - lo) * inv;
}

}  // namespace

void resample_axis_f32(const float* src, float* dst, std::int64_t outer, int in_len, int out_len, std::int64_t inner,
                       bool antialias, cudaStream_t stream) {
  const std::int64_t n = outer * out_len * inner;
  if (n == 0) return;
  cmt::cuda::launch(resample_axis_kernel, grid_for(n), kThreads, 0, stream, src, dst, outer, in_len, out_len, inner, antialias);
  CUDA_CHECK_LAUNCH();
}

void window_f32(const float* src, float* dst, std::int64_t n, float lo, float hi, cudaStream_t stream) {
  if (n == 0) return;
  cmt::cuda::launch(window_kernel, grid_for(n), kThreads, 0, stream, src, dst, n, lo, 1.f / (hi - lo));
  CUDA_CHECK_LAUNCH();
}

void minmax_f32(const float* src, float* dst, std::int64_t samples, std::int64_t per_sample, cudaStream_t stream) {
  if (samples == 0 || per_sample == 0) return;
  CMT_CHECK(samples <= 2147483647, "minmax_f32: too many samples " << samples);
  cmt::cuda::launch(minmax_kernel, static_cast<unsigned>(samples), kThreads, 0, stream, src, dst, per_sample);
  CUDA_CHECK_LAUNCH();
}

}  // namespace cmt::cuda
