// CUDA conv weight gradient (implicit GEMM, split-K partials reduced in a fixed order) and bias gradient.
#include "kernels/cuda/conv_igemm.cuh"
#include "kernels/cuda/conv_internal.h"
#include "kernels/cuda/portable.cuh"

namespace cmt::cuda {

namespace {

template <typename T>
void wgrad_typed(const ConvDesc& d, const ConvVariant& v, const void* x, const void* dy, void* dw, void* ws,
                 cudaStream_t stream) {
  const int splits = detail::wgrad_splits(d, v);
  const std::int64_t kper = detail::wgrad_k_per_split(d, splits);
  float* partial = static_cast<float*>(ws);
  igemm::WgradProblem<T> prob{d, static_cast<const T*>(dy), static_cast<const T*>(x), partial};
  igemm::run<T>(v, prob, d.groups, splits, kper, stream);
  igemm::reduce_splits<T>(partial, splits, d.w_elems(), static_cast<T*>(dw), stream);
}

constexpr int kStemThreads = 128, kStemK = 16, kStemRows = 32;

// C = 1, groups = 1 (the network's stem): the reduction runs over output positions, the outputs are
// only K x T*R*S. Each block sums the positions of its split for kStemK output channels; thread i
// owns taps i, i + 128, ... (kStemTapsPerThread at most) and keeps their kStemK sums in registers.
// The split's dy rows and window origins are staged through shared memory kStemRows at a time, so a
// thread does one x load per (position, tap) for kStemK FMAs. Exact fp32 FMA; one partial per split,
// reduced in a fixed order (deterministic).
template <typename T>
__global__ void __launch_bounds__(kStemThreads) stem_wgrad_kernel(ConvDesc d, const T* __restrict__ x, const T* __restrict__ dy,
                                                                  std::int64_t per_split, float* __restrict__ partial) {
  CMT_SHARED(float, dys, [kStemRows][kStemK]);
  CMT_SHARED(int, origin, [kStemRows][4]);  // n, and the window's first input index per dimension
  const int trs = d.trs(), k0 = blockIdx.y * kStemK;
  const std::int64_t M = d.y_positions(), m_begin = std::int64_t{blockIdx.x} * per_split;
  const std::int64_t m_end = M < m_begin + per_split ? M : m_begin + per_split;
  int tap_d[detail::kStemTapsPerThread], tap_h[detail::kStemTapsPerThread], tap_w[detail::kStemTapsPerThread];
  float acc[detail::kStemTapsPerThread][kStemK];
#pragma unroll
  for (int j = 0; j < detail::kStemTapsPerThread; ++j) {
    const int tap = threadIdx.x + j * kStemThreads;
    tap_d[j] = tap / (d.R * d.S) * d.dil[0];
    tap_h[j] = tap / d.S % d.R * d.dil[1];
    tap_w[j] = tap % d.S * d.dil[2];
#pragma unroll
    for (int k = 0; k < kStemK; ++k) acc[j][k] = 0.f;
  }
  for (std::int64_t m0 = m_begin; m0 < m_end; m0 += kStemRows) {
    const int rows = static_cast<int>(m_end - m0 < kStemRows ? m_end - m0 : kStemRows);
    __syncthreads();  // the previous rows are consumed
    for (int i = threadIdx.x; i < kStemRows * kStemK; i += kStemThreads) {
      const int r = i / kStemK, k = k0 + i % kStemK;
      dys[r][i % kStemK] = r < rows && k < d.K ? elem::load(dy[(m0 + r) * d.K + k]) : 0.f;
    }
    if (threadIdx.x < rows) {
      int n, z, p, q;
      igemm::split_pos(d, m0 + threadIdx.x, n, z, p, q);
      origin[threadIdx.x][0] = n;
      origin[threadIdx.x][1] = z * d.stride[0] - d.pad[0];
      origin[threadIdx.x][2] = p * d.stride[1] - d.pad[1];
      origin[threadIdx.x][3] = q * d.stride[2] - d.pad[2];
    }
    __syncthreads();
    for (int r = 0; r < rows; ++r) {
#pragma unroll
      for (int j = 0; j < detail::kStemTapsPerThread; ++j) {
        const int id = origin[r][1] + tap_d[j], ih = origin[r][2] + tap_h[j], iw = origin[r][3] + tap_w[j];
        if (static_cast<int>(threadIdx.x) + j * kStemThreads >= trs || id < 0 || id >= d.D || ih < 0 || ih >= d.H || iw < 0 || iw >= d.W)
          continue;
        const float xv = elem::load(x[((std::int64_t{origin[r][0]} * d.D + id) * d.H + ih) * d.W + iw]);
#pragma unroll
        for (int k = 0; k < kStemK; ++k) acc[j][k] = fmaf(xv, dys[r][k], acc[j][k]);
      }
    }
  }
  float* out = partial + std::int64_t{blockIdx.x} * d.w_elems();
#pragma unroll
  for (int j = 0; j < detail::kStemTapsPerThread; ++j) {
    const int tap = threadIdx.x + j * kStemThreads;
    if (tap >= trs) continue;
#pragma unroll
    for (int k = 0; k < kStemK; ++k)
      if (k0 + k < d.K) out[std::int64_t{k0 + k} * trs + tap] = acc[j][k];
  }
}

template <typename T>
void stem_wgrad_typed(const ConvDesc& d, const void* x, const void* dy, void* dw, void* ws, cudaStream_t stream) {
  const int splits = detail::stem_wgrad_splits(d);
  const std::int64_t per_split = (d.y_positions() + splits - 1) / splits;
  float* partial = static_cast<float*>(ws);
  const dim3 grid(static_cast<unsigned>(splits), static_cast<unsigned>((d.K + kStemK - 1) / kStemK));
  cmt::cuda::launch(stem_wgrad_kernel<T>, grid, kStemThreads, 0, stream, d, static_cast<const T*>(x), static_cast<const T*>(dy),
                    per_split, partial);
  CUDA_CHECK_LAUNCH();
  igemm::reduce_splits<T>(partial, splits, d.w_elems(), static_cast<T*>(dw), stream);
}

// Column sums of dy (rows x K): block (32, 8) covers 32 channels; split s takes rows s, s+splits, ...
template <typename T>
__global__ void bias_partial_kernel(const T* __restrict__ dy, std::int64_t rows, int K, int splits, float* __restrict__ partial) {
  CMT_SHARED(float, red, [8][33]);
  const int k = blockIdx.x * 32 + threadIdx.x;
  float acc = 0.f;
  if (k < K)
    for (std::int64_t r = blockIdx.y + std::int64_t{threadIdx.y} * splits; r < rows; r += std::int64_t{splits} * 8)
      acc += elem::load(dy[r * K + k]);
  red[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && k < K) {
    float s = 0.f;
    for (int i = 0; i < 8; ++i) s += red[i][threadIdx.x];
    partial[std::int64_t{blockIdx.y} * K + k] = s;
  }
}

}  // namespace

void conv_wgrad(const ConvDesc& d, ConvMath math, const ConvVariant& v, const void* x, const void* dy, void* dw, void* ws,
                cudaStream_t stream) {
  const bool bf16 = math == ConvMath::bf16;
  if (v.kind == ConvVariant::Kind::depthwise || v.kind == ConvVariant::Kind::depthwise4)
    return detail::depthwise_wgrad(d, bf16, x, dy, dw, ws, stream);
  if (v.kind == ConvVariant::Kind::stem) {
    CMT_CHECK(detail::stem_wgrad_fits(d), "conv stem wgrad needs C = 1, groups 1 and at most "
                                              << detail::kStemTapsPerThread * 128 << " taps, got " << d.str());
    return dispatch_storage(bf16, [&](auto t) { stem_wgrad_typed<decltype(t)>(d, x, dy, dw, ws, stream); });
  }
  CMT_CHECK(v.kind == ConvVariant::Kind::simt || math != ConvMath::fp32,
            "conv wgrad: variant " << v.name() << " cannot run with " << conv_math_name(math) << " math");
  dispatch_storage(bf16, [&](auto t) { wgrad_typed<decltype(t)>(d, v, x, dy, dw, ws, stream); });
}

void conv_bias_grad(std::int64_t rows, int K, bool bf16, const void* dy, void* db, void* ws, cudaStream_t stream) {
  const int splits = static_cast<int>(std::clamp<std::int64_t>(rows / 1024, 1, 128));  // as in the workspace size
  float* partial = static_cast<float*>(ws);
  const dim3 grid(static_cast<unsigned>((K + 31) / 32), static_cast<unsigned>(splits)), block(32, 8);
  dispatch_storage(bf16, [&](auto t) {
    using T = decltype(t);
    cmt::cuda::launch(bias_partial_kernel<T>, grid, block, 0, stream, static_cast<const T*>(dy), rows, K, splits, partial);
    CUDA_CHECK_LAUNCH();
    igemm::reduce_splits<T>(partial, splits, K, static_cast<T*>(db), stream);
  });
}

}  // namespace cmt::cuda
