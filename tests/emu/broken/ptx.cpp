// The PTX layer: a cp.async stage read before its wait_group, and an mma fed a transposed B fragment.
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "broken.h"
#include "kernels/cuda/portable.cuh"
#include "kernels/cuda/ptx.cuh"

namespace cmt::emu_broken {

namespace {

constexpr int kLanes = 32;

// Each thread stages 16 bytes of global memory in shared memory with cp.async, then copies them out.
__global__ void stage_early_read_kernel(const float4* in, float4* out) {
  CMT_SHARED(float4, stage, [kLanes]);
  const int t = static_cast<int>(threadIdx.x);
  cuda::ptx::cp_async_cg16(&stage[t], &in[t], 16);
  cuda::ptx::cp_async_commit_group();
  // Bug: the stage is read before cp_async_wait_group<0>() has landed the copy.
  out[t] = stage[t];
}

__global__ void stage_kernel(const float4* in, float4* out) {
  CMT_SHARED(float4, stage, [kLanes]);
  const int t = static_cast<int>(threadIdx.x);
  cuda::ptx::cp_async_cg16(&stage[t], &in[t], 16);
  cuda::ptx::cp_async_commit_group();
  cuda::ptx::cp_async_wait_group<0>();
  out[t] = stage[t];
}

CMT_BROKEN_CASE(cp_async_early_read, "cp-async-early-read")
void cp_async_early_read(bool fixed) {
  std::vector<float> in(4 * kLanes);
  for (std::size_t i = 0; i < in.size(); ++i) in[i] = static_cast<float>(i) * 0.5f;
  DeviceBuffer<float> d_in(in), d_out(in.size());
  cuda::launch(fixed ? stage_kernel : stage_early_read_kernel, dim3(1), dim3(kLanes), 0, nullptr,
               reinterpret_cast<const float4*>(d_in.get()), reinterpret_cast<float4*>(d_out.get()));
  CUDA_CHECK_LAUNCH();
  const std::vector<float> out = d_out.host();
  // The emulator fills shared memory with a signalling NaN: a copy not yet landed reads as that.
  for (std::size_t i = 0; i < out.size(); ++i)
    CMT_CHECK(!std::isnan(out[i]), "read before cp.async.wait_group: NaN poison in element " << i << " of the staged copy");
  expect_equal(out, in, "staged copy");
}

// D (16x8) = A (16x8, row-major) * B (8x8, k-major: B[k * 8 + n]) with one m16n8k8 tf32 mma.
// Fragments (PTX ISA, mma.m16n8k8 .tf32), g = lane / 4, t = lane % 4:
//   a0 (g, t), a1 (g + 8, t), a2 (g, t + 4), a3 (g + 8, t + 4); b0 (k = t, n = g), b1 (k = t + 4, n = g);
//   d0 (g, 2t), d1 (g, 2t + 1), d2 (g + 8, 2t), d3 (g + 8, 2t + 1).
template <bool TransposedB>
__global__ void mma_kernel(const float* a_mat, const float* b_mat, float* d_mat) {
  const int lane = static_cast<int>(threadIdx.x), g = lane / 4, t = lane % 4;
  const std::uint32_t a[4] = {cuda::ptx::cvt_rna_tf32(a_mat[g * 8 + t]), cuda::ptx::cvt_rna_tf32(a_mat[(g + 8) * 8 + t]),
                              cuda::ptx::cvt_rna_tf32(a_mat[g * 8 + t + 4]), cuda::ptx::cvt_rna_tf32(a_mat[(g + 8) * 8 + t + 4])};
  std::uint32_t b[2];
  if constexpr (TransposedB) {
    // Bug: (k = g, n = t) instead of (k = t, n = g), as if B were stored n-major.
    b[0] = cuda::ptx::cvt_rna_tf32(b_mat[g * 8 + t]);
    b[1] = cuda::ptx::cvt_rna_tf32(b_mat[g * 8 + t + 4]);
  } else {
    b[0] = cuda::ptx::cvt_rna_tf32(b_mat[t * 8 + g]);
    b[1] = cuda::ptx::cvt_rna_tf32(b_mat[(t + 4) * 8 + g]);
  }
  float c[4] = {0.f, 0.f, 0.f, 0.f};
  cuda::ptx::mma_m16n8k8_tf32(c, a, b);
  d_mat[g * 8 + 2 * t] = c[0];
  d_mat[g * 8 + 2 * t + 1] = c[1];
  d_mat[(g + 8) * 8 + 2 * t] = c[2];
  d_mat[(g + 8) * 8 + 2 * t + 1] = c[3];
}

CMT_BROKEN_CASE(mma_b_transposed, "mma-b-transposed")
void mma_b_transposed(bool fixed) {
  // Small integers: every product and sum is exact, so the result compares bit for bit.
  std::vector<float> a(16 * 8), b(8 * 8), want(16 * 8, 0.f);
  const auto at = [](int row, int col) { return static_cast<std::size_t>(row * 8 + col); };
  for (int i = 0; i < 16; ++i)
    for (int k = 0; k < 8; ++k) a[at(i, k)] = static_cast<float>((i + 2 * k) % 5 - 2);
  for (int k = 0; k < 8; ++k)
    for (int n = 0; n < 8; ++n) b[at(k, n)] = static_cast<float>((3 * k + n) % 7 - 3);
  for (int i = 0; i < 16; ++i)
    for (int n = 0; n < 8; ++n)
      for (int k = 0; k < 8; ++k) want[at(i, n)] += a[at(i, k)] * b[at(k, n)];
  DeviceBuffer<float> d_a(a), d_b(b), d_d(want.size());
  cuda::launch(fixed ? mma_kernel<false> : mma_kernel<true>, dim3(1), dim3(kLanes), 0, nullptr, d_a.get(), d_b.get(), d_d.get());
  CUDA_CHECK_LAUNCH();
  const std::vector<float> got = d_d.host();
  for (int i = 0; i < 16; ++i)
    for (int n = 0; n < 8; ++n)
      CMT_CHECK(got[at(i, n)] == want[at(i, n)],
                "mma result differs from the host product at (" << i << ", " << n << "): " << got[at(i, n)] << ", expected " << want[at(i, n)]);
}

}  // namespace

}  // namespace cmt::emu_broken
