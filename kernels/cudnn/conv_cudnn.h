// The cuDNN convolution backend: the baseline the native kernels are measured against.
#pragma once
#include <cstddef>

#include "kernels/common/conv_desc.h"
#include "kernels/common/stream.h"

namespace cmt::cudnn {

// Scratch needed by the algorithm chosen for (pass, d, math); the choice (cudnnFind, once per shape,
// like cudnn.benchmark) is cached. Storage is bf16 when math == bf16, else f32; fp32 math forbids
// tensor cores, tf32 allows them.
std::size_t conv_workspace_bytes(cudnnHandle_t h, ConvPass pass, const ConvDesc& d, ConvMath math);

void conv_fprop(cudnnHandle_t h, const ConvDesc& d, ConvMath math, const void* x, const void* w, const void* bias,
                void* y, void* ws, std::size_t ws_bytes);
void conv_dgrad(cudnnHandle_t h, const ConvDesc& d, ConvMath math, const void* dy, const void* w, void* dx, void* ws,
                std::size_t ws_bytes);
void conv_wgrad(cudnnHandle_t h, const ConvDesc& d, ConvMath math, const void* x, const void* dy, void* dw, void* ws,
                std::size_t ws_bytes);

}  // namespace cmt::cudnn
