// CUDA kernels of the NT-Xent loss: a fused forward over 64x64 similarity tiles with an online
// log-sum-exp per row, and a striped backward (cuBLAS similarities, fused softmax-gradient kernel).
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>

#include "kernels/common/check.h"
#include "kernels/cuda/cublas_stream.h"
#include "kernels/cuda/ntxent_device.h"
#include "kernels/cuda/portable.cuh"
#include "kernels/ntxent.h"

namespace cmt::cuda {

namespace {

using namespace ntxent_detail;

constexpr int kTile = 64;         // query rows and key rows per forward block
constexpr int kDepth = 16;        // columns of d staged in shared memory per step
constexpr int kTileThreads = 256; // 16 x 16 threads, each 4 x 4 similarities
constexpr int kRowThreads = 256;  // threads per row of the gradient kernel
constexpr int kWarpsPerBlock = 8; // rows per block of the per-row (warp) kernels
constexpr std::int64_t kTargetBlocks = 264;  // ~2 waves on an H100: split the keys when queries are few
constexpr std::int64_t kStripeBudget = std::int64_t{64} << 20;  // floats of similarity scratch (256 MB)

// Rows of one or two matrices handled by one launch (local and gathered rows together).
struct RowSegments {
  const float* x[2];
  float* u[2];     // unit rows
  float* norm[2];  // |x| per row
  float* du[2];    // for the Jacobian kernel: gradient w.r.t. u, replaced by the gradient w.r.t. x
  std::int64_t rows[2];
};

__device__ __forceinline__ int segment_of(const RowSegments& s, std::int64_t& row) {
  if (row < s.rows[0]) return 0;
  row -= s.rows[0];
  return 1;
}

// One warp per row: norm and unit row.
__global__ void normalise_kernel(RowSegments s, std::int64_t dim) {
  std::int64_t row = blockIdx.x * std::int64_t{kWarpsPerBlock} + threadIdx.x / 32;
  if (row >= s.rows[0] + s.rows[1]) return;
  const int seg = segment_of(s, row);
  const int lane = threadIdx.x % 32;
  const float* x = s.x[seg] + row * dim;
  float ss = 0.f;
  for (std::int64_t c = lane; c < dim; c += 32) ss += x[c] * x[c];
  const float n = sqrtf(warp_sum(ss));
  if (lane == 0) s.norm[seg][row] = n;
  const float inv = inv_norm(n);
  float* u = s.u[seg] + row * dim;
  for (std::int64_t c = lane; c < dim; c += 32) u[c] = x[c] * inv;
}

// One warp per row: dx = (du - u (u . du)) / |x| for |x| > eps, du / eps otherwise (in place).
__global__ void jacobian_kernel(RowSegments s, std::int64_t dim) {
  std::int64_t row = blockIdx.x * std::int64_t{kWarpsPerBlock} + threadIdx.x / 32;
  if (row >= s.rows[0] + s.rows[1]) return;
  const int seg = segment_of(s, row);
  const int lane = threadIdx.x % 32;
  const float* u = s.u[seg] + row * dim;
  float* du = s.du[seg] + row * dim;
  float p = 0.f;
  for (std::int64_t c = lane; c < dim; c += 32) p += u[c] * du[c];
  const float n = s.norm[seg][row];
  const float proj = warp_sum(p);  // the whole warp shares the row, so every lane reaches the shuffle
  const float keep = n > kNtXentEps ? proj : 0.f;
  const float inv = inv_norm(n);
  for (std::int64_t c = lane; c < dim; c += 32) du[c] = (du[c] - u[c] * keep) * inv;
}

// Forward: block (x, y) takes local rows [64 x, 64 x + 64) against key tiles y, y + splits, ...;
// thread (ty, tx) holds rows ty + 16 a and columns tx + 16 b of each tile and a running (max, sum)
// per row; the 16 lanes of a row merge at the end and write one partial per (split, row). Row norms
// are summed from the same shared-memory tiles. The similarity matrix never leaves registers.
__global__ __launch_bounds__(kTileThreads) void forward_tile_kernel(const float* __restrict__ q,
                                                                    const float* __restrict__ k, NtXentDesc d,
                                                                    float* part_m, float* part_s, float* part_pos) {
  CMT_SHARED(float, qs, [kDepth][kTile + 4]);
  CMT_SHARED(float, ks, [kDepth][kTile + 4]);
  CMT_SHARED(float, qinv_s, [kTile]);
  CMT_SHARED(float, kinv_s, [kTile]);
  const int t = threadIdx.x, ty = t / 16, tx = t % 16;
  const std::int64_t i0 = blockIdx.x * std::int64_t{kTile};
  const std::int64_t key_tiles = (d.rows_total + kTile - 1) / kTile;
  const float inv_tau = 1.f / d.tau;
  float m[4], s[4], pos[4];
  std::int64_t gi[4];
#pragma unroll
  for (int a = 0; a < 4; ++a) {
    gi[a] = d.row_offset + i0 + ty + 16 * a;
    m[a] = -INFINITY;
    s[a] = 0.f;
    pos[a] = 0.f;
  }
  for (std::int64_t jt = blockIdx.y; jt < key_tiles; jt += gridDim.y) {
    const std::int64_t j0 = jt * kTile;
    float acc[4][4] = {};
    float sq = 0.f;  // threads 0..63: key row t; 64..127: query row t - 64
    for (std::int64_t c0 = 0; c0 < d.dim; c0 += kDepth) {
      for (int e = t; e < kTile * kDepth; e += kTileThreads) {
        const int row = e / kDepth, kk = e % kDepth;
        const std::int64_t c = c0 + kk;
        const std::int64_t qi = i0 + row, kj = j0 + row;
        qs[kk][row] = (qi < d.rows_local && c < d.dim) ? q[qi * d.dim + c] : 0.f;
        ks[kk][row] = (kj < d.rows_total && c < d.dim) ? k[kj * d.dim + c] : 0.f;
      }
      __syncthreads();
      if (t < 2 * kTile) {
#pragma unroll
        for (int kk = 0; kk < kDepth; ++kk) {
          const float v = t < kTile ? ks[kk][t] : qs[kk][t - kTile];
          sq = fmaf(v, v, sq);
        }
      }
#pragma unroll
      for (int kk = 0; kk < kDepth; ++kk) {
        float av[4], bv[4];
#pragma unroll
        for (int a = 0; a < 4; ++a) av[a] = qs[kk][ty + 16 * a];
#pragma unroll
        for (int b = 0; b < 4; ++b) bv[b] = ks[kk][tx + 16 * b];
#pragma unroll
        for (int a = 0; a < 4; ++a)
#pragma unroll
          for (int b = 0; b < 4; ++b) acc[a][b] = fmaf(av[a], bv[b], acc[a][b]);
      }
      __syncthreads();
    }
    if (t < kTile) kinv_s[t] = inv_norm(sqrtf(sq));
    else if (t < 2 * kTile) qinv_s[t - kTile] = inv_norm(sqrtf(sq));
    __syncthreads();  // the next writes of kinv_s/qinv_s come after the next tile's first barrier
#pragma unroll
    for (int b = 0; b < 4; ++b) {
      const std::int64_t j = j0 + tx + 16 * b;
      if (j >= d.rows_total) continue;
#pragma unroll
      for (int a = 0; a < 4; ++a) {
        if (gi[a] - d.row_offset >= d.rows_local || j == gi[a]) continue;  // the diagonal leaves the softmax
        const float sim = acc[a][b] * qinv_s[ty + 16 * a] * kinv_s[tx + 16 * b];
        const float z = sim * inv_tau;
        if (j == (gi[a] ^ 1)) pos[a] = sim;
        if (z > m[a]) {
          s[a] = s[a] * __expf(m[a] - z) + 1.f;  // exp(-inf) = 0 on the first column
          m[a] = z;
        } else {
          s[a] += __expf(z - m[a]);
        }
      }
    }
  }
#pragma unroll
  for (int a = 0; a < 4; ++a) {
    // The 16 lanes of a row are one half-warp: xor offsets below 16 stay inside it.
    for (int off = 8; off > 0; off >>= 1) {
      const float mo = __shfl_xor_sync(0xffffffffu, m[a], off);
      const float so = __shfl_xor_sync(0xffffffffu, s[a], off);
      pos[a] += __shfl_xor_sync(0xffffffffu, pos[a], off);
      lse_merge(m[a], s[a], mo, so);
    }
    const std::int64_t i = i0 + ty + 16 * a;
    if (tx == 0 && i < d.rows_local) {
      const std::int64_t at = blockIdx.y * d.rows_local + i;
      part_m[at] = m[a];
      part_s[at] = s[a];
      part_pos[at] = pos[a];
    }
  }
}

// Merges the key splits of each row in a fixed order, writes l_i and the positive similarity, and
// the loss = sum(l_i) / rows_total (double accumulation, one block: deterministic).
__global__ void forward_combine_kernel(const float* part_m, const float* part_s, const float* part_pos, int splits,
                                       NtXentDesc d, float* row_loss, float* pos_sim, float* loss) {
  CMT_SHARED(double, shm, [kRowThreads / 32]);
  double acc = 0.0;
  for (std::int64_t i = threadIdx.x; i < d.rows_local; i += kRowThreads) {
    float m = -INFINITY, s = 0.f, pos = 0.f;
    for (int p = 0; p < splits; ++p) {
      lse_merge(m, s, part_m[p * d.rows_local + i], part_s[p * d.rows_local + i]);
      pos += part_pos[p * d.rows_local + i];
    }
    const float li = m + logf(s) - pos / d.tau;
    row_loss[i] = li;
    pos_sim[i] = pos;
    acc += li;
  }
  acc = block_reduce(acc, SumOp{}, shm);
  if (threadIdx.x == 0) loss[0] = static_cast<float>(acc / static_cast<double>(d.rows_total));
}

// One block per stripe row: s (ld = rows_total) holds sim(i, j); replaced in place by dL/ds(i, j).
__global__ __launch_bounds__(kRowThreads) void softmax_grad_kernel(float* s, std::int64_t g0, NtXentDesc d,
                                                                   float scale, float* row_loss, float* pos_sim,
                                                                   std::int64_t local0) {
  CMT_SHARED(float, shm, [kRowThreads / 32]);
  float* row = s + blockIdx.x * d.rows_total;
  const std::int64_t gi = g0 + blockIdx.x, gp = gi ^ 1;
  const float inv_tau = 1.f / d.tau;
  float mx = -INFINITY;
  for (std::int64_t j = threadIdx.x; j < d.rows_total; j += kRowThreads)
    if (j != gi) mx = fmaxf(mx, row[j] * inv_tau);
  mx = block_reduce(mx, MaxOp{}, shm);
  float sum = 0.f;
  for (std::int64_t j = threadIdx.x; j < d.rows_total; j += kRowThreads)
    if (j != gi) sum += __expf(row[j] * inv_tau - mx);
  sum = block_reduce(sum, SumOp{}, shm);
  const float lse = mx + logf(sum);
  if (threadIdx.x == 0 && row_loss) {
    row_loss[local0 + blockIdx.x] = lse - row[gp] * inv_tau;
    pos_sim[local0 + blockIdx.x] = row[gp];
  }
  __syncthreads();  // row[gp] is read above before it is overwritten below
  for (std::int64_t j = threadIdx.x; j < d.rows_total; j += kRowThreads) {
    const float p = __expf(row[j] * inv_tau - lse);
    row[j] = j == gi ? 0.f : scale * (p - (j == gp ? 1.f : 0.f));
  }
}

__global__ void loss_sum_kernel(const float* row_loss, std::int64_t n, double inv_rows, float* loss) {
  CMT_SHARED(double, shm, [kRowThreads / 32]);
  double acc = 0.0;
  for (std::int64_t i = threadIdx.x; i < n; i += kRowThreads) acc += row_loss[i];
  acc = block_reduce(acc, SumOp{}, shm);
  if (threadIdx.x == 0) loss[0] = static_cast<float>(acc * inv_rows);
}

int forward_splits(const NtXentDesc& d) {
  const std::int64_t query_tiles = (d.rows_local + kTile - 1) / kTile, key_tiles = (d.rows_total + kTile - 1) / kTile;
  return static_cast<int>(std::clamp<std::int64_t>(kTargetBlocks / query_tiles, 1, key_tiles));
}

int row_blocks(std::int64_t rows) {
  return static_cast<int>((rows + kWarpsPerBlock - 1) / kWarpsPerBlock);
}

// Sets the handle's math mode for this op and restores the caller's, also when a call throws.
class MathModeGuard {
 public:
  MathModeGuard(cublasHandle_t h, cublasMath_t mode) : h_(h) {
    CUBLAS_CHECK(cublasGetMathMode(h_, &previous_));
    CUBLAS_CHECK(cublasSetMathMode(h_, mode));
  }
  ~MathModeGuard() { cublasSetMathMode(h_, previous_); }
  MathModeGuard(const MathModeGuard&) = delete;
  MathModeGuard& operator=(const MathModeGuard&) = delete;

 private:
  cublasHandle_t h_;
  cublasMath_t previous_ = CUBLAS_DEFAULT_MATH;
};

// Scratch layout of the backward pass, carved from one workspace.
struct BackwardScratch {
  float *u_local, *u_all, *n_local, *n_all, *sim;
};

BackwardScratch carve(const NtXentDesc& d, std::int64_t stripe, void* ws) {
  auto* p = static_cast<unsigned char*>(ws);
  auto take = [&](std::int64_t floats) {
    auto* f = reinterpret_cast<float*>(p);
    p += align_up(static_cast<std::size_t>(floats) * sizeof(float), 256);
    return f;
  };
  BackwardScratch s;
  s.u_local = take(d.rows_local * d.dim);
  s.u_all = take(d.rows_total * d.dim);
  s.n_local = take(d.rows_local);
  s.n_all = take(d.rows_total);
  s.sim = take(stripe * d.rows_total);
  return s;
}

}  // namespace

std::size_t ntxent_forward_workspace_bytes(const NtXentDesc& d) {
  return 3 * align_up(static_cast<std::size_t>(forward_splits(d)) * static_cast<std::size_t>(d.rows_local) * 4, 256);
}

void ntxent_loss_sum(const float* row_loss, std::int64_t n, std::int64_t rows_total, float* loss, cudaStream_t stream) {
  cmt::cuda::launch(loss_sum_kernel, 1, kRowThreads, 0, stream, row_loss, n, 1.0 / static_cast<double>(rows_total), loss);
  CUDA_CHECK_LAUNCH();
}

void ntxent_forward(const NtXentDesc& d, const float* local, const float* all, float* row_loss, float* pos_sim,
                    float* loss, void* workspace, cudaStream_t stream) {
  CMT_CHECK(d.rows_local > 0 && d.rows_total >= 2 && d.dim > 0, "cuda ntxent_forward: empty problem");
  const int splits = forward_splits(d);
  const std::size_t part = align_up(static_cast<std::size_t>(splits) * static_cast<std::size_t>(d.rows_local) * 4, 256);
  auto* base = static_cast<unsigned char*>(workspace);
  auto* part_m = reinterpret_cast<float*>(base);
  auto* part_s = reinterpret_cast<float*>(base + part);
  auto* part_pos = reinterpret_cast<float*>(base + 2 * part);
  const std::int64_t query_tiles = (d.rows_local + kTile - 1) / kTile;
  CMT_CHECK(query_tiles < (std::int64_t{1} << 31), "cuda ntxent_forward: too many rows " << d.rows_local);
  const dim3 grid(static_cast<unsigned>(query_tiles), static_cast<unsigned>(splits));
  cmt::cuda::launch(forward_tile_kernel, grid, kTileThreads, 0, stream, local, all, d, part_m, part_s, part_pos);
  CUDA_CHECK_LAUNCH();
  cmt::cuda::launch(forward_combine_kernel, 1, kRowThreads, 0, stream, part_m, part_s, part_pos, splits, d, row_loss, pos_sim, loss);
  CUDA_CHECK_LAUNCH();
}

std::int64_t ntxent_stripe_rows(const NtXentDesc& d, std::int64_t stripe_rows) {
  if (stripe_rows <= 0) stripe_rows = std::max<std::int64_t>(64, kStripeBudget / d.rows_total);
  return std::min(stripe_rows, d.rows_local);
}

std::size_t ntxent_backward_workspace_bytes(const NtXentDesc& d, std::int64_t stripe_rows) {
  const std::int64_t stripe = ntxent_stripe_rows(d, stripe_rows);
  const auto f = [](std::int64_t n) { return align_up(static_cast<std::size_t>(n) * sizeof(float), 256); };
  return f(d.rows_local * d.dim) + f(d.rows_total * d.dim) + f(d.rows_local) + f(d.rows_total) +
         f(stripe * d.rows_total);
}

void ntxent_backward(const NtXentDesc& d, const float* local, const float* all, float dloss, float* d_local,
                     float* d_all, void* workspace, cublasHandle_t cublas, bool tensor_cores, cudaStream_t stream,
                     std::int64_t stripe_rows, float* row_loss, float* pos_sim) {
  CMT_CHECK(d.rows_local > 0 && d.rows_total >= 2 && d.dim > 0, "cuda ntxent_backward: empty problem");
  CMT_CHECK(d.rows_total < (std::int64_t{1} << 31) && d.dim < (std::int64_t{1} << 31),
            "cuda ntxent_backward: sizes exceed cuBLAS int range");
  const std::int64_t stripe = ntxent_stripe_rows(d, stripe_rows);
  const BackwardScratch s = carve(d, stripe, workspace);
  RowSegments seg{{local, all}, {s.u_local, s.u_all}, {s.n_local, s.n_all}, {d_local, d_all},
                  {d.rows_local, d.rows_total}};
  cmt::cuda::launch(normalise_kernel, row_blocks(d.rows_local + d.rows_total), kWarpsPerBlock * 32, 0, stream, seg, d.dim);
  CUDA_CHECK_LAUNCH();

  require_handle_stream(cublas, stream);
  const MathModeGuard math(cublas, tensor_cores ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH);
  const int R = static_cast<int>(d.rows_total), D = static_cast<int>(d.dim);
  const float one = 1.f, zero = 0.f;
  const float scale = dloss / (static_cast<float>(d.rows_total) * d.tau);
  // Row-major matrices seen by column-major cuBLAS are their transposes: U (R, D) is U^T (D, R), ld D.
  for (std::int64_t c0 = 0; c0 < d.rows_local; c0 += stripe) {
    const int n = static_cast<int>(std::min(stripe, d.rows_local - c0));
    const float* uq = s.u_local + c0 * d.dim;
    // sim (n, R) = Uq (n, D) . U_all^T
    CUBLAS_CHECK(cublasSgemm(cublas, CUBLAS_OP_T, CUBLAS_OP_N, R, n, D, &one, s.u_all, D, uq, D, &zero, s.sim, R));
    cmt::cuda::launch(softmax_grad_kernel, n, kRowThreads, 0, stream, s.sim, d.row_offset + c0, d, scale, row_loss, pos_sim, c0);
    CUDA_CHECK_LAUNCH();
    // dUq (n, D) = G (n, R) . U_all (R, D)
    CUBLAS_CHECK(cublasSgemm(cublas, CUBLAS_OP_N, CUBLAS_OP_N, D, n, R, &one, s.u_all, D, s.sim, R, &zero,
                             d_local + c0 * d.dim, D));
    // dU_all (R, D) += G^T (R, n) . Uq (n, D)
    const float beta = c0 == 0 ? 0.f : 1.f;
    CUBLAS_CHECK(cublasSgemm(cublas, CUBLAS_OP_N, CUBLAS_OP_T, D, R, n, &one, uq, D, s.sim, R, &beta, d_all, D));
  }
  cmt::cuda::launch(jacobian_kernel, row_blocks(d.rows_local + d.rows_total), kWarpsPerBlock * 32, 0, stream, seg, d.dim);
  CUDA_CHECK_LAUNCH();
}

}  // namespace cmt::cuda
