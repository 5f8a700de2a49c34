// CPU reference of the channel-map ops.
#include "kernels/channel_map.h"

namespace cmt::cpu {

void channel_reduce(const float* a, const float* b, float* out, std::int64_t positions, std::int64_t c, float scale) {
#pragma omp parallel for schedule(static) if (positions * c > (1 << 16))
  for (std::int64_t p = 0; p < positions; ++p) {
    double acc = 0;
    for (std::int64_t j = 0; j < c; ++j) acc += static_cast<double>(a[p * c + j]) * (b != nullptr ? b[p * c + j] : 1.f);
    out[p] = static_cast<float>(acc * scale);
  }
}

void channel_broadcast(const float* x, const float* m, float* y, std::int64_t positions, std::int64_t c, float scale) {
#pragma omp parallel for schedule(static) if (positions * c > (1 << 16))
  for (std::int64_t p = 0; p < positions; ++p) {
    const float v = scale * m[p];
    for (std::int64_t j = 0; j < c; ++j) y[p * c + j] = x != nullptr ? x[p * c + j] * v : v;
  }
}

}  // namespace cmt::cpu
