// Block barriers: a missing one (a race ThreadSanitizer reports), one reached at two places, and
// one that some threads wait at while the others wait in a warp shuffle.
#include <cuda_runtime.h>

#include <vector>

#include "broken.h"
#include "kernels/cuda/portable.cuh"

namespace cmt::emu_broken {

namespace {

constexpr int kThreads = 64;

// out[i] = in[(i + 1) % n] through a shared tile: each thread reads its neighbour's element.
__global__ void neighbour_unsynced_kernel(const float* in, float* out) {
  CMT_SHARED(float, tile, [kThreads]);
  const int t = static_cast<int>(threadIdx.x);
  tile[t] = in[t];
  // Bug: no __syncthreads() between writing the tile and reading another thread's element.
  out[t] = tile[(t + 1) % kThreads];
}

__global__ void neighbour_kernel(const float* in, float* out) {
  CMT_SHARED(float, tile, [kThreads]);
  const int t = static_cast<int>(threadIdx.x);
  tile[t] = in[t];
  __syncthreads();
  out[t] = tile[(t + 1) % kThreads];
}

std::vector<float> ramp(int n) {
  std::vector<float> v(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = static_cast<float>(i + 1);
  return v;
}

CMT_BROKEN_CASE(missing_barrier, "missing-barrier")
void missing_barrier(bool fixed) {
  const std::vector<float> in = ramp(kThreads);
  DeviceBuffer<float> d_in(in), d_out(kThreads);
  cuda::launch(fixed ? neighbour_kernel : neighbour_unsynced_kernel, dim3(1), dim3(kThreads), 0, nullptr, d_in.get(), d_out.get());
  CUDA_CHECK_LAUNCH();
  std::vector<float> want(kThreads);
  for (int i = 0; i < kThreads; ++i) want[static_cast<std::size_t>(i)] = in[static_cast<std::size_t>((i + 1) % kThreads)];
  expect_equal(d_out.host(), want, "neighbour copy");
}

// The first half of the block and the second reach different __syncthreads.
__global__ void split_barrier_kernel(float* out) {
  CMT_SHARED(float, partial, [kThreads]);
  const int t = static_cast<int>(threadIdx.x);
  if (t < kThreads / 2) {
    partial[t] = 1.f;
    __syncthreads();  // bug: the other half waits at the barrier below, not this one
  } else {
    partial[t] = 2.f;
    __syncthreads();
  }
  out[t] = partial[kThreads - 1 - t];
}

__global__ void one_barrier_kernel(float* out) {
  CMT_SHARED(float, partial, [kThreads]);
  const int t = static_cast<int>(threadIdx.x);
  partial[t] = t < kThreads / 2 ? 1.f : 2.f;
  __syncthreads();
  out[t] = partial[kThreads - 1 - t];
}

CMT_BROKEN_CASE(divergent_barrier, "divergent-barrier")
void divergent_barrier(bool fixed) {
  DeviceBuffer<float> d_out(kThreads);
  cuda::launch(fixed ? one_barrier_kernel : split_barrier_kernel, dim3(1), dim3(kThreads), 0, nullptr, d_out.get());
  CUDA_CHECK_LAUNCH();
  std::vector<float> want(kThreads);
  for (int i = 0; i < kThreads; ++i) want[static_cast<std::size_t>(i)] = i < kThreads / 2 ? 2.f : 1.f;
  expect_equal(d_out.host(), want, "reversed halves");
}

// Thread 0 waits at a barrier the rest of its warp reaches only after a shuffle that needs thread 0.
__global__ void barrier_before_shuffle_kernel(const float* in, float* out) {
  const int t = static_cast<int>(threadIdx.x);
  const float v = in[t];
  if (t == 0) __syncthreads();  // bug: the others are still to reach the shuffle below
  const float next = __shfl_sync(0xffffffffu, v, (t + 1) % 32);
  if (t != 0) __syncthreads();
  out[t] = next;
}

__global__ void shuffle_then_barrier_kernel(const float* in, float* out) {
  const int t = static_cast<int>(threadIdx.x);
  const float v = in[t];
  const float next = __shfl_sync(0xffffffffu, v, (t + 1) % 32);
  __syncthreads();
  out[t] = next;
}

CMT_BROKEN_CASE(barrier_deadlock, "barrier-deadlock")
void barrier_deadlock(bool fixed) {
  const std::vector<float> in = ramp(32);
  DeviceBuffer<float> d_in(in), d_out(32);
  cuda::launch(fixed ? shuffle_then_barrier_kernel : barrier_before_shuffle_kernel, dim3(1), dim3(32), 0, nullptr, d_in.get(),
               d_out.get());
  CUDA_CHECK_LAUNCH();
  std::vector<float> want(32);
  for (int i = 0; i < 32; ++i) want[static_cast<std::size_t>(i)] = in[static_cast<std::size_t>((i + 1) % 32)];
  expect_equal(d_out.host(), want, "warp rotation");
}

}  // namespace

}  // namespace cmt::emu_broken
