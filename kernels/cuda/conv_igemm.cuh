// Implicit-GEMM convolution kernels shared by conv_fprop.cu, conv_dgrad.cu and conv_wgrad.cu:
// the SIMT fp32 kernel, the tensor-core kernel (mma.sync tf32 m16n8k8 / bf16 m16n8k16, cp.async
// multi-stage pipeline) and the split-K reduction. Device code only; included by .cu files.
#pragma once
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "kernels/common/check.h"
#include "kernels/common/float16.h"
#include "kernels/conv.h"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/conv_problems.h"
#include "kernels/cuda/portable.cuh"
#include "kernels/cuda/ptx.cuh"

namespace cmt::cuda::igemm {

// ---------------------------------------------------------------- SIMT (exact fp32) implicit GEMM
constexpr int kSimtBM = 64, kSimtBN = 64, kSimtBK = 8, kSimtThreads = 256;

template <class P>
__global__ void __launch_bounds__(kSimtThreads) simt_kernel(P prob, int groups, std::int64_t k_per_split) {
  CMT_SHARED(float, As, [kSimtBK][kSimtBM]);
  CMT_SHARED(float, Bs, [kSimtBK][kSimtBN]);
  const int g = blockIdx.z % groups, split = blockIdx.z / groups;
  const std::int64_t M = prob.M(), Kd = prob.Kd();
  const int N = prob.N();
  const std::int64_t m0 = std::int64_t{blockIdx.x} * kSimtBM;
  const int n0 = blockIdx.y * kSimtBN;
  const std::int64_t kbeg = split * k_per_split, kend = min(Kd, kbeg + k_per_split);
  const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
  float acc[4][4] = {};
  for (std::int64_t k0 = kbeg; k0 < kend; k0 += kSimtBK) {
    for (int i = tid; i < kSimtBM * kSimtBK; i += kSimtThreads) {
      const int row = i / kSimtBK, kk = i % kSimtBK;
      const std::int64_t k = k0 + kk;
      float av = 0.f, bv = 0.f;
      if (k < kend && m0 + row < M) {
        const std::int64_t off = prob.a_off(g, m0 + row, k);
        if (off >= 0) av = elem::load(prob.a[off]);
      }
      if (k < kend && n0 + row < N) {
        const std::int64_t off = prob.b_off(g, n0 + row, k);
        if (off >= 0) bv = elem::load(prob.b[off]);
      }
      As[kk][row] = av;
      Bs[kk][row] = bv;
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kSimtBK; ++kk) {
      float av[4], bv[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) av[i] = As[kk][ty * 4 + i], bv[i] = Bs[kk][tx * 4 + i];
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const std::int64_t m = m0 + ty * 4 + i;
      const int n = n0 + tx * 4 + j;
      if (m < M && n < N) prob.store(g, split, m, n, acc[i][j]);
    }
}

template <class P>
void launch_simt(const P& prob, int groups, int splits, std::int64_t k_per_split, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>((prob.M() + kSimtBM - 1) / kSimtBM), static_cast<unsigned>((prob.N() + kSimtBN - 1) / kSimtBN),
                  static_cast<unsigned>(groups * splits));
  CMT_CHECK(grid.y <= 65535 && grid.z <= 65535, "conv simt: grid " << grid.y << "x" << grid.z << " too large");
  cmt::cuda::launch(simt_kernel<P>, grid, kSimtThreads, 0, stream, prob, groups, k_per_split);
  CUDA_CHECK_LAUNCH();
}

// ---------------------------------------------------------------- tensor-core implicit GEMM
// Invalid chunks copy nothing (src size 0): no global read, the 16 bytes are zero-filled.
__device__ __forceinline__ void cp_async16(void* smem, const void* gmem, bool valid) { ptx::cp_async_cg16(smem, gmem, valid ? 16 : 0); }
__device__ __forceinline__ std::uint32_t pack2(bf16_bits lo, bf16_bits hi) {
  return static_cast<std::uint32_t>(lo) | (static_cast<std::uint32_t>(hi) << 16);
}

__device__ __forceinline__ void mma(float (&c)[4], const std::uint32_t (&a)[4], const std::uint32_t (&b)[2], float) {
  ptx::mma_m16n8k8_tf32(c, a, b);
}
__device__ __forceinline__ void mma(float (&c)[4], const std::uint32_t (&a)[4], const std::uint32_t (&b)[2], bf16_bits) {
  ptx::mma_m16n8k16_bf16(c, a, b);
}

// Shared-memory tile of one operand: rows x BK, stored k-contiguous ([rows][BK+VEC]) when the global
// operand is k-contiguous, else [BK][rows+VEC]; the padding keeps 16-byte rows and spreads banks.
template <typename T, int ROWS, int BK, bool KC>
struct Tile {
  static constexpr int VEC = 16 / sizeof(T);
  static constexpr int kElems = KC ? ROWS * (BK + VEC) : BK * (ROWS + VEC);
  __device__ static int idx(int row, int k) { return KC ? row * (BK + VEC) + k : k * (ROWS + VEC) + row; }
  static constexpr int kChunks = ROWS * BK / VEC;  // 16-byte copies per tile
  // Tile coordinates of chunk ci: its row and its first k (for m/n-contiguous tiles the chunk runs
  // over VEC rows at one k).
  __device__ static void chunk_pos(int ci, int& row, int& k) {
    if (KC) row = ci / (BK / VEC), k = (ci % (BK / VEC)) * VEC;
    else k = ci / (ROWS / VEC), row = (ci % (ROWS / VEC)) * VEC;
  }
};

// One thread's share of one operand's tile copies. The rows a thread copies are the same for every
// k-tile, so their gather contexts (Row, from row_of) are computed once; each k-tile then only
// resolves k (off(row context, k)).
template <typename T, int ROWS, int BK, bool KC, int THREADS, typename Row>
struct Loader {
  using TileT = Tile<T, ROWS, BK, KC>;
  static constexpr int kPer = (TileT::kChunks + THREADS - 1) / THREADS;
  Row ctx[kPer];
  int row[kPer], kin[kPer];
  bool exists[kPer], valid[kPer];

  template <class RowOf>
  __device__ void init(int tid, std::int64_t row0, std::int64_t rows_total, RowOf&& row_of) {
#pragma unroll
    for (int j = 0; j < kPer; ++j) {
      const int ci = tid + j * THREADS;
      exists[j] = ci < TileT::kChunks;
      TileT::chunk_pos(exists[j] ? ci : 0, row[j], kin[j]);
      valid[j] = exists[j] && row0 + row[j] < rows_total;
      if (valid[j]) ctx[j] = row_of(row0 + row[j]);
    }
  }
  // Issues the 16-byte copies of the k-tile starting at k0 (zero-filled outside [.., kend) and rows).
  template <class Off>
  __device__ void load(T* smem, const T* base, std::int64_t k0, std::int64_t kend, Off&& off) const {
#pragma unroll
    for (int j = 0; j < kPer; ++j) {
      if (!exists[j]) continue;
      const std::int64_t k = k0 + kin[j];
      const std::int64_t o = valid[j] && k < kend ? off(ctx[j], k) : -1;
      cp_async16(smem + TileT::idx(row[j], kin[j]), o >= 0 ? base + o : base, o >= 0);
    }
  }
};

template <typename T, int BM, int BN, int WM, int WN>
struct TcConfig {
  static constexpr int kStages = 3;
  static constexpr int BK = 64 / sizeof(T);          // 16 tf32 or 32 bf16 per k-tile
  static constexpr int KSTEP = sizeof(T) == 4 ? 8 : 16;  // mma k
  static constexpr int kWarps = (BM / WM) * (BN / WN);
  static constexpr int kThreads = 32 * kWarps;
  static constexpr int MI = WM / 16, NI = WN / 8;
};

template <typename T, class Cfg, class P>
__global__ void __launch_bounds__(Cfg::kThreads) tc_kernel(P prob, int groups, std::int64_t k_per_split) {
  constexpr int BM = Cfg::BM_, BN = Cfg::BN_, BK = Cfg::BK, S = Cfg::kStages;
  using TA = Tile<T, BM, BK, P::kAK>;
  using TB = Tile<T, BN, BK, P::kBK>;
  CMT_DYNAMIC_SHARED(unsigned char, smem_raw);
  T* sA = reinterpret_cast<T*>(smem_raw);
  T* sB = sA + S * TA::kElems;

  const int g = blockIdx.z % groups, split = blockIdx.z / groups;
  const std::int64_t M = prob.M(), Kd = prob.Kd();
  const int N = prob.N();
  const std::int64_t m0 = std::int64_t{blockIdx.x} * BM;
  const int n0 = blockIdx.y * BN;
  const std::int64_t kbeg = split * k_per_split, kend = min(Kd, kbeg + k_per_split);
  const int ktiles = static_cast<int>((kend - kbeg + BK - 1) / BK);
  const int tid = threadIdx.x, lane = tid % 32, warp = tid / 32;
  const int wm0 = (warp % (BM / Cfg::WM_)) * Cfg::WM_, wn0 = (warp / (BM / Cfg::WM_)) * Cfg::WN_;
  const int gid = lane / 4, t4 = lane % 4;

  Loader<T, BM, BK, P::kAK, Cfg::kThreads, typename P::ARow> la;
  Loader<T, BN, BK, P::kBK, Cfg::kThreads, typename P::BRow> lb;
  la.init(tid, m0, M, [&](std::int64_t m) { return prob.a_row(g, m); });
  lb.init(tid, n0, N, [&](std::int64_t n) { return prob.b_row(g, n); });
  auto load = [&](int stage, int kt) {
    const std::int64_t k0 = kbeg + std::int64_t{kt} * BK;
    la.load(sA + stage * TA::kElems, prob.a, k0, kend, [&](const typename P::ARow& r, std::int64_t k) { return prob.a_off(g, r, k); });
    lb.load(sB + stage * TB::kElems, prob.b, k0, kend, [&](const typename P::BRow& r, std::int64_t k) { return prob.b_off(g, r, k); });
  };

  float acc[Cfg::MI][Cfg::NI][4] = {};
#pragma unroll
  for (int s = 0; s < S - 1; ++s) {
    if (s < ktiles) load(s, s);
    ptx::cp_async_commit_group();
  }
  for (int kt = 0; kt < ktiles; ++kt) {
    ptx::cp_async_wait_group<S - 2>();
    __syncthreads();  // tile kt is visible to all; every warp is done with the stage refilled below
    if (kt + S - 1 < ktiles) load((kt + S - 1) % S, kt + S - 1);
    ptx::cp_async_commit_group();
    const T* a = sA + (kt % S) * TA::kElems;
    const T* b = sB + (kt % S) * TB::kElems;
#pragma unroll
    for (int kb = 0; kb < BK; kb += Cfg::KSTEP) {
      std::uint32_t af[Cfg::MI][4], bfr[Cfg::NI][2];
#pragma unroll
      for (int mi = 0; mi < Cfg::MI; ++mi) {
        const int r = wm0 + mi * 16 + gid;
        if constexpr (sizeof(T) == 4) {  // m16n8k8 tf32: a0 (r, t), a1 (r+8, t), a2 (r, t+4), a3 (r+8, t+4)
          af[mi][0] = ptx::cvt_rna_tf32(a[TA::idx(r, kb + t4)]);
          af[mi][1] = ptx::cvt_rna_tf32(a[TA::idx(r + 8, kb + t4)]);
          af[mi][2] = ptx::cvt_rna_tf32(a[TA::idx(r, kb + t4 + 4)]);
          af[mi][3] = ptx::cvt_rna_tf32(a[TA::idx(r + 8, kb + t4 + 4)]);
        } else {  // m16n8k16 bf16: pairs (2t, 2t+1) of rows r, r+8, then columns +8
          const int c = kb + 2 * t4;
          af[mi][0] = pack2(a[TA::idx(r, c)], a[TA::idx(r, c + 1)]);
          af[mi][1] = pack2(a[TA::idx(r + 8, c)], a[TA::idx(r + 8, c + 1)]);
          af[mi][2] = pack2(a[TA::idx(r, c + 8)], a[TA::idx(r, c + 9)]);
          af[mi][3] = pack2(a[TA::idx(r + 8, c + 8)], a[TA::idx(r + 8, c + 9)]);
        }
      }
#pragma unroll
      for (int ni = 0; ni < Cfg::NI; ++ni) {
        const int n = wn0 + ni * 8 + gid;
        if constexpr (sizeof(T) == 4) {  // b0 (k=t, n), b1 (k=t+4, n)
          bfr[ni][0] = ptx::cvt_rna_tf32(b[TB::idx(n, kb + t4)]);
          bfr[ni][1] = ptx::cvt_rna_tf32(b[TB::idx(n, kb + t4 + 4)]);
        } else {  // b0 (k=2t, 2t+1), b1 (k=2t+8, 2t+9)
          const int c = kb + 2 * t4;
          bfr[ni][0] = pack2(b[TB::idx(n, c)], b[TB::idx(n, c + 1)]);
          bfr[ni][1] = pack2(b[TB::idx(n, c + 8)], b[TB::idx(n, c + 9)]);
        }
      }
#pragma unroll
      for (int mi = 0; mi < Cfg::MI; ++mi)
#pragma unroll
        for (int ni = 0; ni < Cfg::NI; ++ni) mma(acc[mi][ni], af[mi], bfr[ni], T{});
    }
  }
  ptx::cp_async_wait_group<0>();
  // c0 (gid, 2t), c1 (gid, 2t+1), c2 (gid+8, 2t), c3 (gid+8, 2t+1)
#pragma unroll
  for (int mi = 0; mi < Cfg::MI; ++mi)
#pragma unroll
    for (int ni = 0; ni < Cfg::NI; ++ni)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const std::int64_t m = m0 + wm0 + mi * 16 + gid + (e >= 2 ? 8 : 0);
        const int n = n0 + wn0 + ni * 8 + 2 * t4 + (e & 1);
        if (m < M && n < N) prob.store(g, split, m, n, acc[mi][ni][e]);
      }
}

template <typename T, int BM, int BN, int WM, int WN>
struct Tc : TcConfig<T, BM, BN, WM, WN> {
  static constexpr int BM_ = BM, BN_ = BN, WM_ = WM, WN_ = WN;
};

template <typename T, class Cfg, class P>
void launch_tc(const P& prob, int groups, int splits, std::int64_t k_per_split, cudaStream_t stream) {
  using TA = Tile<T, Cfg::BM_, Cfg::BK, P::kAK>;
  using TB = Tile<T, Cfg::BN_, Cfg::BK, P::kBK>;
  const int smem = static_cast<int>(Cfg::kStages * (TA::kElems + TB::kElems) * sizeof(T));
  CUDA_CHECK(cudaFuncSetAttribute(tc_kernel<T, Cfg, P>, cudaFuncAttributeMaxDynamicSharedMemorySize, smem));
  const dim3 grid(static_cast<unsigned>((prob.M() + Cfg::BM_ - 1) / Cfg::BM_), static_cast<unsigned>((prob.N() + Cfg::BN_ - 1) / Cfg::BN_),
                  static_cast<unsigned>(groups * splits));
  CMT_CHECK(grid.y <= 65535 && grid.z <= 65535, "conv tc: grid " << grid.y << "x" << grid.z << " too large");
  cmt::cuda::launch(tc_kernel<T, Cfg, P>, grid, Cfg::kThreads, smem, stream, prob, groups, k_per_split);
  CUDA_CHECK_LAUNCH();
}

// Runs problem P with variant v: the simt kernel or one of the two tensor-core tiles. k_per_split is
// the reduction length per split (a multiple of every kernel's k-tile).
template <typename T, class P>
void run(const ConvVariant& v, const P& prob, int groups, int splits, std::int64_t k_per_split, cudaStream_t stream) {
  switch (v.kind) {
    case ConvVariant::Kind::tc64: return launch_tc<T, Tc<T, 64, 64, 32, 32>>(prob, groups, splits, k_per_split, stream);
    case ConvVariant::Kind::tc128: return launch_tc<T, Tc<T, 128, 128, 64, 32>>(prob, groups, splits, k_per_split, stream);
    default: return launch_simt(prob, groups, splits, k_per_split, stream);
  }
}

// out[i] = sum over s of partial[s * n + i], in split order (deterministic), converted to T.
template <typename T>
__global__ void reduce_splits_kernel(const float* __restrict__ partial, int splits, std::int64_t n, T* __restrict__ out) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n; i += std::int64_t{gridDim.x} * blockDim.x) {
    float s = 0.f;
    for (int k = 0; k < splits; ++k) s += partial[k * n + i];
    elem::store(out[i], s);
  }
}

template <typename T>
void reduce_splits(const float* partial, int splits, std::int64_t n, T* out, cudaStream_t stream) {
  const int blocks = static_cast<int>(std::min<std::int64_t>((n + 255) / 256, 4096));
  cmt::cuda::launch(reduce_splits_kernel<T>, std::max(blocks, 1), 256, 0, stream, partial, splits, n, out);
  CUDA_CHECK_LAUNCH();
}

}  // namespace cmt::cuda::igemm
