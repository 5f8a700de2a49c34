// Pooling descriptor shared by the CPU and CUDA pooling kernels: shapes of x (N,D,H,W,C) and y, window per dim.
#pragma once
#include <cstdint>

#include "macros.h"

namespace cmt {

struct PoolDesc {
  std::int64_t n = 1, c = 1;
  int in[3] = {1, 1, 1};   // D, H, W of x
  int out[3] = {1, 1, 1};  // D, H, W of y
  int k[3] = {1, 1, 1}, s[3] = {1, 1, 1}, p[3] = {0, 0, 0};

  CMT_HD std::int64_t in_volume() const { return std::int64_t{in[0]} * in[1] * in[2]; }
  CMT_HD std::int64_t out_volume() const { return std::int64_t{out[0]} * out[1] * out[2]; }
};

// Adaptive pooling bin o of `out` bins over `in` elements: [floor(o*in/out), ceil((o+1)*in/out)), like torch.
CMT_HD int adaptive_start(int o, int in, int out) { return static_cast<int>((std::int64_t{o} * in) / out); }
CMT_HD int adaptive_end(int o, int in, int out) {
  return static_cast<int>((std::int64_t{o + 1} * in + out - 1) / out);
}

// The output positions o along one dim whose window [o*s - p, o*s - p + k) contains input position i:
// o in [lo, hi). Used by the gather form of the pooling backward passes.
CMT_HD void pool_out_range(int i, int k, int s, int p, int out, int& lo, int& hi) {
  const int a = i + p - k + 1;  // smallest o*s
  lo = a <= 0 ? 0 : (a + s - 1) / s;
  hi = (i + p) / s + 1;
  if (hi > out) hi = out;
}

}  // namespace cmt
