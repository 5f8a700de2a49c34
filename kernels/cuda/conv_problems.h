// The three implicit GEMMs of a convolution (fprop, dgrad, wgrad) as operand gathers: which
// element of x, w or dy is A[m, k] and B[n, k], and where C[m, n] goes. Host and device code, no CUDA
// headers, so the CPU tests check the indexing and the 16-byte chunk invariants without a GPU.
#pragma once
#include <cstdint>

#include "kernels/common/elem.h"
#include "kernels/common/float16.h"
#include "kernels/common/macros.h"
#include "kernels/conv.h"

namespace cmt::cuda::igemm {

// Storage types: float, or std::uint16_t holding bf16 bits (read and written with elem::load / elem::store).
using bf16_bits = std::uint16_t;

// Every problem describes C[M, N] = sum_k A[m, k] * B[n, k] for group g through element offsets
// a_off / b_off (-1 means zero: padding or a skipped stride phase), and stores C through store().
// a_row(g, m) / b_row(g, n) give a per-row context (ARow / BRow) that the tensor-core loader computes
// once per block, so that the per-k-tile offsets a_off(g, row, k) / b_off(g, row, k) skip the
// row's divisions; a_off(g, m, k) == a_off(g, a_row(g, m), k).
// kAK / kBK: whether the operand's contiguous global dimension is k (else m resp. n); the tensor-core
// loader reads 16-byte chunks along that dimension, which the variant checks guarantee are contiguous.

// Positions fit in 31 bits (ops::conv_desc checks it), so the decomposition uses 32-bit division,
// several times cheaper on the GPU than 64-bit.
CMT_HD void split_pos(const ConvDesc& d, std::int64_t m64, int& n, int& z, int& p, int& q) {
  unsigned m = static_cast<unsigned>(m64);
  q = static_cast<int>(m % static_cast<unsigned>(d.Q));
  m /= static_cast<unsigned>(d.Q);
  p = static_cast<int>(m % static_cast<unsigned>(d.P));
  m /= static_cast<unsigned>(d.P);
  z = static_cast<int>(m % static_cast<unsigned>(d.Z));
  n = static_cast<int>(m / static_cast<unsigned>(d.Z));
}

CMT_HD void split_tap(const ConvDesc& d, int trs, int& t, int& r, int& s) {
  s = trs % d.S;
  r = (trs / d.S) % d.R;
  t = trs / (d.S * d.R);
}

// Offset of x[n, id, ih, iw, c0] for output position m at tap trs, or -1 outside the input.
CMT_HD std::int64_t x_tap_offset(const ConvDesc& d, std::int64_t m, int trs, int c0) {
  int n, z, p, q, t, r, s;
  split_pos(d, m, n, z, p, q);
  split_tap(d, trs, t, r, s);
  const int id = z * d.stride[0] - d.pad[0] + t * d.dil[0];
  const int ih = p * d.stride[1] - d.pad[1] + r * d.dil[1];
  const int iw = q * d.stride[2] - d.pad[2] + s * d.dil[2];
  if (id < 0 || id >= d.D || ih < 0 || ih >= d.H || iw < 0 || iw >= d.W) return -1;
  return ((((std::int64_t)n * d.D + id) * d.H + ih) * d.W + iw) * d.C + c0;
}

template <typename T>
struct FpropProblem {  // M = N*Z*P*Q, N = K/groups, K = T*R*S*Cg; A = x gathered, B = w
  static constexpr bool kAK = true, kBK = true;
  ConvDesc d;
  const T* a;  // x (N,D,H,W,C)
  const T* b;  // w (K,T,R,S,Cg)
  const T* bias;
  T* y;  // (N,Z,P,Q,K)
  CMT_HD std::int64_t M() const { return d.y_positions(); }
  CMT_HD int N() const { return d.Kg(); }
  CMT_HD std::int64_t Kd() const { return d.gemm_k(); }
  // Row context: the window origin of output position m, computed once per row by the loaders.
  struct ARow {
    int n, z0, p0, q0;
  };
  CMT_HD ARow a_row(int, std::int64_t m) const {
    int n, z, p, q;
    split_pos(d, m, n, z, p, q);
    return {n, z * d.stride[0] - d.pad[0], p * d.stride[1] - d.pad[1], q * d.stride[2] - d.pad[2]};
  }
  CMT_HD std::int64_t a_off(int g, const ARow& w0, std::int64_t k) const {
    const int cg = d.Cg();
    const int ki = static_cast<int>(k);  // reduction index < 2^31 (checked by ops::conv_desc)
    int t, r, s;
    split_tap(d, ki / cg, t, r, s);
    const int id = w0.z0 + t * d.dil[0], ih = w0.p0 + r * d.dil[1], iw = w0.q0 + s * d.dil[2];
    if (id < 0 || id >= d.D || ih < 0 || ih >= d.H || iw < 0 || iw >= d.W) return -1;
    return ((((std::int64_t)w0.n * d.D + id) * d.H + ih) * d.W + iw) * d.C + g * cg + ki % cg;
  }
  CMT_HD std::int64_t a_off(int g, std::int64_t m, std::int64_t k) const { return a_off(g, a_row(g, m), k); }
  using BRow = std::int64_t;
  CMT_HD BRow b_row(int, std::int64_t n) const { return n; }
  CMT_HD std::int64_t b_off(int g, std::int64_t n, std::int64_t k) const { return (g * std::int64_t{d.Kg()} + n) * Kd() + k; }
  CMT_HD void store(int g, int, std::int64_t m, int n, float v) const {
    const int k = g * d.Kg() + n;
    if (bias) v += elem::load(bias[k]);
    elem::store(y[m * d.K + k], v);
  }
};

template <typename T>
struct DgradProblem {  // M = N*D*H*W, N = Cg, K = T*R*S*Kg; A = dy gathered (stride phases), B = wT
  static constexpr bool kAK = true, kBK = true;
  ConvDesc d;
  const T* a;  // dy (N,Z,P,Q,K)
  const T* b;  // wT: per group (Cg, T*R*S*Kg), see transpose_weights
  T* dx;       // (N,D,H,W,C)
  CMT_HD std::int64_t M() const { return d.x_positions(); }
  CMT_HD int N() const { return d.Cg(); }
  CMT_HD std::int64_t Kd() const { return std::int64_t{d.trs()} * d.Kg(); }
  // Row context: x position m shifted by the padding (the stride-phase tests start from it).
  struct ARow {
    int n, zs0, ps0, qs0;
  };
  CMT_HD ARow a_row(int, std::int64_t m) const {
    unsigned mm = static_cast<unsigned>(m);  // x positions fit in 31 bits (see split_pos)
    const int iw = static_cast<int>(mm % static_cast<unsigned>(d.W));
    mm /= static_cast<unsigned>(d.W);
    const int ih = static_cast<int>(mm % static_cast<unsigned>(d.H));
    mm /= static_cast<unsigned>(d.H);
    const int id = static_cast<int>(mm % static_cast<unsigned>(d.D)), n = static_cast<int>(mm / static_cast<unsigned>(d.D));
    return {n, id + d.pad[0], ih + d.pad[1], iw + d.pad[2]};
  }
  CMT_HD std::int64_t a_off(int g, const ARow& x0, std::int64_t kk) const {
    const int kg = d.Kg(), ki = static_cast<int>(kk);
    int t, r, s;
    split_tap(d, ki / kg, t, r, s);
    const int zs = x0.zs0 - t * d.dil[0], ps = x0.ps0 - r * d.dil[1], qs = x0.qs0 - s * d.dil[2];
    if (zs < 0 || ps < 0 || qs < 0 || zs % d.stride[0] || ps % d.stride[1] || qs % d.stride[2]) return -1;
    const int z = zs / d.stride[0], p = ps / d.stride[1], q = qs / d.stride[2];
    if (z >= d.Z || p >= d.P || q >= d.Q) return -1;
    return ((((std::int64_t)x0.n * d.Z + z) * d.P + p) * d.Q + q) * d.K + g * kg + ki % kg;
  }
  CMT_HD std::int64_t a_off(int g, std::int64_t m, std::int64_t kk) const { return a_off(g, a_row(g, m), kk); }
  using BRow = std::int64_t;
  CMT_HD BRow b_row(int, std::int64_t n) const { return n; }
  CMT_HD std::int64_t b_off(int g, std::int64_t n, std::int64_t kk) const { return (g * std::int64_t{d.Cg()} + n) * Kd() + kk; }
  CMT_HD void store(int g, int, std::int64_t m, int n, float v) const { elem::store(dx[m * d.C + g * d.Cg() + n], v); }
};

template <typename T>
struct WgradProblem {  // M = Kg, N = T*R*S*Cg, K = N*Z*P*Q; A = dy (m contiguous), B = x gathered (n contiguous)
  static constexpr bool kAK = false, kBK = false;
  ConvDesc d;
  const T* a;  // dy (N,Z,P,Q,K)
  const T* b;  // x (N,D,H,W,C)
  float* partial;
  CMT_HD std::int64_t M() const { return d.Kg(); }
  CMT_HD int N() const { return static_cast<int>(d.gemm_k()); }
  CMT_HD std::int64_t Kd() const { return d.y_positions(); }
  using ARow = std::int64_t;
  CMT_HD ARow a_row(int, std::int64_t m) const { return m; }
  CMT_HD std::int64_t a_off(int g, std::int64_t m, std::int64_t pos) const { return pos * d.K + g * d.Kg() + m; }
  // Row context of B: the tap's offsets from the window origin and the input channel of column n.
  struct BRow {
    int dz, dh, dw, c;
  };
  CMT_HD BRow b_row(int g, std::int64_t n) const {
    const int cg = d.Cg(), ni = static_cast<int>(n);
    int t, r, s;
    split_tap(d, ni / cg, t, r, s);
    return {t * d.dil[0] - d.pad[0], r * d.dil[1] - d.pad[1], s * d.dil[2] - d.pad[2], g * cg + ni % cg};
  }
  CMT_HD std::int64_t b_off(int, const BRow& tap, std::int64_t pos) const {
    int n, z, p, q;
    split_pos(d, pos, n, z, p, q);
    const int id = z * d.stride[0] + tap.dz, ih = p * d.stride[1] + tap.dh, iw = q * d.stride[2] + tap.dw;
    if (id < 0 || id >= d.D || ih < 0 || ih >= d.H || iw < 0 || iw >= d.W) return -1;
    return ((((std::int64_t)n * d.D + id) * d.H + ih) * d.W + iw) * d.C + tap.c;
  }
  CMT_HD std::int64_t b_off(int g, std::int64_t n, std::int64_t pos) const { return b_off(g, b_row(g, n), pos); }
  CMT_HD void store(int g, int split, std::int64_t m, int n, float v) const {
    partial[(std::int64_t{split} * d.K + g * d.Kg() + m) * d.gemm_k() + n] = v;
  }
};

}  // namespace cmt::cuda::igemm
