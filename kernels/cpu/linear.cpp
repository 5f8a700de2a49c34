// CPU reference of the fully connected layer: three GEMM calls and a column sum.
#include "kernels/linear.h"

#include "kernels/cpu/gemm.h"

namespace cmt::cpu {

void linear_forward(const float* x, const float* w, const float* bias, float* y, std::int64_t n, std::int64_t in,
                    std::int64_t out) {
  gemm_f32(false, true, n, out, in, 1.0f, x, in, w, in, 0.0f, y, out);
  if (bias)
    for (std::int64_t r = 0; r < n; ++r)
      for (std::int64_t j = 0; j < out; ++j) y[r * out + j] += bias[j];
}

void linear_backward(const float* dy, const float* x, const float* w, float* dx, float* dw, float* db, std::int64_t n,
                     std::int64_t in, std::int64_t out) {
  gemm_f32(false, false, n, in, out, 1.0f, dy, out, w, in, 0.0f, dx, in);
  gemm_f32(true, false, out, in, n, 1.0f, dy, out, x, in, 0.0f, dw, in);
  if (db) {
    for (std::int64_t j = 0; j < out; ++j) db[j] = 0.f;
    for (std::int64_t r = 0; r < n; ++r)
      for (std::int64_t j = 0; j < out; ++j) db[j] += dy[r * out + j];
  }
}

}  // namespace cmt::cpu
