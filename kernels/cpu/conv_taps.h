// CPU conv helper: walking the filter taps of one output position (shared by the CPU conv files).
#pragma once
#include <cstdint>

#include "kernels/conv.h"

namespace cmt::cpu {

// Output position m -> (n, z, p, q) and the input origin of its window.
struct Pos {
  int n, z, p, q;
};
inline Pos decompose(const ConvDesc& d, std::int64_t m) {
  Pos o;
  o.q = static_cast<int>(m % d.Q);
  m /= d.Q;
  o.p = static_cast<int>(m % d.P);
  m /= d.P;
  o.z = static_cast<int>(m % d.Z);
  o.n = static_cast<int>(m / d.Z);
  return o;
}

// Calls fn(trs, x_offset of channel 0 or -1 outside the input) for every tap of output position m.
template <typename Fn>
inline void for_each_tap(const ConvDesc& d, std::int64_t m, Fn&& fn) {
  const Pos o = decompose(d, m);
  int trs = 0;
  for (int t = 0; t < d.T; ++t) {
    const int id = o.z * d.stride[0] - d.pad[0] + t * d.dil[0];
    for (int r = 0; r < d.R; ++r) {
      const int ih = o.p * d.stride[1] - d.pad[1] + r * d.dil[1];
      for (int s = 0; s < d.S; ++s, ++trs) {
        const int iw = o.q * d.stride[2] - d.pad[2] + s * d.dil[2];
        const bool in = id >= 0 && id < d.D && ih >= 0 && ih < d.H && iw >= 0 && iw < d.W;
        fn(trs, in ? ((((std::int64_t)o.n * d.D + id) * d.H + ih) * d.W + iw) * d.C : std::int64_t{-1});
      }
    }
  }
}

}  // namespace cmt::cpu
