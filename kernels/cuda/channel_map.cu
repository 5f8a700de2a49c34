// CUDA channel-map ops: a warp per position sums its channels (each lane in channel order, then the
// butterfly of common.cuh: deterministic); the broadcast is a grid-stride loop.
#include <cuda_runtime.h>

#include "kernels/channel_map.h"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/portable.cuh"
#include "kernels/cuda/reduce.cuh"

namespace cmt::cuda {

namespace {

constexpr int kWarpsPerBlock = 8;

__global__ void channel_reduce_kernel(const float* __restrict__ a, const float* __restrict__ b, float* __restrict__ out,
                                      std::int64_t positions, std::int64_t c, float scale) {
  const int lane = threadIdx.x & 31;
  const std::int64_t warps = std::int64_t{gridDim.x} * kWarpsPerBlock;
  for (std::int64_t p = blockIdx.x * std::int64_t{kWarpsPerBlock} + (threadIdx.x >> 5); p < positions; p += warps) {
    float acc = 0.f;
    for (std::int64_t j = lane; j < c; j += 32) acc += a[p * c + j] * (b != nullptr ? b[p * c + j] : 1.f);
    acc = warp_sum(acc);
    if (lane == 0) out[p] = acc * scale;
  }
}

__global__ void channel_broadcast_kernel(const float* __restrict__ x, const float* __restrict__ m, float* __restrict__ y,
                                         std::int64_t total, std::int64_t c, float scale) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < total; i += std::int64_t{gridDim.x} * blockDim.x) {
    const float v = scale * m[i / c];
    y[i] = x != nullptr ? x[i] * v : v;
  }
}

}  // namespace

void channel_reduce(const float* a, const float* b, float* out, std::int64_t positions, std::int64_t c, float scale,
                    cudaStream_t stream) {
  if (positions == 0) return;
  const auto blocks = static_cast<unsigned>(std::min<std::int64_t>((positions + kWarpsPerBlock - 1) / kWarpsPerBlock, 65535));
  cmt::cuda::launch(channel_reduce_kernel, blocks, 32 * kWarpsPerBlock, 0, stream, a, b, out, positions, c, scale);
  CUDA_CHECK_LAUNCH();
}

void channel_broadcast(const float* x, const float* m, float* y, std::int64_t positions, std::int64_t c, float scale,
                       cudaStream_t stream) {
  if (positions * c == 0) return;
  cmt::cuda::launch(channel_broadcast_kernel, colred::grid_1d(positions * c), 256, 0, stream, x, m, y, positions * c, c, scale);
  CUDA_CHECK_LAUNCH();
}

}  // namespace cmt::cuda
