// Launch configurations the device refuses: grid.y past 65535, and more than 48 KB of dynamic
// shared memory without opting in.
#include <cuda_runtime.h>

#include <vector>

#include "broken.h"
#include "kernels/cuda/portable.cuh"

namespace cmt::emu_broken {

namespace {

constexpr int kRows = 70000;

__global__ void row_index_y_kernel(float* out) { out[blockIdx.y] = static_cast<float>(blockIdx.y); }
__global__ void row_index_x_kernel(float* out) { out[blockIdx.x] = static_cast<float>(blockIdx.x); }

CMT_BROKEN_CASE(grid_y_overflow, "grid-y-overflow")
void grid_y_overflow(bool fixed) {
  DeviceBuffer<float> d_out(kRows);
  if (fixed) {
    cuda::launch(row_index_x_kernel, dim3(kRows), dim3(1), 0, nullptr, d_out.get());
  } else {
    cuda::launch(row_index_y_kernel, dim3(1, kRows), dim3(1), 0, nullptr, d_out.get());  // bug: one row per grid.y
  }
  CUDA_CHECK_LAUNCH();
  std::vector<float> want(kRows);
  for (int i = 0; i < kRows; ++i) want[static_cast<std::size_t>(i)] = static_cast<float>(i);
  expect_equal(d_out.host(), want, "row indices");
}

constexpr int kThreads = 256;
constexpr int kFloats = 64 * 1024 / 4;  // 64 KB of dynamic shared memory

// out = in reversed, through shared memory.
__global__ void reverse_kernel(const float* in, float* out) {
  CMT_DYNAMIC_SHARED(float, buf);
  for (int i = static_cast<int>(threadIdx.x); i < kFloats; i += kThreads) buf[i] = in[i];
  __syncthreads();
  for (int i = static_cast<int>(threadIdx.x); i < kFloats; i += kThreads) out[i] = buf[kFloats - 1 - i];
}

CMT_BROKEN_CASE(dynamic_smem_no_attribute, "dynamic-smem-no-attribute")
void dynamic_smem_no_attribute(bool fixed) {
  std::vector<float> in(kFloats);
  for (int i = 0; i < kFloats; ++i) in[static_cast<std::size_t>(i)] = static_cast<float>(i % 1000);
  DeviceBuffer<float> d_in(in), d_out(kFloats);
  constexpr std::size_t bytes = kFloats * sizeof(float);
  // The bug is leaving this out: past 48 KB a kernel must opt in.
  if (fixed) CUDA_CHECK(cudaFuncSetAttribute(reverse_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)));
  cuda::launch(reverse_kernel, dim3(1), dim3(kThreads), bytes, nullptr, d_in.get(), d_out.get());
  CUDA_CHECK_LAUNCH();
  expect_equal(d_out.host(), std::vector<float>(in.rbegin(), in.rend()), "reversed copy");
}

}  // namespace

}  // namespace cmt::emu_broken
