// CPU reference kernels of the basic op family (OpenMP over elements).
#include "kernels/basic.h"

#include <cmath>
#include <cstring>

#include "kernels/common/check.h"
#include "kernels/common/elem.h"
#include "kernels/common/float16.h"

namespace cmt::cpu {

namespace {

// Reads element i of any dtype as double; writes a double as any dtype (rounding to nearest even).
double load(const void* p, DType t, std::int64_t i) {
  switch (t) {
    case DType::f32: return static_cast<const float*>(p)[i];
    case DType::bf16: return num::bf16_to_float(static_cast<const std::uint16_t*>(p)[i]);
    case DType::f16: return num::f16_to_float(static_cast<const std::uint16_t*>(p)[i]);
    case DType::u8: return static_cast<const std::uint8_t*>(p)[i];
    case DType::i16: return static_cast<const std::int16_t*>(p)[i];
    case DType::i32: return static_cast<const std::int32_t*>(p)[i];
    case DType::i64: return static_cast<double>(static_cast<const std::int64_t*>(p)[i]);
  }
  return 0;
}

void store(void* p, DType t, std::int64_t i, double v) {
  switch (t) {
    case DType::f32: static_cast<float*>(p)[i] = static_cast<float>(v); break;
    case DType::bf16: static_cast<std::uint16_t*>(p)[i] = num::float_to_bf16(static_cast<float>(v)); break;
    case DType::f16: static_cast<std::uint16_t*>(p)[i] = num::float_to_f16(static_cast<float>(v)); break;
    case DType::u8: static_cast<std::uint8_t*>(p)[i] = static_cast<std::uint8_t>(v); break;
    case DType::i16: static_cast<std::int16_t*>(p)[i] = static_cast<std::int16_t>(v); break;
    case DType::i32: static_cast<std::int32_t*>(p)[i] = static_cast<std::int32_t>(v); break;
    case DType::i64: static_cast<std::int64_t*>(p)[i] = static_cast<std::int64_t>(v); break;
  }
}

}  // namespace

void fill(void* dst, DType dtype, std::int64_t n, double value) {
  if (n <= 0) return;
  // Write one element, then replicate its bytes: exact for every dtype.
  const std::size_t es = dtype_size(dtype);
  unsigned char pattern[8];
  store(pattern, dtype, 0, value);
  auto* out = static_cast<unsigned char*>(dst);
#pragma omp parallel for schedule(static) if (n > (1 << 16))
  for (std::int64_t i = 0; i < n; ++i) std::memcpy(out + i * es, pattern, es);
}

void cast(const void* src, DType src_dtype, void* dst, DType dst_dtype, std::int64_t n) {
  if (src_dtype == DType::f32 && dst_dtype == DType::bf16) {
    const auto* s = static_cast<const float*>(src);
    auto* d = static_cast<std::uint16_t*>(dst);
#pragma omp parallel for schedule(static) if (n > (1 << 16))
    for (std::int64_t i = 0; i < n; ++i) d[i] = num::float_to_bf16(s[i]);
    return;
  }
  if (src_dtype == DType::bf16 && dst_dtype == DType::f32) {
    const auto* s = static_cast<const std::uint16_t*>(src);
    auto* d = static_cast<float*>(dst);
#pragma omp parallel for schedule(static) if (n > (1 << 16))
    for (std::int64_t i = 0; i < n; ++i) d[i] = num::bf16_to_float(s[i]);
    return;
  }
#pragma omp parallel for schedule(static) if (n > (1 << 16))
  for (std::int64_t i = 0; i < n; ++i) store(dst, dst_dtype, i, load(src, src_dtype, i));
}

template <typename T>
void axpy(float alpha, const T* x, float* y, std::int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > (1 << 16))
  for (std::int64_t i = 0; i < n; ++i) y[i] += alpha * elem::load(x[i]);
}
template void axpy<float>(float, const float*, float*, std::int64_t);
template void axpy<std::uint16_t>(float, const std::uint16_t*, float*, std::int64_t);

void add_scalar_f32(float* y, std::int64_t n, float value) {
#pragma omp parallel for simd schedule(static) if (n > (1 << 16))
  for (std::int64_t i = 0; i < n; ++i) y[i] += value;
}

double sum_f32(const float* x, std::int64_t n) {
  double total = 0.0;
#pragma omp parallel for reduction(+ : total) schedule(static) if (n > (1 << 16))
  for (std::int64_t i = 0; i < n; ++i) total += x[i];
  return total;
}

void uniform_f32(float* dst, std::int64_t n, rng::Stream stream, float lo, float hi) {
  CMT_CHECK(n <= (std::int64_t{1} << 34), "uniform fill of " << n << " elements exceeds one Philox stream");
  const float span = hi - lo;
#pragma omp parallel for schedule(static) if (n > (1 << 16))
  for (std::int64_t i = 0; i < n; ++i) dst[i] = lo + span * rng::uniform01(stream.word(static_cast<std::uint64_t>(i)));
}

void normal_f32(float* dst, std::int64_t n, rng::Stream stream, float mean, float stddev) {
  CMT_CHECK(n <= (std::int64_t{1} << 34), "normal fill of " << n << " elements exceeds one Philox stream");
  // Element pair (2k, 2k+1) comes from words (2k, 2k+1): the same on every backend.
  const std::int64_t pairs = (n + 1) / 2;
#pragma omp parallel for schedule(static) if (n > (1 << 16))
  for (std::int64_t k = 0; k < pairs; ++k) {
    const rng::Words4 w = stream.draw(static_cast<std::uint32_t>(k >> 1));
    const int lane = static_cast<int>(k & 1) * 2;
    float z0, z1;
    rng::normal2(w.w[lane], w.w[lane + 1], z0, z1);
    dst[2 * k] = mean + stddev * z0;
    if (2 * k + 1 < n) dst[2 * k + 1] = mean + stddev * z1;
  }
}

}  // namespace cmt::cpu
