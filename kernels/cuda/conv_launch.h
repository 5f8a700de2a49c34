// CUDA convolution launchers (native kernels): implicit GEMM (SIMT fp32 and tensor-core tf32/bf16),
// the C=1 stem kernel and the depthwise kernels, with the list of variants valid for a shape.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/common/conv_desc.h"
#include "kernels/common/stream.h"

namespace cmt::cuda {

// One way to run a pass. Kinds: simt (exact fp32 implicit GEMM, any shape, any dtype), tc64 / tc128
// (tensor-core implicit GEMM, 64x64 or 128x128 block tile; needs C/groups and K/groups multiples of
// 16 bytes of elements), stem (fprop and wgrad with C=1), depthwise (groups == C) and depthwise4 (multiplier 1,
// C % 4 == 0: fprop/dgrad with four channels per thread; wgrad as depthwise). split_k > 1 splits the wgrad
// reduction over output positions into partial sums reduced in a fixed order (deterministic).
struct ConvVariant {
  enum class Kind { simt, tc64, tc128, stem, depthwise, depthwise4 };
  Kind kind = Kind::simt;
  int split_k = 1;
  std::string name() const;
  static ConvVariant parse(const std::string& name);  // inverse of name(); throws on an unknown name
};

// Variants that can run (pass, d, math); the first is the heuristic default. Storage is bf16 when
// math == bf16, else f32.
std::vector<ConvVariant> conv_variants(ConvPass pass, const ConvDesc& d, ConvMath math);
std::size_t conv_workspace_bytes(ConvPass pass, const ConvDesc& d, ConvMath math, const ConvVariant& v);

// Device pointers (256-byte aligned, as the allocator gives); d from ops::conv_desc (positions < 2^31);
// bias may be null. Each needs conv_workspace_bytes(...) of scratch in ws.
void conv_fprop(const ConvDesc& d, ConvMath math, const ConvVariant& v, const void* x, const void* w,
                const void* bias, void* y, void* ws, cudaStream_t stream);
void conv_dgrad(const ConvDesc& d, ConvMath math, const ConvVariant& v, const void* dy, const void* w, void* dx,
                void* ws, cudaStream_t stream);
void conv_wgrad(const ConvDesc& d, ConvMath math, const ConvVariant& v, const void* x, const void* dy, void* dw,
                void* ws, cudaStream_t stream);

// db[k] = sum over rows of dy[row][k] (fp32 accumulation, deterministic two-pass).
std::size_t conv_bias_grad_workspace_bytes(std::int64_t rows, int K);
void conv_bias_grad(std::int64_t rows, int K, bool bf16, const void* dy, void* db, void* ws, cudaStream_t stream);

}  // namespace cmt::cuda
