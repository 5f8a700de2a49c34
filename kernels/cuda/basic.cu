// CUDA kernels of the basic op family; the arithmetic matches kernels/cpu/basic.cpp.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstring>

#include "kernels/basic.h"
#include "kernels/common/check.h"
#include "kernels/common/elem.h"
#include "kernels/common/float16.h"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/portable.cuh"

namespace cmt::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int kSumBlocks = 1024;

int grid_for(std::int64_t n, int per_thread = 1) {
  const std::int64_t blocks = (n + std::int64_t{kThreads} * per_thread - 1) / (std::int64_t{kThreads} * per_thread);
  return static_cast<int>(std::min<std::int64_t>(std::max<std::int64_t>(blocks, 1), 65535 * 32));
}

template <int Bytes>
struct Pod;
template <> struct Pod<1> { using T = std::uint8_t; };
template <> struct Pod<2> { using T = std::uint16_t; };
template <> struct Pod<4> { using T = std::uint32_t; };
template <> struct Pod<8> { using T = std::uint64_t; };

template <typename T>
__global__ void fill_kernel(T* dst, std::int64_t n, T pattern) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n; i += std::int64_t{gridDim.x} * blockDim.x)
    dst[i] = pattern;
}

__device__ __forceinline__ float load_as_float(const void* p, DType t, std::int64_t i) {
  switch (t) {
    case DType::f32: return static_cast<const float*>(p)[i];
    case DType::bf16: return num::bf16_to_float(static_cast<const std::uint16_t*>(p)[i]);
    case DType::f16: return num::f16_to_float(static_cast<const std::uint16_t*>(p)[i]);
    case DType::u8: return static_cast<const std::uint8_t*>(p)[i];
    case DType::i16: return static_cast<const std::int16_t*>(p)[i];
    case DType::i32: return static_cast<float>(static_cast<const std::int32_t*>(p)[i]);
    case DType::i64: return static_cast<float>(static_cast<const std::int64_t*>(p)[i]);
  }
  return 0.f;
}

__device__ __forceinline__ void store_float(void* p, DType t, std::int64_t i, float v) {
  switch (t) {
    case DType::f32: static_cast<float*>(p)[i] = v; break;
    case DType::bf16: static_cast<std::uint16_t*>(p)[i] = num::float_to_bf16(v); break;
    case DType::f16: static_cast<std::uint16_t*>(p)[i] = num::float_to_f16(v); break;
    case DType::u8: static_cast<std::uint8_t*>(p)[i] = static_cast<std::uint8_t>(v); break;
    case DType::i16: static_cast<std::int16_t*>(p)[i] = static_cast<std::int16_t>(v); break;
    case DType::i32: static_cast<std::int32_t*>(p)[i] = static_cast<std::int32_t>(v); break;
    case DType::i64: static_cast<std::int64_t*>(p)[i] = static_cast<std::int64_t>(v); break;
  }
}

// Float-to-float casts: f32 <-> bf16/f16 are exact conversions with round-to-nearest-even.
__global__ void cast_kernel(const void* src, DType st, void* dst, DType dt, std::int64_t n) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n; i += std::int64_t{gridDim.x} * blockDim.x)
    store_float(dst, dt, i, load_as_float(src, st, i));
}

// No __restrict__: x and y may be the same f32 buffer (the trainer's in-place rescale).
template <typename T>
__global__ void axpy_kernel(float alpha, const T* x, float* y, std::int64_t n) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n; i += std::int64_t{gridDim.x} * blockDim.x)
    y[i] += alpha * elem::load(x[i]);
}

__global__ void add_scalar_kernel(float* __restrict__ y, std::int64_t n, float value) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n; i += std::int64_t{gridDim.x} * blockDim.x)
    y[i] += value;
}

// Pass 1: each block sums a fixed, strided subset in double; pass 2 sums the partials in a fixed order.
__global__ void sum_partial_kernel(const float* __restrict__ x, std::int64_t n, double* partials) {
  double acc = 0.0;
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n; i += std::int64_t{gridDim.x} * blockDim.x)
    acc += x[i];
  acc = block_sum<kThreads>(acc);
  if (threadIdx.x == 0) partials[blockIdx.x] = acc;
}

__global__ void sum_final_kernel(const double* partials, int count, float* out) {
  double acc = 0.0;
  for (int i = threadIdx.x; i < count; i += blockDim.x) acc += partials[i];
  acc = block_sum<kThreads>(acc);
  if (threadIdx.x == 0) *out = static_cast<float>(acc);
}

__global__ void uniform_kernel(float* dst, std::int64_t n, rng::Stream rs, float lo, float span) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n; i += std::int64_t{gridDim.x} * blockDim.x)
    dst[i] = lo + span * rng::uniform01(rs.word(static_cast<std::uint64_t>(i)));
}

__global__ void normal_kernel(float* dst, std::int64_t n, rng::Stream rs, float mean, float stddev) {
  const std::int64_t pairs = (n + 1) / 2;
  for (std::int64_t k = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; k < pairs; k += std::int64_t{gridDim.x} * blockDim.x) {
    const rng::Words4 w = rs.draw(static_cast<std::uint32_t>(k >> 1));
    const int lane = static_cast<int>(k & 1) * 2;
    float z0, z1;
    rng::normal2(w.w[lane], w.w[lane + 1], z0, z1);
    dst[2 * k] = mean + stddev * z0;
    if (2 * k + 1 < n) dst[2 * k + 1] = mean + stddev * z1;
  }
}

}  // namespace

void fill(void* dst, DType dtype, std::int64_t n, double value, cudaStream_t stream) {
  if (n <= 0) return;
  // The host encodes the element once (same rounding as the CPU backend); the kernel copies bits.
  unsigned char pattern[8] = {};
  switch (dtype) {
    case DType::f32: { const float v = static_cast<float>(value); std::memcpy(pattern, &v, 4); break; }
    case DType::bf16: { const auto v = num::float_to_bf16(static_cast<float>(value)); std::memcpy(pattern, &v, 2); break; }
    case DType::f16: { const auto v = num::float_to_f16(static_cast<float>(value)); std::memcpy(pattern, &v, 2); break; }
    case DType::u8: { const auto v = static_cast<std::uint8_t>(value); std::memcpy(pattern, &v, 1); break; }
    case DType::i16: { const auto v = static_cast<std::int16_t>(value); std::memcpy(pattern, &v, 2); break; }
    case DType::i32: { const auto v = static_cast<std::int32_t>(value); std::memcpy(pattern, &v, 4); break; }
    case DType::i64: { const auto v = static_cast<std::int64_t>(value); std::memcpy(pattern, &v, 8); break; }
  }
  const int grid = grid_for(n, 4);
  switch (dtype_size(dtype)) {
    case 1: { Pod<1>::T p; std::memcpy(&p, pattern, 1); cmt::cuda::launch(fill_kernel<Pod<1>::T>, grid, kThreads, 0, stream, static_cast<Pod<1>::T*>(dst), n, p); break; }
    case 2: { Pod<2>::T p; std::memcpy(&p, pattern, 2); cmt::cuda::launch(fill_kernel<Pod<2>::T>, grid, kThreads, 0, stream, static_cast<Pod<2>::T*>(dst), n, p); break; }
    case 4: { Pod<4>::T p; std::memcpy(&p, pattern, 4); cmt::cuda::launch(fill_kernel<Pod<4>::T>, grid, kThreads, 0, stream, static_cast<Pod<4>::T*>(dst), n, p); break; }
    default: { Pod<8>::T p; std::memcpy(&p, pattern, 8); cmt::cuda::launch(fill_kernel<Pod<8>::T>, grid, kThreads, 0, stream, static_cast<Pod<8>::T*>(dst), n, p); break; }
  }
  CUDA_CHECK_LAUNCH();
}

void cast(const void* src, DType src_dtype, void* dst, DType dst_dtype, std::int64_t n, cudaStream_t stream) {
  CMT_CHECK(dtype_is_float(src_dtype) || dtype_is_float(dst_dtype) || dtype_size(src_dtype) <= 2,
            "cuda cast " << dtype_name(src_dtype) << "->" << dtype_name(dst_dtype) << " would lose integer range");
  if (n <= 0) return;
  cmt::cuda::launch(cast_kernel, grid_for(n, 4), kThreads, 0, stream, src, src_dtype, dst, dst_dtype, n);
  CUDA_CHECK_LAUNCH();
}

template <typename T>
void axpy(float alpha, const T* x, float* y, std::int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  cmt::cuda::launch(axpy_kernel<T>, grid_for(n, 4), kThreads, 0, stream, alpha, x, y, n);
  CUDA_CHECK_LAUNCH();
}
template void axpy<float>(float, const float*, float*, std::int64_t, cudaStream_t);
template void axpy<std::uint16_t>(float, const std::uint16_t*, float*, std::int64_t, cudaStream_t);

void add_scalar_f32(float* y, std::int64_t n, float value, cudaStream_t stream) {
  if (n <= 0) return;
  cmt::cuda::launch(add_scalar_kernel, grid_for(n, 4), kThreads, 0, stream, y, n, value);
  CUDA_CHECK_LAUNCH();
}

std::size_t sum_workspace_bytes(std::int64_t) { return kSumBlocks * sizeof(double); }

void sum_f32(const float* x, std::int64_t n, float* out, void* workspace, cudaStream_t stream) {
  auto* partials = static_cast<double*>(workspace);
  const int blocks = static_cast<int>(std::min<std::int64_t>(kSumBlocks, std::max<std::int64_t>(1, (n + kThreads * 8 - 1) / (kThreads * 8))));
  cmt::cuda::launch(sum_partial_kernel, blocks, kThreads, 0, stream, x, n, partials);
  CUDA_CHECK_LAUNCH();
  cmt::cuda::launch(sum_final_kernel, 1, kThreads, 0, stream, partials, blocks, out);
  CUDA_CHECK_LAUNCH();
}

void uniform_f32(float* dst, std::int64_t n, rng::Stream rs, float lo, float hi, cudaStream_t stream) {
  CMT_CHECK(n <= (std::int64_t{1} << 34), "uniform fill of " << n << " elements exceeds one Philox stream");
  if (n <= 0) return;
  cmt::cuda::launch(uniform_kernel, grid_for(n, 4), kThreads, 0, stream, dst, n, rs, lo, hi - lo);
  CUDA_CHECK_LAUNCH();
}

void normal_f32(float* dst, std::int64_t n, rng::Stream rs, float mean, float stddev, cudaStream_t stream) {
  CMT_CHECK(n <= (std::int64_t{1} << 34), "normal fill of " << n << " elements exceeds one Philox stream");
  if (n <= 0) return;
  cmt::cuda::launch(normal_kernel, grid_for((n + 1) / 2, 4), kThreads, 0, stream, dst, n, rs, mean, stddev);
  CUDA_CHECK_LAUNCH();
}

}  // namespace cmt::cuda
