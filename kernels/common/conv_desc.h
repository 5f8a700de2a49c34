// Convolution descriptor shared by the CPU, CUDA and cuDNN backends: sizes of one N,D,H,W,C conv.
#pragma once
#include <cstdint>
#include <sstream>
#include <string>

#include "kernels/common/macros.h"

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
