// CPU reference of the x2 up-sampling transposed convolution.
#include "kernels/transposed_conv.h"

namespace cmt::cpu {

namespace {
// Flat index of output (b, kd*d+i, 2h+j, 2w+k) for input (b, d, h, w) and tap t = (i*2+j)*2+k.
std::int64_t output_index(const TransposedConv2xShape& s, std::int64_t b, std::int64_t d, std::int64_t h, std::int64_t w,
                          std::int64_t t) {
  const std::int64_t i = t / 4, j = (t / 2) % 2, k = t % 2;
  return ((b * s.kd * s.d + s.kd * d + i) * 2 * s.h + 2 * h + j) * 2 * s.w + 2 * w + k;
}
}  // namespace

void transposed_conv2x(const float* x, const float* w, const float* b, float* y, const TransposedConv2xShape& s) {
  for (std::int64_t bi = 0; bi < s.n; ++bi)
    for (std::int64_t d = 0; d < s.d; ++d)
      for (std::int64_t h = 0; h < s.h; ++h)
        for (std::int64_t q = 0; q < s.w; ++q) {
          const float v = x[((bi * s.d + d) * s.h + h) * s.w + q];
          for (std::int64_t t = 0; t < s.taps(); ++t) y[output_index(s, bi, d, h, q, t)] = v * w[t] + b[0];
        }
}

void transposed_conv2x_backward(const float* dy, const float* x, const float* w, float* dx, float* dw, float* db,
                                const TransposedConv2xShape& s) {
  double dwd[8] = {}, dbd = 0;
  for (std::int64_t bi = 0; bi < s.n; ++bi)
    for (std::int64_t d = 0; d < s.d; ++d)
      for (std::int64_t h = 0; h < s.h; ++h)
        for (std::int64_t q = 0; q < s.w; ++q) {
          const std::int64_t p = ((bi * s.d + d) * s.h + h) * s.w + q;
          double acc = 0;
          for (std::int64_t t = 0; t < s.taps(); ++t) {
            const double g = dy[output_index(s, bi, d, h, q, t)];
            acc += g * w[t];
            dwd[t] += g * x[p];
            dbd += g;
          }
          dx[p] = static_cast<float>(acc);
        }
  for (std::int64_t t = 0; t < s.taps(); ++t) dw[t] = static_cast<float>(dwd[t]);
  db[0] = static_cast<float>(dbd);
}

}  // namespace cmt::cpu
