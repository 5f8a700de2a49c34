// CPU weight gradient of a one-channel convolution (the network's stem: C = 1, e.g. 7x7x7 stride 2):
// dW[k][tap] = sum over output positions m of dy[m][k] * x[tap of m]. With one input channel the
// im2col + GEMM path spends its time building a (positions x taps) column matrix for a GEMM whose
// output is only K x taps; here the sums are formed directly. The input is copied once into a
// zero-padded volume (no bounds checks in the loops); for each row of taps (t, r) and block of 16
// output channels, the S taps along w are accumulated together in registers over a chunk of output
// lines: per output position, dy[k0..k0+15] times one input value per tap. Chunks keep their part of
// dy in cache across the T x R tap rows. Each thread takes a contiguous range of lines with its own
// tap-major dW, summed in thread order (the same result for a given team size). Built for
// AVX2/AVX-512 like the other hot loops, but with FMA contraction allowed (as the GEMMs it
// replaces): versions for different ISAs may differ in the last bits.

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/conv.h"
#include "kernels/cpu/clones.h"

namespace cmt::cpu {

namespace {

constexpr int kBlock = 16;  // channels of dW per accumulator (one AVX-512 vector)
// GCC's generic vector: one zmm in the AVX-512 version, two ymm or four xmm in the others. Written
// out because the auto-vectoriser picks the tap loop and shuffles.
using Vec = float __attribute__((vector_size(kBlock * sizeof(float))));

// The zero-padded input: every tap of every output position lies inside it.
struct Padded {
  std::int64_t D, H, W;
  std::vector<float> x;
};

Padded pad_input(const ConvDesc& d, const float* x) {
  Padded p;
  p.D = std::int64_t{d.Z - 1} * d.stride[0] + std::int64_t{d.T - 1} * d.dil[0] + 1;
  p.H = std::int64_t{d.P - 1} * d.stride[1] + std::int64_t{d.R - 1} * d.dil[1] + 1;
  p.W = std::int64_t{d.Q - 1} * d.stride[2] + std::int64_t{d.S - 1} * d.dil[2] + 1;
  p.x.resize(static_cast<std::size_t>(d.N * p.D * p.H * p.W));
  const std::int64_t rows = d.N * p.D * p.H;
#pragma omp parallel for schedule(static) if (rows * p.W > (1 << 16))
  for (std::int64_t row = 0; row < rows; ++row) {
    const std::int64_t hp = row % p.H, dp = row / p.H % p.D, n = row / (p.H * p.D);
    const std::int64_t id = dp - d.pad[0], ih = hp - d.pad[1];
    float* out = p.x.data() + row * p.W;
    const bool inside = id >= 0 && id < d.D && ih >= 0 && ih < d.H;
    const float* line = inside ? x + ((n * d.D + id) * d.H + ih) * d.W : nullptr;
    for (std::int64_t j = 0; j < p.W; ++j) {
      const std::int64_t iw = j - d.pad[2];
      out[j] = inside && iw >= 0 && iw < d.W ? line[iw] : 0.f;
    }
  }
  return p;
}

// acc (S taps x K, tap-major) += the taps (t, r, 0..S-1) over the output lines [l0, l1).
template <int S>
CMT_CPU_CLONES void tap_row(const ConvDesc& d, const Padded& xp, const float* dy, std::int64_t l0, std::int64_t l1, int t, int r,
                            int s0, float* acc) {
  const int K = d.K, Q = d.Q, step = d.stride[2], dil = d.dil[2];
  const auto line_of = [&](std::int64_t l) {
    const std::int64_t p = l % d.P, z = l / d.P % d.Z, n = l / (std::int64_t{d.P} * d.Z);
    return xp.x.data() + ((n * xp.D + z * d.stride[0] + t * d.dil[0]) * xp.H + p * d.stride[1] + r * d.dil[1]) * xp.W + s0 * dil;
  };
  int k0 = 0;
  for (; k0 + kBlock <= K; k0 += kBlock) {
    Vec a[S];
    for (int s = 0; s < S; ++s) a[s] = Vec{};
    for (std::int64_t l = l0; l < l1; ++l) {
      const float* xl = line_of(l);
      const float* g = dy + l * Q * K + k0;
      for (int q = 0; q < Q; ++q) {
        Vec gq;
        std::memcpy(&gq, g + std::int64_t{q} * K, sizeof gq);
        const float* xq = xl + std::int64_t{q} * step;
        for (int s = 0; s < S; ++s) a[s] += gq * xq[s * dil];
      }
    }
    for (int s = 0; s < S; ++s)
      for (int j = 0; j < kBlock; ++j) acc[s * K + k0 + j] += a[s][j];
  }
  for (; k0 < K; ++k0)  // the channels after the last whole block
    for (int s = 0; s < S; ++s) {
      float a = 0.f;
      for (std::int64_t l = l0; l < l1; ++l) {
        const float* xl = line_of(l);
        for (int q = 0; q < Q; ++q) a += dy[(l * Q + q) * K + k0] * xl[std::int64_t{q} * step + s * dil];
      }
      acc[s * K + k0] += a;
    }
}

void tap_row_any(const ConvDesc& d, const Padded& xp, const float* dy, std::int64_t l0, std::int64_t l1, int t, int r, float* acc) {
  switch (d.S) {
    case 3: return tap_row<3>(d, xp, dy, l0, l1, t, r, 0, acc);
    case 5: return tap_row<5>(d, xp, dy, l0, l1, t, r, 0, acc);
    case 7: return tap_row<7>(d, xp, dy, l0, l1, t, r, 0, acc);
    default:
      for (int s = 0; s < d.S; ++s) tap_row<1>(d, xp, dy, l0, l1, t, r, s, acc + std::int64_t{s} * d.K);
  }
}

}  // namespace

void conv_wgrad_stem(const ConvDesc& d, const float* x, const float* dy, float* dw) {
  const std::int64_t lines = std::int64_t{d.N} * d.Z * d.P;
  const int taps = d.trs(), K = d.K;
  const std::size_t out_size = static_cast<std::size_t>(K) * static_cast<std::size_t>(taps);
  const Padded xp = pad_input(d, x);
  // Lines per chunk: 256 KB of dy, reread from cache by each of the T x R tap rows.
  const std::int64_t chunk = std::max<std::int64_t>(1, (std::int64_t{1} << 16) / (std::int64_t{d.Q} * K));
  const bool parallel = lines * d.Q * taps * K > (1 << 18);
  const int most = parallel ? omp_get_max_threads() : 1;
  // Allocated before the team starts (nothing may throw inside it): a tap-major dW per thread.
  std::vector<float> partials(out_size * static_cast<std::size_t>(most), 0.f);
  int team = 1;
#pragma omp parallel num_threads(most) if (parallel)
  {
    const int me = omp_get_thread_num();
#pragma omp single
    team = omp_get_num_threads();  // the implicit barrier publishes it
    float* acc = partials.data() + out_size * static_cast<std::size_t>(me);
    for (std::int64_t l0 = lines * me / team, last = lines * (me + 1) / team; l0 < last; l0 += chunk)
      for (int t = 0; t < d.T; ++t)
        for (int r = 0; r < d.R; ++r)
          tap_row_any(d, xp, dy, l0, std::min(last, l0 + chunk), t, r, acc + std::int64_t{(t * d.R + r) * d.S} * K);
  }
  for (int k = 0; k < K; ++k)
    for (int tap = 0; tap < taps; ++tap) {
      float s = 0.f;
      for (int th = 0; th < team; ++th) s += partials[out_size * static_cast<std::size_t>(th) + static_cast<std::size_t>(tap) * K + k];
      dw[std::int64_t{k} * taps + tap] = s;
    }
}

}  // namespace cmt::cpu
