// CUDA Adam/AdamW: one fused grid-stride kernel over the flat parameter block (float4 loads when aligned),
// the arithmetic of kernels/cpu/optimizer.cpp; and a deterministic sum of squares for clipping.
#include <cuda_runtime.h>

#include "kernels/common/float16.h"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/portable.cuh"
#include "kernels/cuda/reduce.cuh"
#include "kernels/optimizer.h"

namespace cmt::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int kSqBlocks = 1024;

__device__ __forceinline__ void adam_one(const AdamStep& s, float& p, float g, float& m, float& v) {
  if (s.weight_decay != 0.f) {
    if (s.decoupled) p = p * s.decay;
    else g = g + s.weight_decay * p;
  }
  m = m * s.beta1 + s.one_minus_beta1 * g;
  v = v * s.beta2 + s.one_minus_beta2 * g * g;
  const float denom = sqrtf(v) / s.bc2_sqrt + s.eps;
  p = p - s.step_size * (m / denom);
}

__global__ void adam_kernel(const AdamStep* __restrict__ scalars, const float* __restrict__ guard, float* __restrict__ p, const float* __restrict__ g, float* __restrict__ m,
                            float* __restrict__ v, std::uint16_t* __restrict__ p_bf16, std::int64_t n, bool vec4) {
  // The step's scalars and the finite-loss guard are read on the device, so a captured graph
  // replays with each step's learning rate and bias corrections, and skips a step whose loss is not finite.
  if (guard != nullptr && !isfinite(*guard)) return;
  const AdamStep s = *scalars;
  const std::int64_t stride = std::int64_t{gridDim.x} * blockDim.x;
  const std::int64_t start = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x;
  std::int64_t tail = 0;
  if (vec4) {
    const std::int64_t n4 = n / 4;
    for (std::int64_t i = start; i < n4; i += stride) {
      float4 pp = reinterpret_cast<float4*>(p)[i], mm = reinterpret_cast<float4*>(m)[i];
      float4 vv = reinterpret_cast<float4*>(v)[i];
      const float4 gg = reinterpret_cast<const float4*>(g)[i];
      adam_one(s, pp.x, gg.x, mm.x, vv.x);
      adam_one(s, pp.y, gg.y, mm.y, vv.y);
      adam_one(s, pp.z, gg.z, mm.z, vv.z);
      adam_one(s, pp.w, gg.w, mm.w, vv.w);
      reinterpret_cast<float4*>(p)[i] = pp;
      reinterpret_cast<float4*>(m)[i] = mm;
      reinterpret_cast<float4*>(v)[i] = vv;
      if (p_bf16) {
        p_bf16[4 * i] = num::float_to_bf16(pp.x);
        p_bf16[4 * i + 1] = num::float_to_bf16(pp.y);
        p_bf16[4 * i + 2] = num::float_to_bf16(pp.z);
        p_bf16[4 * i + 3] = num::float_to_bf16(pp.w);
      }
    }
    tail = n4 * 4;
  }
  for (std::int64_t i = tail + start; i < n; i += stride) {
    float pp = p[i], mm = m[i], vv = v[i];
    adam_one(s, pp, g[i], mm, vv);
    p[i] = pp;
    m[i] = mm;
    v[i] = vv;
    if (p_bf16) p_bf16[i] = num::float_to_bf16(pp);
  }
}

__global__ void sq_partial_kernel(const float* __restrict__ x, std::int64_t n, double* __restrict__ partial) {
  CMT_SHARED(double, sh, [kThreads]);
  double acc = 0;
  for (std::int64_t i = blockIdx.x * std::int64_t{kThreads} + threadIdx.x; i < n; i += std::int64_t{gridDim.x} * kThreads)
    acc += static_cast<double>(x[i]) * x[i];
  sh[threadIdx.x] = acc;
  __syncthreads();
  shared_tree<kThreads>([&](int i, int j) { sh[i] += sh[j]; });
  if (threadIdx.x == 0) partial[blockIdx.x] = sh[0];
}

__global__ void sq_final_kernel(const double* __restrict__ partial, int blocks, float* out) {
  CMT_SHARED(double, sh, [kThreads]);
  double acc = 0;
  for (int i = threadIdx.x; i < blocks; i += kThreads) acc += partial[i];
  sh[threadIdx.x] = acc;
  __syncthreads();
  shared_tree<kThreads>([&](int i, int j) { sh[i] += sh[j]; });
  if (threadIdx.x == 0) *out = static_cast<float>(sh[0]);
}

// g *= max_norm / (norm + 1e-6) when that is below 1, norm = sqrt(*sq) read on the device.
__global__ void clip_kernel(float* __restrict__ g, std::int64_t n, const float* __restrict__ sq, float max_norm,
                            float* __restrict__ norm_out) {
  const float norm = sqrtf(*sq);
  const float coef = max_norm / (norm + 1e-6f);
  const std::int64_t start = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x;
  if (start == 0) *norm_out = norm;
  if (!(coef < 1.f)) return;
  for (std::int64_t i = start; i < n; i += std::int64_t{gridDim.x} * blockDim.x) g[i] = coef * g[i];
}

int sq_blocks(std::int64_t n) {
  return static_cast<int>(std::max<std::int64_t>(1, std::min<std::int64_t>(kSqBlocks, (n + kThreads - 1) / kThreads)));
}

}  // namespace

void adam_step(const AdamStep* scalars, const float* guard, float* p, const float* g, float* m, float* v, std::uint16_t* p_bf16,
               std::int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  const auto aligned = [](const void* q) { return reinterpret_cast<std::uintptr_t>(q) % 16 == 0; };
  const bool vec4 = aligned(p) && aligned(g) && aligned(m) && aligned(v);
  // Enough blocks to cover the block in a few strides: one launch for any size.
  const unsigned grid = colred::grid_1d(vec4 ? (n + 3) / 4 : n, kThreads);
  cmt::cuda::launch(adam_kernel, std::min(grid, 132u * 16u), kThreads, 0, stream, scalars, guard, p, g, m, v, p_bf16, n, vec4);
  CUDA_CHECK_LAUNCH();
}

std::size_t sum_squares_workspace_bytes(std::int64_t) { return kSqBlocks * sizeof(double); }

void sum_squares(const float* x, std::int64_t n, float* out, void* workspace, cudaStream_t stream) {
  const int blocks = sq_blocks(n);
  auto* partial = static_cast<double*>(workspace);
  cmt::cuda::launch(sq_partial_kernel, blocks, kThreads, 0, stream, x, n, partial);
  CUDA_CHECK_LAUNCH();
  cmt::cuda::launch(sq_final_kernel, 1, kThreads, 0, stream, partial, blocks, out);
  CUDA_CHECK_LAUNCH();
}

void clip_by_norm(float* g, std::int64_t n, const float* sq, float max_norm, float* norm_out, cudaStream_t stream) {
  const unsigned grid = std::max(1u, std::min(colred::grid_1d(n, kThreads), 132u * 8u));
  cmt::cuda::launch(clip_kernel, grid, kThreads, 0, stream, g, n, sq, max_norm, norm_out);
  CUDA_CHECK_LAUNCH();
}

}  // namespace cmt::cuda
