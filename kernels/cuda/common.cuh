// Small helpers shared by the kernels of kernels/cuda (nvcc and the emulated device): workspace
// alignment, warp and block reductions, and the float / bf16 storage dispatch. Element loads and
// stores in either storage are elem::load / elem::store (kernels/common/elem.h), which the host-side
// conv problem descriptions use too.
// The column reductions over channels-last data are a separate pair of kernels: reduce.cuh.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "kernels/common/elem.h"
#include "kernels/common/macros.h"
#include "kernels/cuda/portable.cuh"

namespace cmt::cuda {

// bytes rounded up to a multiple of alignment (a power of two); workspaces are carved into pieces
// aligned like cudaMalloc's 256 bytes.
CMT_HD constexpr std::size_t align_up(std::size_t bytes, std::size_t alignment) {
  return (bytes + alignment - 1) & ~(alignment - 1);
}

// ---------------------------------------------------------------- reductions
// Butterfly order: every lane gets the same bits (each step adds a pair the same way on both
// lanes), equal to lane 0 of a __shfl_down_sync tree over the same values.

struct SumOp {
  template <typename T>
  __device__ T operator()(T a, T b) const { return a + b; }
};
struct MaxOp {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};

template <typename T, typename Op>
__device__ __forceinline__ T warp_reduce(T v, Op op) {
  for (int off = 16; off > 0; off >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, off));
  return v;
}
__device__ __forceinline__ float warp_sum(float v) { return warp_reduce(v, SumOp{}); }
__device__ __forceinline__ float warp_max(float v) { return warp_reduce(v, MaxOp{}); }

// Block-wide reduction whose result every thread receives; the warps' results are combined one after
// another in warp order (deterministic). shm holds one T per warp; blockDim.x is a multiple of 32.
template <typename T, typename Op>
__device__ T block_reduce(T v, Op op, T* shm) {
  v = warp_reduce(v, op);
  if (threadIdx.x % 32 == 0) shm[threadIdx.x / 32] = v;
  __syncthreads();
  T r = shm[0];
  for (int w = 1; w < static_cast<int>(blockDim.x / 32); ++w) r = op(r, shm[w]);
  __syncthreads();  // shm may be reused right after
  return r;
}

// Block-wide sum in double for a block of kThreads threads, every thread receives it; the warps'
// sums are combined by a second warp tree (zeros past the last warp), the same order on every run.
template <int kThreads>
__device__ double block_sum(double v) {
  static_assert(kThreads % 32 == 0 && kThreads <= 1024, "block_sum: whole warps, at most 32");
  CMT_SHARED(double, sh, [kThreads / 32]);
  v = warp_reduce(v, SumOp{});
  if ((threadIdx.x & 31) == 0) sh[threadIdx.x >> 5] = v;
  __syncthreads();
  const int lane = threadIdx.x & 31;
  const double total = warp_reduce(lane < kThreads / 32 ? sh[lane] : 0.0, SumOp{});
  __syncthreads();  // sh is reused by the next call
  return total;
}

// Halving tree over kThreads slots of shared memory: step(i, i + half) for every i < half, a barrier
// after each level; slot 0 ends with the result. step combines one or more arrays at once.
template <int kThreads, typename Step>
__device__ __forceinline__ void shared_tree(Step step) {
  for (int half = kThreads / 2; half > 0; half >>= 1) {
    if (threadIdx.x < static_cast<unsigned>(half)) step(static_cast<int>(threadIdx.x), static_cast<int>(threadIdx.x) + half);
    __syncthreads();
  }
}

// ---------------------------------------------------------------- float / bf16 storage
// Calls f with a value of the storage type, float or std::uint16_t (bf16 bits), so that one body
// instantiates kernel<T> for the type the tensor holds:
//   dispatch_storage(bf16, [&](auto tag) { using T = decltype(tag); launch(kernel<T>, ..., static_cast<T*>(y)); });
template <typename F>
decltype(auto) dispatch_storage(bool bf16, F&& f) {
  return bf16 ? f(std::uint16_t{}) : f(float{});
}

}  // namespace cmt::cuda
