// Warp collectives: a shuffle whose mask names lanes that have already returned.
#include <cuda_runtime.h>

#include <vector>

#include "broken.h"
#include "kernels/cuda/portable.cuh"

namespace cmt::emu_broken {

namespace {

constexpr int kActive = 16;  // lanes with data; the rest of the warp returns at once

// out[l] = in[l] + in[l ^ 1] for the first kActive lanes.
__global__ void pair_sum_full_mask_kernel(const float* in, float* out) {
  const int lane = static_cast<int>(threadIdx.x);
  if (lane >= kActive) return;
  const float v = in[lane];
  out[lane] = v + __shfl_xor_sync(0xffffffffu, v, 1);  // bug: the mask names lanes 16..31, which have returned
}

__global__ void pair_sum_kernel(const float* in, float* out) {
  const int lane = static_cast<int>(threadIdx.x);
  if (lane >= kActive) return;
  const float v = in[lane];
  out[lane] = v + __shfl_xor_sync((1u << kActive) - 1, v, 1);
}

CMT_BROKEN_CASE(shfl_exited_lane, "shfl-exited-lane")
void shfl_exited_lane(bool fixed) {
  std::vector<float> in(kActive);
  for (int i = 0; i < kActive; ++i) in[static_cast<std::size_t>(i)] = static_cast<float>(i * i);
  DeviceBuffer<float> d_in(in), d_out(kActive);
  cuda::launch(fixed ? pair_sum_kernel : pair_sum_full_mask_kernel, dim3(1), dim3(32), 0, nullptr, d_in.get(), d_out.get());
  CUDA_CHECK_LAUNCH();
  std::vector<float> want(kActive);
  for (std::size_t i = 0; i < want.size(); ++i) want[i] = in[i] + in[i ^ 1];
  expect_equal(d_out.host(), want, "pair sums");
}

}  // namespace

}  // namespace cmt::emu_broken
