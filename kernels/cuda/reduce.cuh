// Deterministic column reductions for channels-last data, shared by the layer kernels (device code only).
// For each group g and channel c: out[g, c] = sum over rows r of f(g*rows + r, c), accumulated as float2 per
// thread, float2 per chunk in the workspace, then the chunks summed in double in a fixed order.
#pragma once
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "kernels/common/check.h"
#include "kernels/common/elem.h"
#include "kernels/cuda/portable.cuh"

namespace cmt::cuda::colred {

constexpr int kCols = 32;  // channels per block (one warp wide: coalesced rows)
constexpr int kRows = 8;   // row lanes per block

// Chunks per group: enough blocks to fill the GPU, each chunk at least 64 rows.
inline int chunks_for(std::int64_t groups, std::int64_t rows, std::int64_t c) {
  const std::int64_t col_blocks = (c + kCols - 1) / kCols;
  const std::int64_t want = std::max<std::int64_t>(1, 1024 / std::max<std::int64_t>(1, col_blocks * groups));
  return static_cast<int>(std::max<std::int64_t>(1, std::min<std::int64_t>(want, (rows + 63) / 64)));
}

inline std::size_t workspace_bytes(std::int64_t groups, std::int64_t rows, std::int64_t c) {
  return static_cast<std::size_t>(groups * chunks_for(groups, rows, c) * c) * sizeof(float2);
}

// grid (ceil(c/32), chunks, groups), block (32, 8).
template <typename F>
__global__ void partial_kernel(std::int64_t rows, std::int64_t c, int chunks, F f, float2* partial) {
  CMT_SHARED(float2, sh, [kRows][kCols]);
  const std::int64_t col = blockIdx.x * std::int64_t{kCols} + threadIdx.x;
  const std::int64_t per = (rows + chunks - 1) / chunks;
  const std::int64_t begin = blockIdx.y * per, end = min(rows, begin + per);
  const std::int64_t base = blockIdx.z * rows;
  float2 acc = make_float2(0.f, 0.f);
  if (col < c)
    for (std::int64_t r = begin + threadIdx.y; r < end; r += kRows) {
      const float2 v = f(base + r, col);
      acc.x += v.x;
      acc.y += v.y;
    }
  sh[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && col < c) {
    for (int k = 1; k < kRows; ++k) {
      acc.x += sh[k][threadIdx.x].x;
      acc.y += sh[k][threadIdx.x].y;
    }
    partial[(blockIdx.z * std::int64_t{chunks} + blockIdx.y) * c + col] = acc;
  }
}

// One thread per (group, channel): sums the chunks in double, then fin(g, c, sum.x, sum.y).
template <typename Fin>
__global__ void finish_kernel(std::int64_t groups, std::int64_t c, int chunks, const float2* partial, Fin fin) {
  const std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x;
  if (i >= groups * c) return;
  const std::int64_t g = i / c, col = i % c;
  double sx = 0, sy = 0;
  for (int k = 0; k < chunks; ++k) {
    const float2 v = partial[(g * chunks + k) * c + col];
    sx += v.x;
    sy += v.y;
  }
  fin(g, col, sx, sy);
}

// Runs both kernels on `stream`; workspace holds workspace_bytes(groups, rows, c).
template <typename F, typename Fin>
void run(std::int64_t groups, std::int64_t rows, std::int64_t c, F f, Fin fin, void* workspace, cudaStream_t stream) {
  CMT_CHECK(groups <= 65535, "column reduction: " << groups << " groups exceed the grid's z limit");
  const int chunks = chunks_for(groups, rows, c);
  auto* partial = static_cast<float2*>(workspace);
  const dim3 grid(static_cast<unsigned>((c + kCols - 1) / kCols), static_cast<unsigned>(chunks),
                  static_cast<unsigned>(groups));
  cmt::cuda::launch(partial_kernel<F>, grid, dim3(kCols, kRows), 0, stream, rows, c, chunks, f, partial);
  CUDA_CHECK_LAUNCH();
  const std::int64_t total = groups * c;
  cmt::cuda::launch(finish_kernel<Fin>, static_cast<unsigned>((total + 255) / 256), 256, 0, stream, groups, c, chunks, partial, fin);
  CUDA_CHECK_LAUNCH();
}

// f for a plain column sum of row-major (rows, c) data; T = float or std::uint16_t (bf16 bits, widened).
template <typename T>
struct LoadRows {
  const T* x;
  std::int64_t c;
  __device__ float2 operator()(std::int64_t r, std::int64_t col) const { return make_float2(elem::load(x[r * c + col]), 0.f); }
};

// Grid for a grid-stride elementwise loop of n items.
inline unsigned grid_1d(std::int64_t n, int threads = 256) {
  return static_cast<unsigned>(std::min<std::int64_t>(std::max<std::int64_t>((n + threads - 1) / threads, 1), 65535 * 32));
}

}  // namespace cmt::cuda::colred
