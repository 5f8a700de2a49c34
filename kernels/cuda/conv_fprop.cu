// CUDA conv forward: implicit GEMM (SIMT fp32 / tensor cores), the C=1 stem kernel, depthwise dispatch.
#include "kernels/cuda/conv_igemm.cuh"
#include "kernels/cuda/conv_internal.h"
#include "kernels/cuda/portable.cuh"

namespace cmt::cuda {

namespace {

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
    wsm[i] = k < d.K ? elem::load(w[std::int64_t{k} * trs + i % trs]) : 0.f;
  }
  __syncthreads();
  const std::int64_t m = std::int64_t{blockIdx.x} * kStemThreads + threadIdx.x;
  if (m >= d.y_positions()) return;
  float acc[kStemK];
#pragma unroll
  for (int j = 0; j < kStemK; ++j) acc[j] = (bias && k0 + j < d.K) ? elem::load(bias[k0 + j]) : 0.f;
  for (int i = 0; i < trs; ++i) {
    const std::int64_t off = igemm::x_tap_offset(d, m, i, 0);
    if (off < 0) continue;
    const float xv = elem::load(x[off]);
#pragma unroll
    for (int j = 0; j < kStemK; ++j) acc[j] = fmaf(xv, wsm[j * trs + i], acc[j]);
  }
#pragma unroll
  for (int j = 0; j < kStemK; ++j)
    if (k0 + j < d.K) elem::store(y[m * d.K + k0 + j], acc[j]);
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
  dispatch_storage(bf16, [&](auto t) {
    using T = decltype(t);
    cmt::cuda::launch(stem_kernel<T>, grid, kStemThreads, smem, stream, d, static_cast<const T*>(x), static_cast<const T*>(w),
        static_cast<const T*>(bias), static_cast<T*>(y));
  });
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
  dispatch_storage(bf16, [&](auto t) { fprop_typed<decltype(t)>(d, v, x, w, bias, y, stream); });
}

}  // namespace cmt::cuda
