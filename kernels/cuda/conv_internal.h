// Internal pieces of the CUDA conv backend shared between its .cu files (no CUDA headers).
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/common/stream.h"
#include "kernels/conv.h"

namespace cmt::cuda::detail {

constexpr int kSplitAlign = 64;  // reduction length per split is a multiple of every k-tile

// Split count of the wgrad reduction for a variant (v.split_k, or 0 = chosen from the shape), and
// the reduction length per split.
int wgrad_splits(const ConvDesc& d, const ConvVariant& v);
std::int64_t wgrad_k_per_split(const ConvDesc& d, int splits);
int depthwise_wgrad_splits(const ConvDesc& d);

void depthwise_fprop(const ConvDesc& d, bool bf16, bool vec4, const void* x, const void* w, const void* bias, void* y, void* ws,
                     cudaStream_t stream);
void depthwise_dgrad(const ConvDesc& d, bool bf16, bool vec4, const void* dy, const void* w, void* dx, void* ws, cudaStream_t stream);
void depthwise_wgrad(const ConvDesc& d, bool bf16, const void* x, const void* dy, void* dw, void* ws, cudaStream_t stream);
std::size_t depthwise_workspace_bytes(ConvPass pass, const ConvDesc& d);

void stem_fprop(const ConvDesc& d, bool bf16, const void* x, const void* w, const void* bias, void* y, cudaStream_t stream);

// The stem weight gradient (C = 1, groups 1, kernels/cuda/conv_wgrad.cu): each thread keeps the sums
// of up to kStemTapsPerThread taps, so T*R*S <= 4 * 128 (7x7x7 = 343 fits).
constexpr int kStemTapsPerThread = 4;
inline bool stem_wgrad_fits(const ConvDesc& d) { return d.C == 1 && d.groups == 1 && d.trs() <= kStemTapsPerThread * 128; }
int stem_wgrad_splits(const ConvDesc& d);  // partial sums over output positions (workspace: splits x w_elems floats)

}  // namespace cmt::cuda::detail
