// Pooling on N,D,H,W,C data: max (with argmax), average, adaptive average, global average.
// cmt::cpu holds the CPU reference, cmt::cuda the CUDA launchers with the same contract. The CUDA part
// needs no CUDA headers (kernels/common/stream.h forward-declares the handle types) and is declared
// only in CUDA builds, the only ones that define it.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/common/macros.h"

// The descriptor both pooling backends see: shapes of x (N,D,H,W,C) and y, window per dim.
namespace cmt {

struct PoolDesc {
  std::int64_t n = 1, c = 1;
  int in[3] = {1, 1, 1};   // D, H, W of x
  int out[3] = {1, 1, 1};  // D, H, W of y
  int k[3] = {1, 1, 1}, s[3] = {1, 1, 1}, p[3] = {0, 0, 0};

  CMT_HD std::int64_t in_volume() const { return std::int64_t{in[0]} * in[1] * in[2]; }
  CMT_HD std::int64_t out_volume() const { return std::int64_t{out[0]} * out[1] * out[2]; }
};

// Adaptive pooling bin o of `out` bins over `in` elements: [floor(o*in/out), ceil((o+1)*in/out)), like torch.
CMT_HD int adaptive_start(int o, int in, int out) { return static_cast<int>((std::int64_t{o} * in) / out); }
CMT_HD int adaptive_end(int o, int in, int out) {
  return static_cast<int>((std::int64_t{o + 1} * in + out - 1) / out);
}

// The output positions o along one dim whose window [o*s - p, o*s - p + k) contains input position i:
// o in [lo, hi). Used by the gather form of the pooling backward passes.
CMT_HD void pool_out_range(int i, int k, int s, int p, int out, int& lo, int& hi) {
  const int a = i + p - k + 1;  // smallest o*s
  lo = a <= 0 ? 0 : (a + s - 1) / s;
  hi = (i + p) / s + 1;
  if (hi > out) hi = out;
}

}  // namespace cmt

// CPU reference.
namespace cmt::cpu {

// argmax: flat index d*H*W + h*W + w inside x's volume, per output element.
void maxpool_forward(const PoolDesc& d, const float* x, float* y, std::int32_t* argmax);
void maxpool_backward(const PoolDesc& d, const float* dy, const std::int32_t* argmax, float* dx);
void avgpool_forward(const PoolDesc& d, const float* x, float* y);     // divides by k0*k1*k2
void avgpool_backward(const PoolDesc& d, const float* dy, float* dx);
// Adaptive: d.out gives the bins; k/s/p are ignored.
void adaptive_avgpool_forward(const PoolDesc& d, const float* x, float* y);
void adaptive_avgpool_backward(const PoolDesc& d, const float* dy, float* dx);
// x (n, sp, c) -> y (n, c): the mean over the sp positions of each sample (sums in double).
void global_avgpool_forward(const float* x, float* y, std::int64_t n, std::int64_t sp, std::int64_t c);
void global_avgpool_backward(const float* dy, float* dx, std::int64_t n, std::int64_t sp, std::int64_t c);

}  // namespace cmt::cpu

#if defined(CMT_WITH_CUDA)
#include "kernels/common/stream.h"

// CUDA launchers. T = float or std::uint16_t (bf16 bits): float arithmetic, one rounding per result, as the CPU's
// widen-compute-round rule.
namespace cmt::cuda {

template <typename T>
void maxpool_forward(const PoolDesc& d, const T* x, T* y, std::int32_t* argmax, cudaStream_t stream);
// Each input gathers the gradients of the windows that picked it, in output order: deterministic and
// equal to the CPU's scatter (which adds in the same order); no atomics, no scratch.
template <typename T>
void maxpool_backward(const PoolDesc& d, const T* dy, const std::int32_t* argmax, T* dx, cudaStream_t stream);
template <typename T>
void avgpool_forward(const PoolDesc& d, const T* x, T* y, cudaStream_t stream);
template <typename T>
void avgpool_backward(const PoolDesc& d, const T* dy, T* dx, cudaStream_t stream);
template <typename T>
void adaptive_avgpool_forward(const PoolDesc& d, const T* x, T* y, cudaStream_t stream);
template <typename T>
void adaptive_avgpool_backward(const PoolDesc& d, const T* dy, T* dx, cudaStream_t stream);
// x (n, sp, c) -> y (n, c) mean over sp; backward spreads dy/sp.
std::size_t global_avgpool_workspace_bytes(std::int64_t n, std::int64_t sp, std::int64_t c);
template <typename T>
void global_avgpool_forward(const T* x, T* y, std::int64_t n, std::int64_t sp, std::int64_t c, void* workspace,
                            cudaStream_t stream);
template <typename T>
void global_avgpool_backward(const T* dy, T* dx, std::int64_t n, std::int64_t sp, std::int64_t c, cudaStream_t stream);

}  // namespace cmt::cuda
#endif  // CMT_WITH_CUDA
