// CPU direct convolution: the plain reference every other implementation is compared against.
#include <cstdint>
#include <vector>

#include "kernels/conv.h"

namespace cmt::cpu {

namespace {

// Input coordinate of output coordinate o at filter tap f in dimension i; may fall outside.
inline int in_coord(const ConvDesc& d, int i, int o, int f) { return o * d.stride[i] - d.pad[i] + f * d.dil[i]; }

}  // namespace

template <typename T>
void conv_fprop_direct(const ConvDesc& d, const T* x, const T* w, const T* bias, T* y) {
  const int Cg = d.Cg(), Kg = d.Kg();
#pragma omp parallel for collapse(2) schedule(static)
  for (int n = 0; n < d.N; ++n)
    for (int z = 0; z < d.Z; ++z)
      for (int p = 0; p < d.P; ++p)
        for (int q = 0; q < d.Q; ++q)
          for (int k = 0; k < d.K; ++k) {
            const int g = k / Kg;
            double acc = bias ? static_cast<double>(bias[k]) : 0.0;
            for (int t = 0; t < d.T; ++t) {
              const int id = in_coord(d, 0, z, t);
              if (id < 0 || id >= d.D) continue;
              for (int r = 0; r < d.R; ++r) {
                const int ih = in_coord(d, 1, p, r);
                if (ih < 0 || ih >= d.H) continue;
                for (int s = 0; s < d.S; ++s) {
                  const int iw = in_coord(d, 2, q, s);
                  if (iw < 0 || iw >= d.W) continue;
                  const T* xp = x + ((((std::int64_t)n * d.D + id) * d.H + ih) * d.W + iw) * d.C + g * Cg;
                  const T* wp = w + ((((std::int64_t)k * d.T + t) * d.R + r) * d.S + s) * Cg;
                  for (int c = 0; c < Cg; ++c) acc += static_cast<double>(xp[c]) * static_cast<double>(wp[c]);
                }
              }
            }
            y[((((std::int64_t)n * d.Z + z) * d.P + p) * d.Q + q) * d.K + k] = static_cast<T>(acc);
          }
}

// dx[n,id,ih,iw,c] = sum over the (k, t, r, s) whose window covers it; computed as a gather so that
// every dx element is written by one thread.
template <typename T>
void conv_dgrad_direct(const ConvDesc& d, const T* dy, const T* w, T* dx) {
  const int Cg = d.Cg(), Kg = d.Kg();
#pragma omp parallel for collapse(2) schedule(static)
  for (int n = 0; n < d.N; ++n)
    for (int id = 0; id < d.D; ++id)
      for (int ih = 0; ih < d.H; ++ih)
        for (int iw = 0; iw < d.W; ++iw)
          for (int c = 0; c < d.C; ++c) {
            const int g = c / Cg, cg = c % Cg;
            double acc = 0.0;
            for (int t = 0; t < d.T; ++t) {
              const int zs = id + d.pad[0] - t * d.dil[0];
              if (zs < 0 || zs % d.stride[0] != 0 || zs / d.stride[0] >= d.Z) continue;
              for (int r = 0; r < d.R; ++r) {
                const int ps = ih + d.pad[1] - r * d.dil[1];
                if (ps < 0 || ps % d.stride[1] != 0 || ps / d.stride[1] >= d.P) continue;
                for (int s = 0; s < d.S; ++s) {
                  const int qs = iw + d.pad[2] - s * d.dil[2];
                  if (qs < 0 || qs % d.stride[2] != 0 || qs / d.stride[2] >= d.Q) continue;
                  const std::int64_t yo =
                      ((((std::int64_t)n * d.Z + zs / d.stride[0]) * d.P + ps / d.stride[1]) * d.Q + qs / d.stride[2]) * d.K;
                  for (int k = g * Kg; k < (g + 1) * Kg; ++k)
                    acc += static_cast<double>(dy[yo + k]) *
                           static_cast<double>(w[((((std::int64_t)k * d.T + t) * d.R + r) * d.S + s) * Cg + cg]);
                }
              }
            }
            dx[((((std::int64_t)n * d.D + id) * d.H + ih) * d.W + iw) * d.C + c] = static_cast<T>(acc);
          }
}

template <typename T>
void conv_wgrad_direct(const ConvDesc& d, const T* x, const T* dy, T* dw) {
  const int Cg = d.Cg(), Kg = d.Kg();
#pragma omp parallel for collapse(2) schedule(static)
  for (int k = 0; k < d.K; ++k)
    for (int t = 0; t < d.T; ++t)
      for (int r = 0; r < d.R; ++r)
        for (int s = 0; s < d.S; ++s)
          for (int cg = 0; cg < Cg; ++cg) {
            const int c = (k / Kg) * Cg + cg;
            double acc = 0.0;
            for (int n = 0; n < d.N; ++n)
              for (int z = 0; z < d.Z; ++z) {
                const int id = z * d.stride[0] - d.pad[0] + t * d.dil[0];
                if (id < 0 || id >= d.D) continue;
                for (int p = 0; p < d.P; ++p) {
                  const int ih = p * d.stride[1] - d.pad[1] + r * d.dil[1];
                  if (ih < 0 || ih >= d.H) continue;
                  for (int q = 0; q < d.Q; ++q) {
                    const int iw = q * d.stride[2] - d.pad[2] + s * d.dil[2];
                    if (iw < 0 || iw >= d.W) continue;
                    acc += static_cast<double>(x[((((std::int64_t)n * d.D + id) * d.H + ih) * d.W + iw) * d.C + c]) *
                           static_cast<double>(dy[((((std::int64_t)n * d.Z + z) * d.P + p) * d.Q + q) * d.K + k]);
                  }
                }
              }
            dw[((((std::int64_t)k * d.T + t) * d.R + r) * d.S + s) * Cg + cg] = static_cast<T>(acc);
          }
}

template void conv_fprop_direct<float>(const ConvDesc&, const float*, const float*, const float*, float*);
template void conv_fprop_direct<double>(const ConvDesc&, const double*, const double*, const double*, double*);
template void conv_dgrad_direct<float>(const ConvDesc&, const float*, const float*, float*);
template void conv_dgrad_direct<double>(const ConvDesc&, const double*, const double*, double*);
template void conv_wgrad_direct<float>(const ConvDesc&, const float*, const float*, float*);
template void conv_wgrad_direct<double>(const ConvDesc&, const double*, const double*, double*);

}  // namespace cmt::cpu
