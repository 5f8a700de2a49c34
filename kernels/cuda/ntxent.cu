// CUDA kernels of the NT-Xent loss: a fused forward over 64x64 similarity tiles with an online
// log-sum-exp per row, and a striped backward (cuBLAS similarities, fused softmax-gradient kernel).
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>

#include "kernels/common/check.h"
#include "kernels/cuda/ntxent.h"

namespace cmt::cuda {

namespace {

constexpr int kTile = 64;         // query rows and key rows per forward block
constexpr int kDepth = 16;        // columns of d staged in shared memory per step
constexpr int kTileThreads = 256; // 16 x 16 threads, each 4 x 4 similarities
constexpr int kRowThreads = 256;  // threads per row of the gradient kernel
constexpr int kWarpsPerBlock = 8; // rows per block of the per-row (warp) kernels
constexpr std::int64_t kStripeBudget = std::int64_t{64} << 20;  // floats of similarity scratch (256 MB)

std::size_t align256(std::size_t bytes) { return (bytes + 255) & ~std::size_t{255}; }

__device__ __forceinline__ float inv_norm(float n) { return 1.f / fmaxf(n, kNtXentEps); }

__device__ __forceinline__ float warp_sum(float v) {
  for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
  return v;
}

// Rows of one or two matrices handled by one launch (local and gathered rows together).
struct RowSegments {
  const float* x[2];
  float* u[2];     // unit rows (may be null: norms only)
  float* norm[2];  // |x| per row
  float* du[2];    // for the Jacobian kernel: gradient w.r.t. u, replaced by the gradient w.r.t. x
  std::int64_t rows[2];
};

__device__ __forceinline__ int segment_of(const RowSegments& s, std::int64_t& row) {
  if (row < s.rows[0]) return 0;
  row -= s.rows[0];
  return 1;
}

// One warp per row: norm, and the unit row when requested.
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
  if (s.u[seg]) {
    const float inv = inv_norm(n);
    float* u = s.u[seg] + row * dim;
    for (std::int64_t c = lane; c < dim; c += 32) u[c] = x[c] * inv;
  }
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
  const float proj = n > kNtXentEps ? warp_sum(p) : 0.f;
  const float inv = inv_norm(n);
  for (std::int64_t c = lane; c < dim; c += 32) du[c] = (du[c] - u[c] * proj) * inv;
}

// Forward: block b takes local rows [64 b, 64 b + 64) against every key tile; thread (ty, tx) holds
// rows ty + 16 a and columns tx + 16 c of each tile and a running (max, sum) per row; the 16 lanes of
// a row merge at the end. The similarity matrix never leaves registers.
__global__ __launch_bounds__(kTileThreads) void forward_tile_kernel(const float* __restrict__ q,
                                                                    const float* __restrict__ k,
                                                                    const float* __restrict__ qnorm,
                                                                    const float* __restrict__ knorm, NtXentDesc d,
                                                                    float* row_loss, float* pos_sim) {
  __shared__ float qs[kDepth][kTile + 4];
  __shared__ float ks[kDepth][kTile + 4];
  const int t = threadIdx.x, ty = t / 16, tx = t % 16;
  const std::int64_t i0 = blockIdx.x * std::int64_t{kTile};
  const float inv_tau = 1.f / d.tau;
  float qinv[4], m[4], s[4], pos[4];
  std::int64_t gi[4];
  bool qvalid[4];
#pragma unroll
  for (int a = 0; a < 4; ++a) {
    const std::int64_t i = i0 + ty + 16 * a;
    qvalid[a] = i < d.rows_local;
    qinv[a] = qvalid[a] ? inv_norm(qnorm[i]) : 0.f;
    gi[a] = d.row_offset + i;
    m[a] = -INFINITY;
    s[a] = 0.f;
    pos[a] = 0.f;
  }
  for (std::int64_t j0 = 0; j0 < d.rows_total; j0 += kTile) {
    float acc[4][4] = {};
    for (std::int64_t c0 = 0; c0 < d.dim; c0 += kDepth) {
      for (int e = t; e < kTile * kDepth; e += kTileThreads) {
        const int row = e / kDepth, kk = e % kDepth;
        const std::int64_t c = c0 + kk;
        const std::int64_t qi = i0 + row, kj = j0 + row;
        qs[kk][row] = (qi < d.rows_local && c < d.dim) ? q[qi * d.dim + c] : 0.f;
        ks[kk][row] = (kj < d.rows_total && c < d.dim) ? k[kj * d.dim + c] : 0.f;
      }
      __syncthreads();
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
#pragma unroll
    for (int b = 0; b < 4; ++b) {
      const std::int64_t j = j0 + tx + 16 * b;
      if (j >= d.rows_total) continue;
      const float kinv = inv_norm(knorm[j]);
#pragma unroll
      for (int a = 0; a < 4; ++a) {
        if (!qvalid[a] || j == gi[a]) continue;  // the diagonal is masked out of the softmax
        const float sim = acc[a][b] * qinv[a] * kinv;
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
      const float mx = fmaxf(m[a], mo);
      s[a] = (m[a] == -INFINITY ? 0.f : s[a] * __expf(m[a] - mx)) + (mo == -INFINITY ? 0.f : so * __expf(mo - mx));
      m[a] = mx;
    }
    if (tx == 0 && qvalid[a]) {
      const std::int64_t i = i0 + ty + 16 * a;
      row_loss[i] = m[a] + logf(s[a]) - pos[a] * inv_tau;
      pos_sim[i] = pos[a];
    }
  }
}

// Block-wide reduction whose result every thread receives, in a fixed order (deterministic).
template <typename T, typename Op>
__device__ T block_reduce(T v, Op op, T* shm) {
  for (int off = 16; off > 0; off >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, off));
  if (threadIdx.x % 32 == 0) shm[threadIdx.x / 32] = v;
  __syncthreads();
  T r = shm[0];
  for (int w = 1; w < static_cast<int>(blockDim.x / 32); ++w) r = op(r, shm[w]);
  __syncthreads();  // shm may be reused right after
  return r;
}

struct MaxOp {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};
struct SumOp {
  template <typename T>
  __device__ T operator()(T a, T b) const { return a + b; }
};

// One block per stripe row: s (ld = rows_total) holds sim(i, j); replaced in place by dL/ds(i, j).
__global__ __launch_bounds__(kRowThreads) void softmax_grad_kernel(float* s, std::int64_t g0, NtXentDesc d,
                                                                   float scale, float* row_loss, float* pos_sim,
                                                                   std::int64_t local0) {
  __shared__ float shm[kRowThreads / 32];
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
  __shared__ double shm[kRowThreads / 32];
  double acc = 0.0;
  for (std::int64_t i = threadIdx.x; i < n; i += kRowThreads) acc += row_loss[i];
  acc = block_reduce(acc, SumOp{}, shm);
  if (threadIdx.x == 0) loss[0] = static_cast<float>(acc * inv_rows);
}

int row_blocks(std::int64_t rows) {
  return static_cast<int>((rows + kWarpsPerBlock - 1) / kWarpsPerBlock);
}

// Scratch layout of the backward pass, carved from one workspace.
struct BackwardScratch {
  float *u_local, *u_all, *n_local, *n_all, *sim;
};

BackwardScratch carve(const NtXentDesc& d, std::int64_t stripe, void* ws) {
  auto* p = static_cast<unsigned char*>(ws);
  auto take = [&](std::int64_t floats) {
    auto* f = reinterpret_cast<float*>(p);
    p += align256(static_cast<std::size_t>(floats) * sizeof(float));
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
  return align256(static_cast<std::size_t>(d.rows_local) * 4) + align256(static_cast<std::size_t>(d.rows_total) * 4);
}

void ntxent_loss_sum(const float* row_loss, std::int64_t n, std::int64_t rows_total, float* loss, cudaStream_t stream) {
  loss_sum_kernel<<<1, kRowThreads, 0, stream>>>(row_loss, n, 1.0 / static_cast<double>(rows_total), loss);
  CUDA_CHECK_LAUNCH();
}

void ntxent_forward(const NtXentDesc& d, const float* local, const float* all, float* row_loss, float* pos_sim,
                    float* loss, void* workspace, cudaStream_t stream) {
  CMT_CHECK(d.rows_local > 0 && d.rows_total >= 2 && d.dim > 0, "cuda ntxent_forward: empty problem");
  auto* n_local = static_cast<float*>(workspace);
  auto* n_all = reinterpret_cast<float*>(static_cast<unsigned char*>(workspace) +
                                         align256(static_cast<std::size_t>(d.rows_local) * 4));
  RowSegments seg{{local, all}, {nullptr, nullptr}, {n_local, n_all}, {nullptr, nullptr}, {d.rows_local, d.rows_total}};
  normalise_kernel<<<row_blocks(d.rows_local + d.rows_total), kWarpsPerBlock * 32, 0, stream>>>(seg, d.dim);
  CUDA_CHECK_LAUNCH();
  const auto blocks = (d.rows_local + kTile - 1) / kTile;
  CMT_CHECK(blocks < (std::int64_t{1} << 31), "cuda ntxent_forward: too many rows " << d.rows_local);
  forward_tile_kernel<<<static_cast<unsigned>(blocks), kTileThreads, 0, stream>>>(local, all, n_local, n_all, d,
                                                                                  row_loss, pos_sim);
  CUDA_CHECK_LAUNCH();
  ntxent_loss_sum(row_loss, d.rows_local, d.rows_total, loss, stream);
}

std::int64_t ntxent_stripe_rows(const NtXentDesc& d, std::int64_t stripe_rows) {
  if (stripe_rows <= 0) stripe_rows = std::max<std::int64_t>(64, kStripeBudget / d.rows_total);
  return std::min(stripe_rows, d.rows_local);
}

std::size_t ntxent_backward_workspace_bytes(const NtXentDesc& d, std::int64_t stripe_rows) {
  const std::int64_t stripe = ntxent_stripe_rows(d, stripe_rows);
  const auto f = [](std::int64_t n) { return align256(static_cast<std::size_t>(n) * sizeof(float)); };
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
  normalise_kernel<<<row_blocks(d.rows_local + d.rows_total), kWarpsPerBlock * 32, 0, stream>>>(seg, d.dim);
  CUDA_CHECK_LAUNCH();

  CUBLAS_CHECK(cublasSetStream(cublas, stream));
  cublasMath_t previous;
  CUBLAS_CHECK(cublasGetMathMode(cublas, &previous));
  CUBLAS_CHECK(cublasSetMathMode(cublas, tensor_cores ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  const int R = static_cast<int>(d.rows_total), D = static_cast<int>(d.dim);
  const float one = 1.f, zero = 0.f;
  const float scale = dloss / (static_cast<float>(d.rows_total) * d.tau);
  // Row-major matrices seen by column-major cuBLAS are their transposes: U (R, D) is U^T (D, R), ld D.
  for (std::int64_t c0 = 0; c0 < d.rows_local; c0 += stripe) {
    const int n = static_cast<int>(std::min(stripe, d.rows_local - c0));
    const float* uq = s.u_local + c0 * d.dim;
    // sim (n, R) = Uq (n, D) . U_all^T
    CUBLAS_CHECK(cublasSgemm(cublas, CUBLAS_OP_T, CUBLAS_OP_N, R, n, D, &one, s.u_all, D, uq, D, &zero, s.sim, R));
    softmax_grad_kernel<<<n, kRowThreads, 0, stream>>>(s.sim, d.row_offset + c0, d, scale, row_loss, pos_sim, c0);
    CUDA_CHECK_LAUNCH();
    // dUq (n, D) = G (n, R) . U_all (R, D)
    CUBLAS_CHECK(cublasSgemm(cublas, CUBLAS_OP_N, CUBLAS_OP_N, D, n, R, &one, s.u_all, D, s.sim, R, &zero,
                             d_local + c0 * d.dim, D));
    // dU_all (R, D) += G^T (R, n) . Uq (n, D)
    const float beta = c0 == 0 ? 0.f : 1.f;
    CUBLAS_CHECK(cublasSgemm(cublas, CUBLAS_OP_N, CUBLAS_OP_T, D, R, n, &one, uq, D, s.sim, R, &beta, d_all, D));
  }
  CUBLAS_CHECK(cublasSetMathMode(cublas, previous));
  jacobian_kernel<<<row_blocks(d.rows_local + d.rows_total), kWarpsPerBlock * 32, 0, stream>>>(seg, d.dim);
  CUDA_CHECK_LAUNCH();
}

}  // namespace cmt::cuda
