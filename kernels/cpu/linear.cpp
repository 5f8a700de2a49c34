// CPU reference of the fully connected layer: three sgemm calls and a column sum.
#include "kernels/linear.h"

#include <cblas.h>

namespace cmt::cpu {

namespace {
int to_int(std::int64_t v) { return static_cast<int>(v); }
}  // namespace

void linear_forward(const float* x, const float* w, const float* bias, float* y, std::int64_t n, std::int64_t in,
                    std::int64_t out) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, to_int(n), to_int(out), to_int(in), 1.0f, x, to_int(in), w,
              to_int(in), 0.0f, y, to_int(out));
  if (bias)
    for (std::int64_t r = 0; r < n; ++r)
      for (std::int64_t j = 0; j < out; ++j) y[r * out + j] += bias[j];
}

void linear_backward(const float* dy, const float* x, const float* w, float* dx, float* dw, float* db, std::int64_t n,
                     std::int64_t in, std::int64_t out) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, to_int(n), to_int(in), to_int(out), 1.0f, dy, to_int(out), w,
              to_int(in), 0.0f, dx, to_int(in));
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, to_int(out), to_int(in), to_int(n), 1.0f, dy, to_int(out), x,
              to_int(in), 0.0f, dw, to_int(in));
  if (db) {
    for (std::int64_t j = 0; j < out; ++j) db[j] = 0.f;
    for (std::int64_t r = 0; r < n; ++r)
      for (std::int64_t j = 0; j < out; ++j) db[j] += dy[r * out + j];
  }
}

}  // namespace cmt::cpu
