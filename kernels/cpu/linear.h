// CPU reference of the fully connected layer through OpenBLAS cblas_sgemm (row-major, torch's w layout).
#pragma once
#include <cstdint>

namespace cmt::cpu {

// x (n, in), w (out, in), bias [out] or null -> y (n, out).
void linear_forward(const float* x, const float* w, const float* bias, float* y, std::int64_t n, std::int64_t in,
                    std::int64_t out);
// dx (n, in) = dy w; dw (out, in) = dy^T x; db [out] = column sums of dy (skipped when null).
void linear_backward(const float* dy, const float* x, const float* w, float* dx, float* dw, float* db, std::int64_t n,
                     std::int64_t in, std::int64_t out);

}  // namespace cmt::cpu
