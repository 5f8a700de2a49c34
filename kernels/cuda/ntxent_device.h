// Device helpers shared by the NT-Xent .cu files (included by .cu files only: it needs nvcc).
#pragma once
#include <cuda_runtime.h>

#include "kernels/cuda/common.cuh"
#include "kernels/ntxent.h"

namespace cmt::cuda::ntxent_detail {

__device__ __forceinline__ float inv_norm(float n) { return 1.f / fmaxf(n, kNtXentEps); }

// Merges two running (max, sum of exp(z - max)) pairs; -inf marks an empty one.
__device__ __forceinline__ void lse_merge(float& m, float& s, float mo, float so) {
  const float mx = fmaxf(m, mo);
  s = (m == -INFINITY ? 0.f : s * __expf(m - mx)) + (mo == -INFINITY ? 0.f : so * __expf(mo - mx));
  m = mx;
}

}  // namespace cmt::cuda::ntxent_detail
