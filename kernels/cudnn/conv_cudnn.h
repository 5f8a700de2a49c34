// The cuDNN convolution backend: the baseline the native kernels are measured against.
#pragma once
#include <cstddef>
#include <functional>

#include "kernels/common/stream.h"
#include "kernels/conv.h"
#include "kernels/cudnn/algo_choice.h"

namespace cmt::cudnn {

// Device scratch of at least `bytes` from the caller's allocator (the engine's context workspace),
// valid until the next call on the same stream.
using Scratch = std::function<void*(std::size_t bytes)>;

// Each pass chooses its algorithm on the first call for (pass, d, math), like cudnn.benchmark, with
// cudnnFind*AlgorithmEx on the call's own buffers and scratch from `scratch` (the plain Find would
// cudaMalloc tensors of its own, which fails on large 3D shapes once the caching allocator holds the
// memory); the choice is cached and later calls only run it. Storage is bf16 when math == bf16, else
// f32; fp32 math runs CUDNN_FMA_MATH algorithms only (pick_algorithm), tf32 allows tensor cores.
void conv_fprop(cudnnHandle_t h, const ConvDesc& d, ConvMath math, const void* x, const void* w, const void* bias,
                void* y, const Scratch& scratch);
void conv_dgrad(cudnnHandle_t h, const ConvDesc& d, ConvMath math, const void* dy, const void* w, void* dx,
                const Scratch& scratch);
void conv_wgrad(cudnnHandle_t h, const ConvDesc& d, ConvMath math, const void* x, const void* dy, void* dw,
                const Scratch& scratch);

}  // namespace cmt::cudnn
