// CPU reference kernels of the basic op family: fill, cast, axpy, sum, random fills.
#pragma once
#include <cstdint>

#include "kernels/common/dtype.h"
#include "kernels/common/philox.h"

namespace cmt::cpu {

void fill(void* dst, DType dtype, std::int64_t n, double value);
void cast(const void* src, DType src_dtype, void* dst, DType dst_dtype, std::int64_t n);
// y += alpha * x; x float or std::uint16_t (bf16 bits, widened): bf16 gradients summed into f32 slots.
template <typename T>
void axpy(float alpha, const T* x, float* y, std::int64_t n);
void add_scalar_f32(float* y, std::int64_t n, float value);             // y += value
double sum_f32(const float* x, std::int64_t n);                        // accumulated in double
void uniform_f32(float* dst, std::int64_t n, rng::Stream stream, float lo, float hi);
void normal_f32(float* dst, std::int64_t n, rng::Stream stream, float mean, float stddev);

}  // namespace cmt::cpu
