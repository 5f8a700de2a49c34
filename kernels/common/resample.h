// Interpolation taps of the separable resampling (linear, antialiased when shrinking), shared by
// the CPU and CUDA backends so both compute the same weights.
#pragma once
#include "macros.h"

namespace cmt::rs {

// The taps of output index i along one axis of length in -> out (align_corners = false). With
// antialias on and out < in, a triangle filter widened by the shrink factor (PyTorch's
// antialiased bilinear); otherwise plain linear interpolation with edge clamping (the same
// formula with support 1, which reduces to it exactly).
struct Taps {
  int first = 0;      // first input index
  int count = 0;      // number of input indices
  float center = 0.f;  // position of the output sample in input coordinates (+0.5 convention)
  float invscale = 1.f;
  float total = 1.f;   // sum of the unnormalised weights
};

CMT_HD float tent(float x) {
  x = x < 0.f ? -x : x;
  return x < 1.f ? 1.f - x : 0.f;
}

CMT_HD float tap_weight(const Taps& t, int k) {
  return tent((static_cast<float>(k + t.first) - t.center + 0.5f) * t.invscale);
}

CMT_HD Taps make_taps(int i, int in, int out, bool antialias) {
  Taps t;
  const float scale = static_cast<float>(in) / static_cast<float>(out);
  const float support = (antialias && scale > 1.f) ? scale : 1.f;
  t.invscale = 1.f / support;
  t.center = scale * (static_cast<float>(i) + 0.5f);
  int lo = static_cast<int>(t.center - support + 0.5f);
  if (lo < 0) lo = 0;
  int hi = static_cast<int>(t.center + support + 0.5f);
  if (hi > in) hi = in;
  t.first = lo;
  t.count = hi - lo;
  float total = 0.f;
  for (int k = 0; k < t.count; ++k) total += tap_weight(t, k);
  t.total = total > 0.f ? total : 1.f;
  return t;
}

// HU window then scaling to [0, 1]: values below lo become 0, above hi 1.
CMT_HD float window01(float x, float lo, float inv_range) {
  float y = (x - lo) * inv_range;
  return y < 0.f ? 0.f : (y > 1.f ? 1.f : y);
}

}  // namespace cmt::rs
