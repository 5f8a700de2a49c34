// CUDA softmax cross-entropy: one thread per row (K is small: the diagnosis classes), then one block sums the
// per-row losses and weights in double in a fixed order.
#include <cuda_runtime.h>

#include "kernels/cross_entropy.h"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/portable.cuh"
#include "kernels/cuda/reduce.cuh"

namespace cmt::cuda {

namespace {

constexpr int kSumThreads = 256;

// Writes probs and, per row, (loss_n, w[y_n]) into rows (NaN for a label out of range).
__global__ void rows_kernel(const float* __restrict__ logits, const std::int32_t* __restrict__ labels,
                            const float* __restrict__ weights, float smoothing, std::int64_t n, std::int64_t k,
                            float* __restrict__ probs, double2* __restrict__ rows) {
  const std::int64_t r = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x;
  if (r >= n) return;
  const float* z = logits + r * k;
  float mx = z[0];
  for (std::int64_t j = 1; j < k; ++j) mx = fmaxf(mx, z[j]);
  double se = 0;
  for (std::int64_t j = 0; j < k; ++j) se += exp(static_cast<double>(z[j]) - mx);
  const double lse = log(se) + mx;
  double smooth = 0;
  for (std::int64_t j = 0; j < k; ++j) {
    const double logp = z[j] - lse;
    probs[r * k + j] = static_cast<float>(exp(logp));
    smooth -= (weights ? weights[j] : 1.0) * logp;
  }
  const std::int32_t y = labels[r];
  if (y < 0 || y >= k) {
    rows[r] = make_double2(nan(""), 0.0);
    return;
  }
  const double wy = weights ? weights[y] : 1.0;
  rows[r] = make_double2((1.0 - smoothing) * wy * -(z[y] - lse) + smoothing / static_cast<double>(k) * smooth, wy);
}

__global__ void total_kernel(const double2* __restrict__ rows, std::int64_t n, float* loss, float* weight_sum) {
  CMT_SHARED(double, sl, [kSumThreads]);
  CMT_SHARED(double, sw, [kSumThreads]);
  double l = 0, w = 0;
  for (std::int64_t r = threadIdx.x; r < n; r += kSumThreads) {
    l += rows[r].x;
    w += rows[r].y;
  }
  sl[threadIdx.x] = l;
  sw[threadIdx.x] = w;
  __syncthreads();
  shared_tree<kSumThreads>([&](int i, int j) {
    sl[i] += sl[j];
    sw[i] += sw[j];
  });
  if (threadIdx.x == 0) {
    *loss = static_cast<float>(sl[0] / sw[0]);
    *weight_sum = static_cast<float>(sw[0]);
  }
}

__global__ void backward_kernel(const float* __restrict__ probs, const std::int32_t* __restrict__ labels,
                                const float* __restrict__ weights, float smoothing, std::int64_t n, std::int64_t k,
                                const float* __restrict__ weight_sum, float dloss, float* __restrict__ dlogits) {
  const std::int64_t r = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x;
  if (r >= n) return;
  float wk_sum = 0;
  for (std::int64_t j = 0; j < k; ++j) wk_sum += weights ? weights[j] : 1.f;
  const float g = dloss / *weight_sum, ls_k = smoothing / static_cast<float>(k);
  const std::int32_t y = labels[r];
  const bool valid = y >= 0 && y < k;
  const float wy = valid ? (weights ? weights[y] : 1.f) : nanf("");
  const float a_n = (1.f - smoothing) * wy + ls_k * wk_sum;
  for (std::int64_t j = 0; j < k; ++j) {
    const float a = (j == y ? (1.f - smoothing) * wy : 0.f) + ls_k * (weights ? weights[j] : 1.f);
    dlogits[r * k + j] = g * (a_n * probs[r * k + j] - a);
  }
}

}  // namespace

std::size_t cross_entropy_workspace_bytes(std::int64_t n) { return static_cast<std::size_t>(n) * sizeof(double2); }

void cross_entropy_forward(const float* logits, const std::int32_t* labels, const float* weights, float smoothing,
                           std::int64_t n, std::int64_t k, float* probs, float* loss, float* weight_sum,
                           void* workspace, cudaStream_t stream) {
  auto* rows = static_cast<double2*>(workspace);
  cmt::cuda::launch(rows_kernel, static_cast<unsigned>((n + 127) / 128), 128, 0, stream, logits, labels, weights, smoothing, n, k,
      probs, rows);
  CUDA_CHECK_LAUNCH();
  cmt::cuda::launch(total_kernel, 1, kSumThreads, 0, stream, rows, n, loss, weight_sum);
  CUDA_CHECK_LAUNCH();
}

void cross_entropy_backward(const float* probs, const std::int32_t* labels, const float* weights, float smoothing,
                            std::int64_t n, std::int64_t k, const float* weight_sum, float dloss, float* dlogits,
                            cudaStream_t stream) {
  cmt::cuda::launch(backward_kernel, static_cast<unsigned>((n + 127) / 128), 128, 0, stream, probs, labels, weights, smoothing, n, k,
      weight_sum, dloss, dlogits);
  CUDA_CHECK_LAUNCH();
}

}  // namespace cmt::cuda
