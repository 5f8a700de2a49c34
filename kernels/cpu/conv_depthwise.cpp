// CPU depthwise convolution (groups == C, K = m*C): loops vectorised over the channels, no vol2col.
#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels/conv.h"
#include "kernels/cpu/conv_taps.h"

namespace cmt::cpu {

namespace {

// w (K,T,R,S,1) -> wt (T*R*S, K): the channel loop then reads weights contiguously.
std::vector<float> transpose_taps(const ConvDesc& d, const float* w) {
  const int trs = d.trs();
  std::vector<float> wt(static_cast<std::size_t>(trs) * d.K);
  for (int k = 0; k < d.K; ++k)
    for (int i = 0; i < trs; ++i) wt[static_cast<std::size_t>(i) * d.K + k] = w[std::int64_t{k} * trs + i];
  return wt;
}

inline std::int64_t y_off(const ConvDesc& d, int n, int z, int p, int q) {
  return ((((std::int64_t)n * d.Z + z) * d.P + p) * d.Q + q) * d.K;
}

}  // namespace

void conv_depthwise_fprop(const ConvDesc& d, const float* x, const float* w, const float* bias, float* y) {
  const std::vector<float> wt = transpose_taps(d, w);
  const int K = d.K, m = d.K / d.C;
#pragma omp parallel for schedule(static)
  for (std::int64_t pos = 0; pos < d.y_positions(); ++pos) {
    float* acc = y + pos * K;
    for (int k = 0; k < K; ++k) acc[k] = bias ? bias[k] : 0.f;
    for_each_tap(d, pos, [&](int i, std::int64_t off) {
      if (off < 0) return;
      const float* xr = x + off;
      const float* wr = wt.data() + static_cast<std::size_t>(i) * K;
      if (m == 1) {
#pragma omp simd
        for (int k = 0; k < K; ++k) acc[k] += xr[k] * wr[k];
      } else {
        for (int k = 0; k < K; ++k) acc[k] += xr[k / m] * wr[k];
      }
    });
  }
}

void conv_depthwise_dgrad(const ConvDesc& d, const float* dy, const float* w, float* dx) {
  const std::vector<float> wt = transpose_taps(d, w);
  const int K = d.K, C = d.C, m = d.K / d.C;
#pragma omp parallel for collapse(3) schedule(static)
  for (int n = 0; n < d.N; ++n)
    for (int id = 0; id < d.D; ++id)
      for (int ih = 0; ih < d.H; ++ih)
        for (int iw = 0; iw < d.W; ++iw) {
          float* acc = dx + ((((std::int64_t)n * d.D + id) * d.H + ih) * d.W + iw) * C;
          std::fill(acc, acc + C, 0.f);
          for (int t = 0, i = 0; t < d.T; ++t) {
            const int zs = id + d.pad[0] - t * d.dil[0];
            const bool zok = zs >= 0 && zs % d.stride[0] == 0 && zs / d.stride[0] < d.Z;
            for (int r = 0; r < d.R; ++r) {
              const int ps = ih + d.pad[1] - r * d.dil[1];
              const bool pok = ps >= 0 && ps % d.stride[1] == 0 && ps / d.stride[1] < d.P;
              for (int s = 0; s < d.S; ++s, ++i) {
                const int qs = iw + d.pad[2] - s * d.dil[2];
                const bool qok = qs >= 0 && qs % d.stride[2] == 0 && qs / d.stride[2] < d.Q;
                if (!(zok && pok && qok)) continue;
                const float* g = dy + y_off(d, n, zs / d.stride[0], ps / d.stride[1], qs / d.stride[2]);
                const float* wr = wt.data() + static_cast<std::size_t>(i) * K;
                if (m == 1) {
#pragma omp simd
                  for (int c = 0; c < C; ++c) acc[c] += g[c] * wr[c];
                } else {
                  for (int k = 0; k < K; ++k) acc[k / m] += g[k] * wr[k];
                }
              }
            }
          }
        }
}

void conv_depthwise_wgrad(const ConvDesc& d, const float* x, const float* dy, float* dw) {
  const int K = d.K, m = d.K / d.C, trs = d.trs();
  const std::size_t per = static_cast<std::size_t>(trs) * K;
  std::vector<double> partial;
  const std::int64_t rows = d.y_positions();  // split evenly per thread
#pragma omp parallel
  {
    const int nt = omp_get_num_threads(), tid = omp_get_thread_num();
#pragma omp single
    partial.assign(static_cast<std::size_t>(nt) * per, 0.0);
    double* acc = partial.data() + static_cast<std::size_t>(tid) * per;
    for (std::int64_t pos = rows * tid / nt; pos < rows * (tid + 1) / nt; ++pos) {
      const float* g = dy + pos * K;
      for_each_tap(d, pos, [&](int i, std::int64_t off) {
        if (off < 0) return;
        const float* xr = x + off;
        double* a = acc + static_cast<std::size_t>(i) * K;
        if (m == 1) {
#pragma omp simd
          for (int k = 0; k < K; ++k) a[k] += static_cast<double>(g[k]) * xr[k];
        } else {
          for (int k = 0; k < K; ++k) a[k] += static_cast<double>(g[k]) * xr[k / m];
        }
      });
    }
  }
  const std::size_t nt = partial.size() / per;
  for (int k = 0; k < K; ++k)
    for (int i = 0; i < trs; ++i) {
      double s = 0;
      for (std::size_t t = 0; t < nt; ++t) s += partial[t * per + static_cast<std::size_t>(i) * K + k];
      dw[std::int64_t{k} * trs + i] = static_cast<float>(s);
    }
}

}  // namespace cmt::cpu
