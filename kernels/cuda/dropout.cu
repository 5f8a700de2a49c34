// CUDA dropout and stochastic depth: one Philox block gives the draws of four consecutive elements.
#include <cuda_runtime.h>

#include "kernels/common/elem.h"
#include "kernels/cuda/portable.cuh"
#include "kernels/cuda/reduce.cuh"
#include "kernels/dropout.h"

namespace cmt::cuda {

namespace {

template <typename T>
__global__ void dropout_kernel(const T* __restrict__ x, T* __restrict__ y, std::uint8_t* __restrict__ mask,
                               std::int64_t n, float p, float scale, rng::Stream rs, const std::uint32_t* epoch_step) {
  if (epoch_step != nullptr) rs = rng::Stream{rs.key0, rs.key1, epoch_step[0], epoch_step[1], rs.op};
  const std::int64_t blocks = (n + 3) / 4;
  for (std::int64_t b = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; b < blocks;
       b += std::int64_t{gridDim.x} * blockDim.x) {
    const rng::Words4 w = rs.draw(static_cast<std::uint32_t>(b));
#pragma unroll
    for (int l = 0; l < 4; ++l) {
      const std::int64_t i = b * 4 + l;
      if (i < n) {
        const bool keep = rng::uniform01(w.w[l]) >= p;
        mask[i] = keep ? 1 : 0;
        elem::store(y[i], keep ? elem::load(x[i]) * scale : 0.f);
      }
    }
  }
}

template <typename T>
__global__ void masked_scale_kernel(const T* __restrict__ x, const std::uint8_t* __restrict__ mask, T* __restrict__ y,
                                    std::int64_t n, std::int64_t per_mask, float scale) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n; i += std::int64_t{gridDim.x} * blockDim.x)
    elem::store(y[i], mask[i / per_mask] ? elem::load(x[i]) * scale : 0.f);
}

__global__ void keep_kernel(std::uint8_t* keep, std::int64_t samples, float p, rng::Stream rs, const std::uint32_t* epoch_step) {
  if (epoch_step != nullptr) rs = rng::Stream{rs.key0, rs.key1, epoch_step[0], epoch_step[1], rs.op};
  const std::int64_t s = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x;
  if (s < samples) keep[s] = rng::uniform01(rs.word(static_cast<std::uint64_t>(s))) >= p;
}

}  // namespace

template <typename T>
void dropout_forward(const T* x, T* y, std::uint8_t* mask, std::int64_t n, float p, float scale, rng::Stream rs,
                     const std::uint32_t* epoch_step,
                     cudaStream_t stream) {
  if (n == 0) return;
  cmt::cuda::launch(dropout_kernel<T>, colred::grid_1d((n + 3) / 4), 256, 0, stream, x, y, mask, n, p, scale, rs, epoch_step);
  CUDA_CHECK_LAUNCH();
}

template <typename T>
void masked_scale(const T* x, const std::uint8_t* mask, T* y, std::int64_t n, std::int64_t per_mask, float scale,
                  cudaStream_t stream) {
  if (n == 0) return;
  cmt::cuda::launch(masked_scale_kernel<T>, colred::grid_1d(n), 256, 0, stream, x, mask, y, n, per_mask, scale);
  CUDA_CHECK_LAUNCH();
}

void bernoulli_keep(std::uint8_t* keep, std::int64_t samples, float p, rng::Stream rs, const std::uint32_t* epoch_step,
                    cudaStream_t stream) {
  if (samples == 0) return;
  cmt::cuda::launch(keep_kernel, static_cast<unsigned>((samples + 255) / 256), 256, 0, stream, keep, samples, p, rs, epoch_step);
  CUDA_CHECK_LAUNCH();
}

template void dropout_forward<float>(const float*, float*, std::uint8_t*, std::int64_t, float, float, rng::Stream,
                                     const std::uint32_t*, cudaStream_t);
template void dropout_forward<std::uint16_t>(const std::uint16_t*, std::uint16_t*, std::uint8_t*, std::int64_t, float, float,
                                             rng::Stream, const std::uint32_t*, cudaStream_t);
template void masked_scale<float>(const float*, const std::uint8_t*, float*, std::int64_t, std::int64_t, float, cudaStream_t);
template void masked_scale<std::uint16_t>(const std::uint16_t*, const std::uint8_t*, std::uint16_t*, std::int64_t, std::int64_t,
                                          float, cudaStream_t);

}  // namespace cmt::cuda
