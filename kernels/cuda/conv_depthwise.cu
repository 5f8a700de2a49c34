// CUDA depthwise conv (groups == C, K = m*C): fprop, dgrad and wgrad as memory-bound kernels with
// consecutive threads on consecutive channels (coalesced channels-last rows), fp32 accumulation;
// fprop and dgrad also in a 4-channels-per-thread form (16/8-byte accesses) for multiplier 1.
#include "kernels/cuda/conv_igemm.cuh"
#include "kernels/cuda/conv_internal.h"
#include "kernels/cuda/portable.cuh"

namespace cmt::cuda {

namespace {

using igemm::bf16_bits;

constexpr int kThreads = 256;

int grid_for(std::int64_t n) { return static_cast<int>(std::clamp<std::int64_t>((n + kThreads - 1) / kThreads, 1, 65535 * 16)); }

// w (K, T*R*S) -> wt (T*R*S, K) in fp32, so that a warp reads one tap of 32 channels at once.
template <typename T>
__global__ void taps_kernel(int K, int trs, const T* __restrict__ w, float* __restrict__ wt) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < std::int64_t{K} * trs; i += std::int64_t{gridDim.x} * blockDim.x)
    wt[(i % trs) * K + i / trs] = elem::load(w[i]);
}

// Calls fn(tap, y position) for every tap whose window covers x position pos; taps that fall
// between strides or outside the output are skipped.
template <class Fn>
__device__ __forceinline__ void for_each_source(const ConvDesc& d, std::int64_t pos, Fn&& fn) {
  const int iw = static_cast<int>(pos % d.W), ih = static_cast<int>(pos / d.W % d.H), id = static_cast<int>(pos / d.W / d.H % d.D);
  const int n = static_cast<int>(pos / (std::int64_t{d.W} * d.H * d.D));
  for (int t = 0, tap = 0; t < d.T; ++t) {
    const int zs = id + d.pad[0] - t * d.dil[0];
    const bool zok = zs >= 0 && zs % d.stride[0] == 0 && zs / d.stride[0] < d.Z;
    for (int r = 0; r < d.R; ++r) {
      const int ps = ih + d.pad[1] - r * d.dil[1];
      const bool pok = ps >= 0 && ps % d.stride[1] == 0 && ps / d.stride[1] < d.P;
      for (int s = 0; s < d.S; ++s, ++tap) {
        const int qs = iw + d.pad[2] - s * d.dil[2];
        if (!(zok && pok && qs >= 0 && qs % d.stride[2] == 0 && qs / d.stride[2] < d.Q)) continue;
        fn(tap, (((std::int64_t)n * d.Z + zs / d.stride[0]) * d.P + ps / d.stride[1]) * d.Q + qs / d.stride[2]);
      }
    }
  }
}

template <typename T>
__global__ void dw_fprop_kernel(ConvDesc d, const T* __restrict__ x, const float* __restrict__ wt, const T* __restrict__ bias,
                                T* __restrict__ y) {
  const int K = d.K, m = d.K / d.C, trs = d.trs();
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < d.y_elems(); i += std::int64_t{gridDim.x} * blockDim.x) {
    const int k = static_cast<int>(i % K);
    const std::int64_t pos = i / K;
    float acc = bias ? elem::load(bias[k]) : 0.f;
    for (int tap = 0; tap < trs; ++tap) {
      const std::int64_t off = igemm::x_tap_offset(d, pos, tap, k / m);
      if (off >= 0) acc = fmaf(elem::load(x[off]), wt[std::int64_t{tap} * K + k], acc);
    }
    elem::store(y[i], acc);
  }
}

template <typename T>
__global__ void dw_dgrad_kernel(ConvDesc d, const T* __restrict__ dy, const float* __restrict__ wt, T* __restrict__ dx) {
  const int K = d.K, C = d.C, m = d.K / d.C;
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < d.x_elems(); i += std::int64_t{gridDim.x} * blockDim.x) {
    const int c = static_cast<int>(i % C);
    float acc = 0.f;
    for_each_source(d, i / C, [&](int tap, std::int64_t ypos) {
      const std::int64_t yo = ypos * K + c * m;
      for (int j = 0; j < m; ++j) acc = fmaf(elem::load(dy[yo + j]), wt[std::int64_t{tap} * K + c * m + j], acc);
    });
    elem::store(dx[i], acc);
  }
}

// Four consecutive channels as one 16-byte (f32) or 8-byte (bf16) access; callers guarantee the
// alignment (C % 4 == 0, channel index % 4 == 0, 256-byte aligned tensors).
struct F4 {
  float v[4];
};
__device__ __forceinline__ F4 load4(const float* p) {
  const float4 q = *reinterpret_cast<const float4*>(p);
  return {{q.x, q.y, q.z, q.w}};
}
__device__ __forceinline__ F4 load4(const bf16_bits* p) {
  const uint2 q = *reinterpret_cast<const uint2*>(p);
  return {{elem::load(static_cast<bf16_bits>(q.x & 0xffffu)), elem::load(static_cast<bf16_bits>(q.x >> 16)),
           elem::load(static_cast<bf16_bits>(q.y & 0xffffu)), elem::load(static_cast<bf16_bits>(q.y >> 16))}};
}
__device__ __forceinline__ void store4(float* p, const F4& a) {
  *reinterpret_cast<float4*>(p) = make_float4(a.v[0], a.v[1], a.v[2], a.v[3]);
}
__device__ __forceinline__ void store4(bf16_bits* p, const F4& a) {
  bf16_bits h[4];
  for (int i = 0; i < 4; ++i) elem::store(h[i], a.v[i]);
  uint2 q;
  q.x = static_cast<unsigned>(h[0]) | (static_cast<unsigned>(h[1]) << 16);
  q.y = static_cast<unsigned>(h[2]) | (static_cast<unsigned>(h[3]) << 16);
  *reinterpret_cast<uint2*>(p) = q;
}

// Multiplier 1, C % 4 == 0: each thread owns four channels of one output position.
template <typename T>
__global__ void dw_fprop_vec4_kernel(ConvDesc d, const T* __restrict__ x, const float* __restrict__ wt, const T* __restrict__ bias,
                                     T* __restrict__ y) {
  const int K = d.K, K4 = d.K / 4, trs = d.trs();
  const std::int64_t n4 = d.y_positions() * K4;
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n4; i += std::int64_t{gridDim.x} * blockDim.x) {
    const int k = static_cast<int>(i % K4) * 4;
    const std::int64_t pos = i / K4;
    F4 acc = bias ? load4(bias + k) : F4{{0.f, 0.f, 0.f, 0.f}};
    for (int tap = 0; tap < trs; ++tap) {
      const std::int64_t off = igemm::x_tap_offset(d, pos, tap, k);
      if (off < 0) continue;
      const F4 xv = load4(x + off), wv = load4(wt + std::int64_t{tap} * K + k);
#pragma unroll
      for (int j = 0; j < 4; ++j) acc.v[j] = fmaf(xv.v[j], wv.v[j], acc.v[j]);
    }
    store4(y + pos * K + k, acc);
  }
}

template <typename T>
__global__ void dw_dgrad_vec4_kernel(ConvDesc d, const T* __restrict__ dy, const float* __restrict__ wt, T* __restrict__ dx) {
  const int C = d.C, C4 = d.C / 4;
  const std::int64_t n4 = d.x_positions() * C4;
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n4; i += std::int64_t{gridDim.x} * blockDim.x) {
    const int c = static_cast<int>(i % C4) * 4;
    const std::int64_t pos = i / C4;
    F4 acc{{0.f, 0.f, 0.f, 0.f}};
    for_each_source(d, pos, [&](int tap, std::int64_t ypos) {
      const F4 g = load4(dy + ypos * C + c), wv = load4(wt + std::int64_t{tap} * C + c);
#pragma unroll
      for (int j = 0; j < 4; ++j) acc.v[j] = fmaf(g.v[j], wv.v[j], acc.v[j]);
    });
    store4(dx + pos * C + c, acc);
  }
}

// Block (32, 8): 32 channels of one tap; split s and row y take positions s*8 + y, stepping splits*8.
// Writes partial[split][k][tap], reduced over splits afterwards in a fixed order.
template <typename T>
__global__ void dw_wgrad_kernel(ConvDesc d, const T* __restrict__ x, const T* __restrict__ dy, int splits, float* __restrict__ partial) {
  CMT_SHARED(float, red, [8][33]);
  const int K = d.K, m = d.K / d.C, trs = d.trs(), tap = blockIdx.y, split = blockIdx.z;
  const int k = blockIdx.x * 32 + threadIdx.x;
  float acc = 0.f;
  if (k < K)
    for (std::int64_t pos = std::int64_t{split} * 8 + threadIdx.y; pos < d.y_positions(); pos += std::int64_t{splits} * 8) {
      const std::int64_t off = igemm::x_tap_offset(d, pos, tap, k / m);
      if (off >= 0) acc = fmaf(elem::load(dy[pos * K + k]), elem::load(x[off]), acc);
    }
  red[threadIdx.y][threadIdx.x] = acc;
  __syncthreads();
  if (threadIdx.y == 0 && k < K) {
    float s = 0.f;
    for (int i = 0; i < 8; ++i) s += red[i][threadIdx.x];
    partial[(std::int64_t{split} * K + k) * trs + tap] = s;
  }
}

float* taps(const ConvDesc& d, bool bf16, const void* w, void* ws, cudaStream_t stream) {
  float* wt = static_cast<float*>(ws);
  const std::int64_t n = std::int64_t{d.K} * d.trs();
  dispatch_storage(bf16, [&](auto t) {
    using T = decltype(t);
    cmt::cuda::launch(taps_kernel<T>, grid_for(n), kThreads, 0, stream, d.K, d.trs(), static_cast<const T*>(w), wt);
  });
  CUDA_CHECK_LAUNCH();
  return wt;
}

void check_vec4(const ConvDesc& d) {
  CMT_CHECK(d.K == d.C && d.C % 4 == 0, "conv depthwise vec4 needs multiplier 1 and C % 4 == 0: " << d.str());
}

}  // namespace

namespace detail {

std::size_t depthwise_workspace_bytes(ConvPass pass, const ConvDesc& d) {
  const std::size_t taps_bytes = align_up(static_cast<std::size_t>(d.K) * d.trs() * 4, 256);
  if (pass != ConvPass::wgrad) return taps_bytes;
  return align_up(static_cast<std::size_t>(depthwise_wgrad_splits(d)) * taps_bytes, 256);
}

void depthwise_fprop(const ConvDesc& d, bool bf16, bool vec4, const void* x, const void* w, const void* bias, void* y, void* ws,
                     cudaStream_t stream) {
  const float* wt = taps(d, bf16, w, ws, stream);
  if (vec4) check_vec4(d);
  dispatch_storage(bf16, [&](auto t) {
    using T = decltype(t);
    const auto *xs = static_cast<const T*>(x), *bs = static_cast<const T*>(bias);
    if (vec4)
      cmt::cuda::launch(dw_fprop_vec4_kernel<T>, grid_for(d.y_positions() * (d.K / 4)), kThreads, 0, stream, d, xs, wt, bs, static_cast<T*>(y));
    else
      cmt::cuda::launch(dw_fprop_kernel<T>, grid_for(d.y_elems()), kThreads, 0, stream, d, xs, wt, bs, static_cast<T*>(y));
  });
  CUDA_CHECK_LAUNCH();
}

void depthwise_dgrad(const ConvDesc& d, bool bf16, bool vec4, const void* dy, const void* w, void* dx, void* ws, cudaStream_t stream) {
  const float* wt = taps(d, bf16, w, ws, stream);
  if (vec4) check_vec4(d);
  dispatch_storage(bf16, [&](auto t) {
    using T = decltype(t);
    if (vec4)
      cmt::cuda::launch(dw_dgrad_vec4_kernel<T>, grid_for(d.x_positions() * (d.C / 4)), kThreads, 0, stream, d, static_cast<const T*>(dy), wt,
          static_cast<T*>(dx));
    else
      cmt::cuda::launch(dw_dgrad_kernel<T>, grid_for(d.x_elems()), kThreads, 0, stream, d, static_cast<const T*>(dy), wt, static_cast<T*>(dx));
  });
  CUDA_CHECK_LAUNCH();
}

void depthwise_wgrad(const ConvDesc& d, bool bf16, const void* x, const void* dy, void* dw, void* ws, cudaStream_t stream) {
  const int splits = depthwise_wgrad_splits(d);
  float* partial = static_cast<float*>(ws);
  const dim3 grid(static_cast<unsigned>((d.K + 31) / 32), static_cast<unsigned>(d.trs()), static_cast<unsigned>(splits)), block(32, 8);
  const std::int64_t n = std::int64_t{d.K} * d.trs();
  dispatch_storage(bf16, [&](auto t) {
    using T = decltype(t);
    cmt::cuda::launch(dw_wgrad_kernel<T>, grid, block, 0, stream, d, static_cast<const T*>(x), static_cast<const T*>(dy), splits, partial);
    CUDA_CHECK_LAUNCH();
    igemm::reduce_splits<T>(partial, splits, n, static_cast<T*>(dw), stream);
  });
}

}  // namespace detail

}  // namespace cmt::cuda
