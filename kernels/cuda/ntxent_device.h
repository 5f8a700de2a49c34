// Device helpers shared by the NT-Xent .cu files (included by .cu files only: it needs nvcc).
#pragma once
#include <cuda_runtime.h>

#include "kernels/ntxent.h"

namespace cmt::cuda::ntxent_detail {

__device__ __forceinline__ float inv_norm(float n) { return 1.f / fmaxf(n, kNtXentEps); }

__device__ __forceinline__ float warp_sum(float v) {
  for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
  return v;
}

__device__ __forceinline__ float warp_max(float v) {
  for (int off = 16; off > 0; off >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, off));
  return v;
}

struct MaxOp {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};
struct SumOp {
  template <typename T>
  __device__ T operator()(T a, T b) const { return a + b; }
};

// Block-wide reduction whose result every thread receives, in a fixed order (deterministic).
// shm holds one T per warp; blockDim.x is a multiple of 32.
template <typename T, typename Op>
__device__ T block_reduce(T v, Op op, T* shm) {
  for (int off = 16; off > 0; off >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, off));
  if (threadIdx.x % 32 == 0) shm[threadIdx.x / 32] = v;
  __syncthreads();
  T r = shm[0];
  for (int w = 1; w < static_cast<int>(blockDim.x / 32); ++w) r = op(r, shm[w]);
  __syncthreads();  // shm may be reused right after
  return r;
}

// Merges two running (max, sum of exp(z - max)) pairs; -inf marks an empty one.
__device__ __forceinline__ void lse_merge(float& m, float& s, float mo, float so) {
  const float mx = fmaxf(m, mo);
  s = (m == -INFINITY ? 0.f : s * __expf(m - mx)) + (mo == -INFINITY ? 0.f : so * __expf(mo - mx));
  m = mx;
}

}  // namespace cmt::cuda::ntxent_detail
