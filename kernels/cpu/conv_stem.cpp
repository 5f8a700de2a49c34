// CPU weight gradient of a one-channel convolution (the network's stem: C = 1, e.g. 7x7x7 stride 2).
// The generic path's vol2col copies one float per tap and position through the tap walker; here the
// columns are built transposed, one tap at a time along whole output lines, so the gather is a
// strided copy, and one GEMM per chunk of lines forms dW (K x taps) = dy^T (K x M) . col (M x taps).
// The output lines are split over the OpenMP team: each thread gathers and multiplies its own lines
// with one-thread GEMMs into its own dW, and the partial dWs are summed in thread order (the same
// result for a given team size); the chunks are small enough for the columns to stay in cache
// between their gather and the GEMM that reads them.

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <vector>

#include "kernels/conv.h"
#include "kernels/cpu/gemm.h"

namespace cmt::cpu {

namespace {

// colT[tap][m - m0] = x at tap `tap` of output position m, for the output lines [l0, l1) (a line is
// (n, z, p): Q positions), zero outside the input.
void stem_columns(const ConvDesc& d, const float* x, std::int64_t l0, std::int64_t l1, float* colT) {
  const std::int64_t len = (l1 - l0) * d.Q;
  for (int tap = 0; tap < d.trs(); ++tap) {
    const int t = tap / (d.R * d.S), r = tap / d.S % d.R, s = tap % d.S;
    float* out = colT + std::int64_t{tap} * len;
    for (std::int64_t l = l0; l < l1; ++l) {
      const int p = static_cast<int>(l % d.P), z = static_cast<int>(l / d.P % d.Z),
                n = static_cast<int>(l / (std::int64_t{d.P} * d.Z));
      const int id = z * d.stride[0] - d.pad[0] + t * d.dil[0];
      const int ih = p * d.stride[1] - d.pad[1] + r * d.dil[1];
      float* row = out + (l - l0) * d.Q;
      if (id < 0 || id >= d.D || ih < 0 || ih >= d.H) {
        std::fill(row, row + d.Q, 0.f);
        continue;
      }
      const float* line = x + ((std::int64_t{n} * d.D + id) * d.H + ih) * d.W;
      const int w0 = s * d.dil[2] - d.pad[2], step = d.stride[2];
      for (int q = 0; q < d.Q; ++q) {
        const int iw = w0 + q * step;
        row[q] = iw >= 0 && iw < d.W ? line[iw] : 0.f;
      }
    }
  }
}

}  // namespace

void conv_wgrad_stem(const ConvDesc& d, const float* x, const float* dy, float* dw, std::int64_t col_budget) {
  const std::int64_t lines = std::int64_t{d.N} * d.Z * d.P;
  const int taps = d.trs(), K = d.K;
  const std::int64_t per_chunk = std::max<std::int64_t>(1, col_budget / (std::int64_t{taps} * d.Q));
  const std::int64_t out_size = std::int64_t{K} * taps;
  std::vector<float> partials;  // one dW per thread after the first, summed in thread order
  std::exception_ptr error;
#pragma omp parallel if (lines * d.Q * taps > (1 << 16))
  {
    const int team = omp_get_num_threads(), me = omp_get_thread_num();
#pragma omp single
    partials.assign(static_cast<std::size_t>(out_size * (team - 1)), 0.f);
    // Each thread its own contiguous range of lines, in chunks of at most per_chunk lines.
    const std::int64_t first = lines * me / team, last = lines * (me + 1) / team;
    float* mine = me == 0 ? dw : partials.data() + out_size * (me - 1);
    try {
      if (first == last) std::fill(mine, mine + out_size, 0.f);
      std::vector<float> colT(static_cast<std::size_t>(std::min(per_chunk, std::max<std::int64_t>(last - first, 1)) * d.Q * taps));
      for (std::int64_t l0 = first; l0 < last; l0 += per_chunk) {
        const std::int64_t l1 = std::min(last, l0 + per_chunk);
        const std::int64_t len = (l1 - l0) * d.Q;
        stem_columns(d, x, l0, l1, colT.data());
        // mine (K x taps) (+)= dy_chunk^T (K x len) . colT^T (len x taps)
        gemm_f32(true, true, K, taps, len, 1.f, dy + l0 * d.Q * K, K, colT.data(), len, l0 == first ? 0.f : 1.f, mine, taps);
      }
    } catch (...) {
#pragma omp critical(cmt_conv_stem_error)
      if (!error) error = std::current_exception();
    }
#pragma omp barrier
#pragma omp for schedule(static)
    for (std::int64_t i = 0; i < out_size; ++i)
      for (int t = 1; t < team; ++t) dw[i] += partials[static_cast<std::size_t>(out_size * (t - 1) + i)];
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace cmt::cpu
