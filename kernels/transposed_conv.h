// The x2 up-sampling transposed convolution of one channel (kernel 2, stride 2, with bias: the
// attention decoder's deconvolution). Each input element spreads to a 2x2 (2D) or 2x2x2 (3D) block of
// the output, weighted by the kernel's taps: y[n, kd*d+i, 2h+j, 2w+k] = x[n, d, h, w] * w[i, j, k] + b.
// cmt::cpu holds the CPU reference, cmt::cuda the CUDA launchers with the same contract (f32).
#pragma once
#include <cstdint>

#include "kernels/common/macros.h"

namespace cmt {

// x (N, D, H, W), w (kd, 2, 2) with kd 1 (2D) or 2 (3D), b [1]; y (N, kd*D, 2H, 2W).
struct TransposedConv2xShape {
  std::int64_t n = 0, d = 0, h = 0, w = 0, kd = 1;
  CMT_HD std::int64_t inputs() const { return n * d * h * w; }
  CMT_HD std::int64_t taps() const { return kd * 4; }
};

}  // namespace cmt

namespace cmt::cpu {

void transposed_conv2x(const float* x, const float* w, const float* b, float* y, const TransposedConv2xShape& s);
// dx (N, D, H, W), dw (kd, 2, 2) and db [1] are written (not accumulated); dw and db sum in double.
void transposed_conv2x_backward(const float* dy, const float* x, const float* w, float* dx, float* dw, float* db,
                                const TransposedConv2xShape& s);

}  // namespace cmt::cpu

#if defined(CMT_WITH_CUDA)
#include "kernels/common/stream.h"

// CUDA launchers: one thread per output (forward) or input (dx); dw and db one block each, a fixed-order sum.
namespace cmt::cuda {

void transposed_conv2x(const float* x, const float* w, const float* b, float* y, const TransposedConv2xShape& s,
                       cudaStream_t stream);
void transposed_conv2x_backward(const float* dy, const float* x, const float* w, float* dx, float* dw, float* db,
                                const TransposedConv2xShape& s, cudaStream_t stream);

}  // namespace cmt::cuda
#endif  // CMT_WITH_CUDA
