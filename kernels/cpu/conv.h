// CPU convolution: the direct reference (the oracle) and the fast path (vol2col + sgemm, depthwise).
#pragma once
#include <cstdint>

#include "kernels/common/conv_desc.h"

namespace cmt::cpu {

// Direct loops, one output element at a time; T = float or double (double for finite differences).
// x (N,D,H,W,C), w (K,T,R,S,C/groups), y (N,Z,P,Q,K), bias [K] or null.
template <typename T>
void conv_fprop_direct(const ConvDesc& d, const T* x, const T* w, const T* bias, T* y);
template <typename T>
void conv_dgrad_direct(const ConvDesc& d, const T* dy, const T* w, T* dx);
template <typename T>
void conv_wgrad_direct(const ConvDesc& d, const T* x, const T* dy, T* dw);

// The fast path the CPU training uses: pointwise convs as one GEMM, depthwise convs by their own
// channel-vectorised loops, the one-channel stem's weight gradient by its own path, everything
// else as vol2col + cblas_sgemm per group, in row chunks.
void conv_fprop(const ConvDesc& d, const float* x, const float* w, const float* bias, float* y);
void conv_dgrad(const ConvDesc& d, const float* dy, const float* w, float* dx);
void conv_wgrad(const ConvDesc& d, const float* x, const float* dy, float* dw);
void conv_bias_grad(std::int64_t rows, int K, const float* dy, float* db);  // db[k] = sum_rows dy[row][k]

// Depthwise (groups == C, K = m*C) pieces of the fast path, exposed for tests.
void conv_depthwise_fprop(const ConvDesc& d, const float* x, const float* w, const float* bias, float* y);
void conv_depthwise_dgrad(const ConvDesc& d, const float* dy, const float* w, float* dx);
void conv_depthwise_wgrad(const ConvDesc& d, const float* x, const float* dy, float* dw);

// One input channel (the network's stem), groups 1: the weight gradient by its own path
// (kernels/cpu/conv_stem.cpp), exposed for tests; col_budget: floats of column buffer per chunk.
void conv_wgrad_stem(const ConvDesc& d, const float* x, const float* dy, float* dw, std::int64_t col_budget = std::int64_t{1} << 22);

}  // namespace cmt::cpu
