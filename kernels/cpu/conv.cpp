// CPU convolution fast path: pointwise as one GEMM, others as vol2col + GEMM per group.
#include <omp.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "kernels/conv.h"
#include "kernels/cpu/channel_sums.h"
#include "kernels/cpu/conv_taps.h"
#include "kernels/cpu/clones.h"
#include "kernels/cpu/gemm.h"

namespace cmt::cpu {

namespace {

constexpr std::int64_t kColBudget = std::int64_t{1} << 22;  // floats per column buffer (16 MB)

// col[(m - m0)][trs * Cg + c] = x[window tap of m][g * Cg + c], zero outside the input.
void vol2col(const ConvDesc& d, const float* x, int g, std::int64_t m0, std::int64_t m1, float* col) {
  const int Cg = d.Cg();
  const std::int64_t J = d.gemm_k();
#pragma omp parallel for schedule(static)
  for (std::int64_t m = m0; m < m1; ++m) {
    float* row = col + (m - m0) * J;
    for_each_tap(d, m, [&](int trs, std::int64_t off) {
      float* dst = row + std::int64_t{trs} * Cg;
      if (off < 0) std::fill(dst, dst + Cg, 0.f);
      else std::copy(x + off + g * Cg, x + off + (g + 1) * Cg, dst);
    });
  }
}

// dx[window tap of m][g * Cg + c] += col[(m - m0)][trs * Cg + c]; threads split the channels, so no
// two threads write the same element.
void col2vol(const ConvDesc& d, const float* col, int g, std::int64_t m0, std::int64_t m1, float* dx) {
  const int Cg = d.Cg();
  const std::int64_t J = d.gemm_k();
#pragma omp parallel
  {
    const int nt = omp_get_num_threads(), tid = omp_get_thread_num();
    const int c0 = static_cast<int>(std::int64_t{Cg} * tid / nt), c1 = static_cast<int>(std::int64_t{Cg} * (tid + 1) / nt);
    if (c0 < c1)
      for (std::int64_t m = m0; m < m1; ++m) {
        const float* row = col + (m - m0) * J;
        for_each_tap(d, m, [&](int trs, std::int64_t off) {
          if (off < 0) return;
          float* dst = dx + off + g * Cg;
          const float* src = row + std::int64_t{trs} * Cg;
          for (int c = c0; c < c1; ++c) dst[c] += src[c];
        });
      }
  }
}

std::int64_t chunk_rows(const ConvDesc& d) { return std::max<std::int64_t>(1, kColBudget / d.gemm_k()); }

// Calls fn(g, m0, m1, col) with the vol2col matrix of output rows [m0, m1) of group g, chunk by chunk.
template <typename Fn>
void for_each_col_chunk(const ConvDesc& d, const float* x, Fn&& fn) {
  const std::int64_t M = d.y_positions(), rows = chunk_rows(d);
  std::vector<float> col(static_cast<std::size_t>(std::min(rows, M) * d.gemm_k()));
  for (std::int64_t m0 = 0; m0 < M; m0 += rows) {
    const std::int64_t m1 = std::min(M, m0 + rows);
    for (int g = 0; g < d.groups; ++g) {
      vol2col(d, x, g, m0, m1, col.data());
      fn(g, m0, m1, col.data());
    }
  }
}

}  // namespace

void conv_fprop(const ConvDesc& d, const float* x, const float* w, const float* bias, float* y) {
  if (d.depthwise()) return conv_depthwise_fprop(d, x, w, bias, y);
  const std::int64_t M = d.y_positions();
  const int Cg = d.Cg(), Kg = d.Kg(), K = d.K;
  const int J = static_cast<int>(d.gemm_k());
  const float beta = bias ? 1.f : 0.f;
  if (bias) {
#pragma omp parallel for schedule(static)
    for (std::int64_t m = 0; m < M; ++m) std::copy(bias, bias + K, y + m * K);
  }
  if (d.pointwise()) {  // y_g (M x Kg) = x_g (M x Cg) * w_g^T
    for (int g = 0; g < d.groups; ++g)
      gemm_f32(false, true, M, Kg, Cg, 1.f, x + g * Cg, d.C, w + std::int64_t{g} * Kg * J, J, beta, y + g * Kg, K);
    return;
  }
  for_each_col_chunk(d, x, [&](int g, std::int64_t m0, std::int64_t m1, const float* col) {
    gemm_f32(false, true, m1 - m0, Kg, J, 1.f, col, J, w + std::int64_t{g} * Kg * J, J, beta, y + m0 * K + g * Kg, K);
  });
}

void conv_dgrad(const ConvDesc& d, const float* dy, const float* w, float* dx) {
  if (d.depthwise()) return conv_depthwise_dgrad(d, dy, w, dx);
  const std::int64_t M = d.y_positions();
  const int Cg = d.Cg(), Kg = d.Kg(), K = d.K;
  const int J = static_cast<int>(d.gemm_k());
  if (d.pointwise()) {  // dx_g (M x Cg) = dy_g (M x Kg) * w_g (Kg x Cg)
    for (int g = 0; g < d.groups; ++g)
      gemm_f32(false, false, M, Cg, Kg, 1.f, dy + g * Kg, K, w + std::int64_t{g} * Kg * J, J, 0.f, dx + g * Cg, d.C);
    return;
  }
  std::fill(dx, dx + d.x_elems(), 0.f);
  const std::int64_t rows = chunk_rows(d);
  std::vector<float> col(static_cast<std::size_t>(std::min(rows, M) * J));
  for (std::int64_t m0 = 0; m0 < M; m0 += rows) {
    const std::int64_t m1 = std::min(M, m0 + rows);
    for (int g = 0; g < d.groups; ++g) {
      // dcol (rows x J) = dy_g (rows x Kg) * w_g (Kg x J), then scattered back onto the windows.
      gemm_f32(false, false, m1 - m0, J, Kg, 1.f, dy + m0 * K + g * Kg, K, w + std::int64_t{g} * Kg * J, J, 0.f, col.data(), J);
      col2vol(d, col.data(), g, m0, m1, dx);
    }
  }
}

void conv_wgrad(const ConvDesc& d, const float* x, const float* dy, float* dw) {
  if (d.depthwise()) return conv_depthwise_wgrad(d, x, dy, dw);
  if (d.C == 1 && d.groups == 1 && !d.pointwise()) return conv_wgrad_stem(d, x, dy, dw);
  const std::int64_t M = d.y_positions();
  const int Cg = d.Cg(), Kg = d.Kg(), K = d.K;
  const int J = static_cast<int>(d.gemm_k());
  if (d.pointwise()) {  // dw_g (Kg x Cg) = dy_g^T (Kg x M) * x_g (M x Cg)
    for (int g = 0; g < d.groups; ++g)
      gemm_f32(true, false, Kg, Cg, M, 1.f, dy + g * Kg, K, x + g * Cg, d.C, 0.f, dw + std::int64_t{g} * Kg * J, J);
    return;
  }
  for_each_col_chunk(d, x, [&](int g, std::int64_t m0, std::int64_t m1, const float* col) {
    gemm_f32(true, false, Kg, J, m1 - m0, 1.f, dy + m0 * K + g * Kg, K, col, J, m0 == 0 ? 0.f : 1.f,
             dw + std::int64_t{g} * Kg * J, J);
  });
}

void conv_bias_grad(std::int64_t rows, int K, const float* dy, float* db) {
  std::vector<double> sums;
  channel_sums<1>(rows, K, sums, [&](std::int64_t m, std::int64_t k) { return std::array<double, 1>{dy[m * K + k]}; });
  for (int k = 0; k < K; ++k) db[k] = static_cast<float>(sums[static_cast<std::size_t>(k)]);
}

}  // namespace cmt::cpu
