// CPU reference of the elementwise and row ops: add, scale, channel scale, L2-normalise rows.
#pragma once
#include <cstdint>

namespace cmt::cpu {

template <typename T>  // float or std::uint16_t (bf16 bits)
void add(const T* a, const T* b, T* y, std::int64_t n);  // y may alias a
void scale(const float* x, float alpha, float* y, std::int64_t n);
// x (N, S, C) with S = D*H*W, s (N, C).
void channel_scale(const float* x, const float* s, float* y, std::int64_t n, std::int64_t sp, std::int64_t c);
void channel_scale_backward(const float* dy, const float* x, const float* s, float* dx, float* ds, std::int64_t n,
                            std::int64_t sp, std::int64_t c);
// Rows of x (n, k): y = x / max(||x||, eps); backward uses the same norm.
void l2_normalize_rows(const float* x, float* y, std::int64_t n, std::int64_t k, float eps);
void l2_normalize_rows_backward(const float* dy, const float* x, float* dx, std::int64_t n, std::int64_t k, float eps);

}  // namespace cmt::cpu
