// CUDA NT-Xent for small single-rank batches (2N <= 256: the CT and X-ray batches): forward and
// backward in two launches, the similarities recomputed in each and never written to memory.
#include <cuda_runtime.h>

#include "kernels/common/check.h"
#include "kernels/cuda/ntxent_device.h"
#include "kernels/cuda/portable.cuh"
#include "kernels/ntxent.h"

namespace cmt::cuda {

namespace {

using namespace ntxent_detail;

constexpr int kGroup = 4;      // rows per block
constexpr int kThreads = 256;  // 8 warps
constexpr int kWarps = kThreads / 32;
constexpr int kMaxRows = static_cast<int>(kNtXentSmallRows);

struct SmallShared {
  float sim[kGroup][kMaxRows];  // sim(j0 + g, i), later the backward coefficients
  float inv[kMaxRows];          // 1 / max(|r_i|, eps)
  float norm[kMaxRows];         // |r_i|
  double red[kWarps];
};

// sim(j0 + g, i) for the block's rows j0 + g against every row i, and every row's norm. Warp w takes
// rows i = w, w + 8, ...; its lanes stride over d (the block's own rows stay in L1).
__device__ void similarities(const float* __restrict__ r, int rows, std::int64_t dim, int j0, SmallShared& sh) {
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  for (int i = warp; i < rows; i += kWarps) {
    float acc[kGroup] = {}, ss = 0.f;
    const float* ri = r + i * dim;
    for (std::int64_t c = lane; c < dim; c += 32) {
      const float x = ri[c];
      ss = fmaf(x, x, ss);
#pragma unroll
      for (int g = 0; g < kGroup; ++g)
        if (j0 + g < rows) acc[g] = fmaf(r[(j0 + g) * dim + c], x, acc[g]);
    }
    ss = warp_sum(ss);
#pragma unroll
    for (int g = 0; g < kGroup; ++g) acc[g] = warp_sum(acc[g]);
    if (lane == 0) {
      sh.norm[i] = sqrtf(ss);
      sh.inv[i] = inv_norm(sh.norm[i]);
#pragma unroll
      for (int g = 0; g < kGroup; ++g) sh.sim[g][i] = acc[g];
    }
  }
  __syncthreads();
  for (int e = threadIdx.x; e < kGroup * rows; e += kThreads) {
    const int g = e / rows, i = e % rows;
    if (j0 + g < rows) sh.sim[g][i] *= sh.inv[i] * sh.inv[j0 + g];
  }
  __syncthreads();
}

// Launch 1: per row, the log-sum-exp over k != j, l_j and the positive similarity.
__global__ __launch_bounds__(kThreads) void small_stats_kernel(const float* __restrict__ r, NtXentDesc d, float* lse,
                                                               float* row_loss, float* pos_sim) {
  CMT_SHARED(SmallShared, sh, );
  const int rows = static_cast<int>(d.rows_total), j0 = blockIdx.x * kGroup;
  similarities(r, rows, d.dim, j0, sh);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int j = j0 + warp;
  if (warp >= kGroup || j >= rows) return;  // whole warps leave: the shuffles below see full warps
  const float inv_tau = 1.f / d.tau;
  float m = -INFINITY;
  for (int i = lane; i < rows; i += 32)
    if (i != j) m = fmaxf(m, sh.sim[warp][i] * inv_tau);
  m = warp_max(m);
  float s = 0.f;
  for (int i = lane; i < rows; i += 32)
    if (i != j) s += __expf(sh.sim[warp][i] * inv_tau - m);
  s = warp_sum(s);
  if (lane == 0) {
    const float pos = sh.sim[warp][j ^ 1];
    lse[j] = m + logf(s);
    row_loss[j] = m + logf(s) - pos * inv_tau;
    pos_sim[j] = pos;
  }
}

// Launch 2: dr_j = J_j sum_i (g(j, i) + g(i, j)) u_i, with g(i, k) = dL/dsim(i, k) from the row
// log-sum-exps of launch 1 (sim is symmetric, so the block's own similarities serve both terms).
// Block 0 also sums the loss.
__global__ __launch_bounds__(kThreads) void small_grad_kernel(const float* __restrict__ r, NtXentDesc d, float scale,
                                                              const float* __restrict__ lse,
                                                              const float* __restrict__ row_loss, float* loss,
                                                              float* __restrict__ dr) {
  CMT_SHARED(SmallShared, sh, );
  const int rows = static_cast<int>(d.rows_total), j0 = blockIdx.x * kGroup;
  similarities(r, rows, d.dim, j0, sh);
  const float inv_tau = 1.f / d.tau;
  // Coefficients of r_i in du_j (the 1 / |r_i| of u_i folded in).
  for (int e = threadIdx.x; e < kGroup * rows; e += kThreads) {
    const int g = e / rows, i = e % rows, j = j0 + g;
    if (j >= rows) continue;
    float w = 0.f;
    if (i != j) {
      const float z = sh.sim[g][i] * inv_tau;
      w = scale * (__expf(z - lse[j]) + __expf(z - lse[i]) - (i == (j ^ 1) ? 2.f : 0.f)) * sh.inv[i];
    }
    sh.sim[g][i] = w;
  }
  __syncthreads();
  float proj[kGroup] = {};
  for (std::int64_t c = threadIdx.x; c < d.dim; c += kThreads) {
    float acc[kGroup] = {};
    for (int i = 0; i < rows; ++i) {
      const float x = r[i * d.dim + c];
#pragma unroll
      for (int g = 0; g < kGroup; ++g) acc[g] = fmaf(sh.sim[g][i], x, acc[g]);
    }
#pragma unroll
    for (int g = 0; g < kGroup; ++g)
      if (j0 + g < rows) {
        dr[(j0 + g) * d.dim + c] = acc[g];  // du_j for now; projected below by the same thread
        proj[g] = fmaf(r[(j0 + g) * d.dim + c], acc[g], proj[g]);
      }
  }
#pragma unroll
  for (int g = 0; g < kGroup; ++g) {
    const double p = block_reduce(static_cast<double>(proj[g]), SumOp{}, sh.red);  // every thread reaches it
    proj[g] = static_cast<float>(p);
  }
  for (int g = 0; g < kGroup; ++g) {
    const int j = j0 + g;
    if (j >= rows) break;
    const float inv = sh.inv[j];
    // u_j . du_j = (r_j . du_j) / |r_j|; no projection where |r_j| <= eps (u = r / eps is linear there).
    const float keep = sh.norm[j] > kNtXentEps ? proj[g] * inv : 0.f;
    for (std::int64_t c = threadIdx.x; c < d.dim; c += kThreads) {
      float* out = dr + j * d.dim + c;
      *out = (*out - r[j * d.dim + c] * inv * keep) * inv;
    }
  }
  if (blockIdx.x == 0 && loss) {
    double acc = 0.0;
    for (int i = threadIdx.x; i < rows; i += kThreads) acc += row_loss[i];
    acc = block_reduce(acc, SumOp{}, sh.red);
    if (threadIdx.x == 0) loss[0] = static_cast<float>(acc / rows);
  }
}

}  // namespace

bool ntxent_small_supported(const NtXentDesc& d) {
  return d.row_offset == 0 && d.rows_local == d.rows_total && d.rows_total <= kNtXentSmallRows;
}

std::size_t ntxent_small_workspace_bytes(const NtXentDesc& d) { return static_cast<std::size_t>(d.rows_total) * 4; }

void ntxent_small(const NtXentDesc& d, const float* r, float dloss, float* row_loss, float* pos_sim, float* loss,
                  float* dr, void* workspace, cudaStream_t stream) {
  CMT_CHECK(ntxent_small_supported(d) && d.rows_total >= 2 && d.dim > 0,
            "cuda ntxent_small: needs one rank and 2 <= 2N <= " << kNtXentSmallRows << ", got " << d.rows_total);
  auto* lse = static_cast<float*>(workspace);
  const int blocks = static_cast<int>((d.rows_total + kGroup - 1) / kGroup);
  cmt::cuda::launch(small_stats_kernel, blocks, kThreads, 0, stream, r, d, lse, row_loss, pos_sim);
  CUDA_CHECK_LAUNCH();
  const float scale = dloss / (static_cast<float>(d.rows_total) * d.tau);
  cmt::cuda::launch(small_grad_kernel, blocks, kThreads, 0, stream, r, d, scale, lse, row_loss, loss, dr);
  CUDA_CHECK_LAUNCH();
}

}  // namespace cmt::cuda
