// Convolution: dense, grouped, depthwise and the one-channel stem.
// cmt::cpu holds the CPU reference, cmt::cuda the CUDA launchers with the same contract. The CUDA part
// needs no CUDA headers (kernels/common/stream.h forward-declares the handle types) and is declared
// only in CUDA builds, the only ones that define it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/common/macros.h"

// The descriptor every conv backend sees (CPU, CUDA and cuDNN): sizes of one N,D,H,W,C conv.
namespace cmt {

enum class ConvPass { fprop, dgrad, wgrad };
// How a CUDA conv computes: exact fp32 (SIMT), tf32 tensor cores on f32 tensors, or bf16 tensors
// on tensor cores with fp32 accumulation.
enum class ConvMath { fp32, tf32, bf16 };

inline const char* conv_pass_name(ConvPass p) {
  return p == ConvPass::fprop ? "fprop" : p == ConvPass::dgrad ? "dgrad" : "wgrad";
}
inline const char* conv_math_name(ConvMath m) {
  return m == ConvMath::fp32 ? "fp32" : m == ConvMath::tf32 ? "tf32" : "bf16";
}

// Activations x (N,D,H,W,C), weights w (K,T,R,S,C/groups), output y (N,Z,P,Q,K); 2D is D=T=Z=1.
// Output size per dimension: out = (in + 2*pad - dil*(k-1) - 1) / stride + 1.
struct ConvDesc {
  int N = 1, D = 1, H = 1, W = 1, C = 1;
  int K = 1, T = 1, R = 1, S = 1;
  int Z = 1, P = 1, Q = 1;
  int stride[3] = {1, 1, 1}, pad[3] = {0, 0, 0}, dil[3] = {1, 1, 1};
  int groups = 1;

  CMT_HD int Cg() const { return C / groups; }  // input channels per group (weight's last dim)
  CMT_HD int Kg() const { return K / groups; }  // output channels per group
  CMT_HD int trs() const { return T * R * S; }
  CMT_HD std::int64_t gemm_k() const { return std::int64_t{T} * R * S * Cg(); }  // fprop reduction length
  CMT_HD std::int64_t x_positions() const { return std::int64_t{N} * D * H * W; }
  CMT_HD std::int64_t y_positions() const { return std::int64_t{N} * Z * P * Q; }
  CMT_HD std::int64_t x_elems() const { return x_positions() * C; }
  CMT_HD std::int64_t y_elems() const { return y_positions() * K; }
  CMT_HD std::int64_t w_elems() const { return std::int64_t{K} * gemm_k(); }
  CMT_HD bool depthwise() const { return groups == C && groups > 1; }  // Cg == 1, K = m*C
  // A 1x1x1 conv with unit stride and no padding is a plain GEMM on the channels-last activations.
  CMT_HD bool pointwise() const {
    return T == 1 && R == 1 && S == 1 && stride[0] == 1 && stride[1] == 1 && stride[2] == 1 && pad[0] == 0 &&
           pad[1] == 0 && pad[2] == 0;
  }
  // Multiply-adds times two of one forward pass (each of dgrad and wgrad costs the same).
  double flops() const { return 2.0 * static_cast<double>(y_positions()) * K * static_cast<double>(gemm_k()); }

  std::string str() const {
    std::ostringstream os;
    os << "x[" << N << "," << D << "," << H << "," << W << "," << C << "] w[" << K << "," << T << "," << R << ","
       << S << "," << Cg() << "] y[" << N << "," << Z << "," << P << "," << Q << "," << K << "] stride(" << stride[0]
       << "," << stride[1] << "," << stride[2] << ") pad(" << pad[0] << "," << pad[1] << "," << pad[2] << ") dil("
       << dil[0] << "," << dil[1] << "," << dil[2] << ") groups " << groups;
    return os.str();
  }
};

// Output extent of one dimension; <= 0 means the window does not fit.
CMT_HD int conv_out_size(int in, int k, int stride, int pad, int dil) {
  return (in + 2 * pad - dil * (k - 1) - 1) / stride + 1;
}

}  // namespace cmt

// CPU reference. The direct reference (the oracle) and the fast path (vol2col + sgemm, depthwise).
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
// else as vol2col + GEMM (kernels/cpu/gemm.h) per group, in row chunks.
void conv_fprop(const ConvDesc& d, const float* x, const float* w, const float* bias, float* y);
void conv_dgrad(const ConvDesc& d, const float* dy, const float* w, float* dx);
void conv_wgrad(const ConvDesc& d, const float* x, const float* dy, float* dw);
void conv_bias_grad(std::int64_t rows, int K, const float* dy, float* db);  // db[k] = sum_rows dy[row][k]

// Depthwise (groups == C, K = m*C) pieces of the fast path, exposed for tests.
void conv_depthwise_fprop(const ConvDesc& d, const float* x, const float* w, const float* bias, float* y);
void conv_depthwise_dgrad(const ConvDesc& d, const float* dy, const float* w, float* dx);
void conv_depthwise_wgrad(const ConvDesc& d, const float* x, const float* dy, float* dw);

// One input channel (the network's stem), groups 1: the weight gradient by its own path
// (kernels/cpu/conv_stem.cpp: direct, the taps of a line in registers), exposed for tests.
void conv_wgrad_stem(const ConvDesc& d, const float* x, const float* dy, float* dw);

}  // namespace cmt::cpu

#if defined(CMT_WITH_CUDA)
#include "kernels/common/stream.h"

// CUDA launchers. Native kernels: implicit GEMM (SIMT fp32 and tensor-core tf32/bf16), the C=1 stem kernel and the
// depthwise kernels, with the list of variants valid for a shape. Their shared internals are in
// kernels/cuda/conv_internal.h.
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
#endif  // CMT_WITH_CUDA
