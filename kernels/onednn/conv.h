// The oneDNN convolution backend for CPU tensors: the CPU counterpart of kernels/cudnn, on the same
// channels-last tensors (ndhwc / nhwc, no activation reorders) with PyTorch's CPU library.
#pragma once
#include <cstddef>
#include <functional>
#include <string>

#include "kernels/conv.h"

namespace cmt::onednn {

// Host scratch of at least `bytes` from the caller's allocator (the engine's context workspace),
// valid until the caller's next request.
using Scratch = std::function<void*(std::size_t bytes)>;

// fp32, convolution_direct (no Winograd: sums of small integers stay exact). The primitives of a
// (pass, shape) are created on its first call and cached; later calls only execute them. Weights are
// reordered per call into oneDNN's preferred blocked layout inside the scratch (they change every
// step), activations are used in place. Threads: oneDNN's OpenMP runtime, the caller's team size.
void conv_fprop(const ConvDesc& d, const float* x, const float* w, const float* bias, float* y, const Scratch& scratch);
void conv_dgrad(const ConvDesc& d, const float* dy, const float* w, float* dx, const Scratch& scratch);
void conv_wgrad(const ConvDesc& d, const float* x, const float* dy, float* dw, const Scratch& scratch);

// The implementation oneDNN chose for every (pass, shape) run so far, one line each:
// "<pass> <descriptor> -> <implementation>" (e.g. brg:avx512_core, jit:avx2, gemm:jit).
std::string conv_report();

}  // namespace cmt::onednn
