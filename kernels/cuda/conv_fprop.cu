// CUDA conv forward: implicit GEMM (SIMT fp32 / tensor cores), the C=1 stem kernel, depthwise dispatch.
#include "kernels/cuda/conv_igemm.cuh"
#include "kernels/cuda/conv_internal.h"
#include "kernels/cuda/portable.cuh"

namespace cmt::cuda {

namespace {

using igemm::bf16_bits;

constexpr int kStemThreads = 128, kStemK = 16;

// C = 1, groups = 1: one thread per output position, kStemK output channels per block with their
// filters in shared memory; exact fp32 FMA (the stem's reduction is only T*R*S long).
template <typename T>
__global__ void __launch_bounds__(kStemThreads) stem_kernel(ConvDesc d, const T* __restrict__ x, const T* __restrict__ w,
                                                            const T* __restrict__ bias, T* __restrict__ y) {
  CMT_DYNAMIC_SHARED(float, wsm);  // [kStemK][T*R*S]
  const int trs = d.trs();
  const int k0 = blockIdx.y * kStemK;
  for (int i = threadIdx.x; i < kStemK * trs; i += blockDim.x) {
    const int k = k0 + i / trs;
    wsm[i] = k < d.K ? igemm::to_f(w[std::int64_t{k} * trs + i % trs]) : 0.f;
  }
  __syncthreads();
  const std::int64_t m = std::int64_t{blockIdx.x} * kStemThreads + threadIdx.x;
  if (m >= d.y_positions()) return;
  float acc[kStemK];
#pragma unroll
  for (int j = 0; j < kStemK; ++j) acc[j] = (bias && k0 + j < d.K) ? igemm::to_f(bias[k0 + j]) : 0.f;
  for (int i = 0; i < trs; ++i) {
    const std::int64_t off = igemm::x_tap_offset(d, m, i, 0);
    if (off < 0) continue;
    const float xv = igemm::to_f(x[off]);
#pragma unroll
    for (int j = 0; j < kStemK; ++j) acc[j] = fmaf(xv, wsm[j * trs + i], acc[j]);
  }
#pragma unroll
  for (int j = 0; j < kStemK; ++j)
    if (k0 + j < d.K) y[m * d.K + k0 + j] = igemm::from_f<T>(acc[j]);
}

template <typename T>
void fprop_typed(const ConvDesc& d, const ConvVariant& v, const void* x, const void* w, const void* bias, void* y,
                 cudaStream_t stream) {
  igemm::FpropProblem<T> prob{d, static_cast<const T*>(x), static_cast<const T*>(w), static_cast<const T*>(bias),
                              static_cast<T*>(y)};
  igemm::run<T>(v, prob, d.groups, 1, prob.Kd(), stream);
}

}  // namespace

namespace detail {

void stem_fprop(const ConvDesc& d, bool bf16, const void* x, const void* w, const void* bias, void* y, cudaStream_t stream) {
  CMT_CHECK(d.C == 1 && d.groups == 1, "conv stem kernel needs C = 1, got " << d.str());
  const std::size_t smem = sizeof(float) * kStemK * d.trs();
  CMT_CHECK(smem <= 48 * 1024, "conv stem kernel: filter of " << d.trs() << " taps is too large");
  const dim3 grid(static_cast<unsigned>((d.y_positions() + kStemThreads - 1) / kStemThreads), static_cast<unsigned>((d.K + kStemK - 1) / kStemK));
  if (bf16)
    cmt::cuda::launch(stem_kernel<bf16_bits>, grid, kStemThreads, smem, stream, d, static_cast<const bf16_bits*>(x), static_cast<const bf16_bits*>(w),
        static_cast<const bf16_bits*>(bias), static_cast<bf16_bits*>(y));
  else
    cmt::cuda::launch(stem_kernel<float>, grid, kStemThreads, smem, stream, d, static_cast<const float*>(x), static_cast<const float*>(w),
        static_cast<const float*>(bias), static_cast<float*>(y));
  CUDA_CHECK_LAUNCH();
}

}  // namespace detail

void conv_fprop(const ConvDesc& d, ConvMath math, const ConvVariant& v, const void* x, const void* w, const void* bias,
                void* y, void* ws, cudaStream_t stream) {
  const bool bf16 = math == ConvMath::bf16;
  if (v.kind == ConvVariant::Kind::depthwise || v.kind == ConvVariant::Kind::depthwise4)
    return detail::depthwise_fprop(d, bf16, v.kind == ConvVariant::Kind::depthwise4, x, w, bias, y, ws, stream);
  if (v.kind == ConvVariant::Kind::stem) return detail::stem_fprop(d, bf16, x, w, bias, y, stream);
  CMT_CHECK(v.kind == ConvVariant::Kind::simt || math != ConvMath::fp32,
            "conv fprop: variant " << v.name() << " uses tensor cores but the math is exact fp32");
  if (bf16) fprop_typed<bf16_bits>(d, v, x, w, bias, y, stream);
  else fprop_typed<float>(d, v, x, w, bias, y, stream);
}

}  // namespace cmt::cuda
