// Conv test cases shared by the CPU and CUDA tests: every distinct conv of VGG-19, ResNet-50 and
// EfficientNet-B4 (models/backbone_convs.h; 2D and 3D, scaled-down spatial sizes, real channel
// counts) plus edge cases.
#pragma once
#include <array>
#include <string>
#include <vector>

#include "engine/ops/conv.h"
#include "models/backbone_convs.h"

namespace cmt::test {

struct ConvCase {
  std::string name;
  Shape x, w;  // (N,D,H,W,C), (K,T,R,S,C/groups)
  ops::ConvParams p;
};

using models::backbone_layers;
using models::ConvLayer;

// One case per distinct layer, in 2D (D = T = 1) or 3D, at small odd spatial sizes.
inline std::vector<ConvCase> backbone_cases(bool three_d) {
  std::vector<ConvCase> cases;
  for (const ConvLayer& l : backbone_layers()) {
    int in = l.stride == 2 ? 7 : 5;
    if (l.k == 7) in = 9;
    // The heaviest layers (direct reference cost ~ C*K*k^dims per position) get the fewest positions.
    const double work = double(l.C) * l.K * l.k * l.k * (three_d ? l.k : 1) / l.groups;
    if (!three_d && work >= 256.0 * 256 * 9) in = l.stride == 2 ? 5 : 3;
    if (three_d) in = l.k == 7 ? 7 : (l.stride == 2 ? (work >= 256.0 * 256 * 27 ? 3 : 5) : (work >= 128.0 * 128 * 27 ? 2 : 3));
    if (l.pooled) in = 1;
    const int n = three_d || work >= 128.0 * 128 * 9 ? 1 : 2, d = three_d ? in : 1, t = three_d ? l.k : 1;
    ConvCase c;
    c.name = std::string(l.net) + (three_d ? " 3d" : " 2d") + " C" + std::to_string(l.C) + " K" + std::to_string(l.K) +
             " k" + std::to_string(l.k) + " s" + std::to_string(l.stride) + " g" + std::to_string(l.groups);
    c.x = Shape{n, d, in, in, l.C};
    c.w = Shape{l.K, t, l.k, l.k, l.C / l.groups};
    c.p.stride = {three_d ? l.stride : 1, l.stride, l.stride};
    c.p.padding = {three_d ? l.k / 2 : 0, l.k / 2, l.k / 2};
    c.p.groups = l.groups;
    cases.push_back(c);
  }
  return cases;
}

inline ConvCase conv_case(std::string name, Shape x, Shape w, std::array<int, 3> stride, std::array<int, 3> pad,
                          std::array<int, 3> dil = {1, 1, 1}, int groups = 1) {
  ConvCase c{std::move(name), x, w, {}};
  c.p.stride = stride, c.p.padding = pad, c.p.dilation = dil, c.p.groups = groups;
  return c;
}

// The convolution's edge cases (docs/conv.md): odd sizes with stride 2, 1x1x1, 7x7x7 stride-2 stems, dilation,
// groups, depthwise with a channel multiplier, C = 1 (also dilated, K not a multiple of 16), anisotropic
// parameters, large padding.
inline std::vector<ConvCase> edge_cases() {
  return {
      conv_case("stride 2 odd 3d", {2, 7, 9, 5, 8}, {16, 3, 3, 3, 8}, {2, 2, 2}, {1, 1, 1}),
      conv_case("stride 2 odd no pad 2d", {3, 1, 11, 9, 16}, {8, 1, 3, 3, 16}, {1, 2, 2}, {0, 0, 0}),
      conv_case("1x1x1", {2, 3, 5, 7, 24}, {40, 1, 1, 1, 24}, {1, 1, 1}, {0, 0, 0}),
      conv_case("1x1x1 stride 2", {2, 5, 5, 7, 16}, {32, 1, 1, 1, 16}, {2, 2, 2}, {0, 0, 0}),
      conv_case("stem 7x7x7 s2 C1", {2, 9, 11, 10, 1}, {16, 7, 7, 7, 1}, {2, 2, 2}, {3, 3, 3}),
      conv_case("stem 7x7 s2 C1 2d", {2, 1, 13, 12, 1}, {64, 1, 7, 7, 1}, {1, 2, 2}, {0, 3, 3}),
      conv_case("C1 3x3", {3, 4, 6, 5, 1}, {8, 3, 3, 3, 1}, {1, 1, 1}, {1, 1, 1}),
      conv_case("dilation 2", {2, 7, 7, 8, 8}, {16, 3, 3, 3, 8}, {1, 1, 1}, {2, 2, 2}, {2, 2, 2}),
      conv_case("dilation 2 stride 2", {2, 1, 13, 11, 8}, {8, 1, 3, 3, 8}, {1, 2, 2}, {1, 2, 2}, {1, 2, 2}),
      conv_case("groups 2", {2, 5, 5, 5, 16}, {32, 3, 3, 3, 8}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, 2),
      conv_case("groups 4 stride 2", {2, 1, 9, 9, 32}, {16, 1, 3, 3, 8}, {1, 2, 2}, {0, 1, 1}, {1, 1, 1}, 4),
      conv_case("depthwise", {2, 5, 6, 7, 24}, {24, 3, 3, 3, 1}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, 24),
      conv_case("depthwise x2 stride 2", {2, 5, 7, 7, 12}, {24, 3, 3, 3, 1}, {2, 2, 2}, {1, 1, 1}, {1, 1, 1}, 12),
      conv_case("depthwise 5x5 s2 2d", {2, 1, 11, 9, 40}, {40, 1, 5, 5, 1}, {1, 2, 2}, {0, 2, 2}, {1, 1, 1}, 40),
      conv_case("depthwise dil 2", {1, 6, 7, 6, 8}, {16, 3, 3, 3, 1}, {1, 1, 1}, {2, 2, 2}, {2, 2, 2}, 8),
      conv_case("anisotropic", {2, 6, 9, 8, 8}, {16, 2, 3, 5, 8}, {1, 2, 3}, {0, 1, 2}, {2, 1, 1}),
      conv_case("large padding", {1, 3, 4, 5, 8}, {8, 3, 3, 3, 8}, {1, 1, 1}, {3, 3, 3}),
      conv_case("window equals input", {2, 3, 3, 3, 16}, {16, 3, 3, 3, 16}, {1, 1, 1}, {0, 0, 0}),
      conv_case("odd channels", {2, 1, 6, 5, 3}, {5, 1, 3, 3, 3}, {1, 1, 1}, {0, 1, 1}),
      conv_case("C1 5x5 dilated stride 2 2d", {3, 1, 21, 24, 1}, {20, 1, 5, 5, 1}, {1, 1, 2}, {0, 2, 3}, {1, 1, 2}),
  };
}

}  // namespace cmt::test
