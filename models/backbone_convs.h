// The distinct convolutions of the backbones (models/vgg.cpp, models/resnet.cpp,
// models/efficientnet.cpp): VGG-19, ResNet-50 and EfficientNet-B4 with a one-channel input, as
// plain shapes. The conv tests build their cases from it and bench/bench_conv.cpp its problem list.
// Not installed (cmake/CmtInstall.cmake): it describes the backbones, it is not part of the API.
#pragma once
#include <algorithm>
#include <set>
#include <tuple>
#include <vector>

namespace cmt::models {

struct ConvLayer {
  const char* net;
  int C, K, k, stride, groups;
  bool pooled;  // squeeze-excitation 1x1 on a pooled (1x1x1) input
  int in;       // input spatial extent at the resolution asked for (0 when none was)
  auto key() const { return std::make_tuple(C, K, k, stride, groups, pooled, in); }
};

// Every conv of VGG-19, ResNet-50 and EfficientNet-B4 (one-channel input); with res > 0 each layer
// also carries its input extent at that resolution, and layers repeat per extent.
inline std::vector<ConvLayer> backbone_layers(int res = 0) {
  std::vector<ConvLayer> all;
  int s = res;
  auto add = [&](const char* net, int C, int K, int k, int stride, int groups, bool pooled = false) {
    all.push_back({net, C, K, k, stride, groups, pooled, pooled ? 1 : s});
  };
  auto down = [&](int stride) { s = res ? (s - 1) / stride + 1 : 0; };
  int cin = 1;
  for (int v : {64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512, 0, 512, 512, 512, 512})
    if (v) add("vgg19", cin, v, 3, 1, 1), cin = v;
    else down(2);  // max-pool
  s = res;
  add("resnet50", 1, 64, 7, 2, 1);  // stem, then max-pool
  down(2), down(2);
  int inplanes = 64;
  const int planes[4] = {64, 128, 256, 512}, blocks[4] = {3, 4, 6, 3}, strides[4] = {1, 2, 2, 2};
  for (int l = 0; l < 4; ++l)
    for (int b = 0; b < blocks[l]; ++b) {
      const int st = b == 0 ? strides[l] : 1, p = planes[l];
      add("resnet50", inplanes, p, 1, 1, 1);
      add("resnet50", p, p, 3, st, 1);
      if (b == 0) add("resnet50", inplanes, 4 * p, 1, st, 1);
      down(st);
      add("resnet50", p, 4 * p, 1, 1, 1);
      inplanes = 4 * p;
    }
  s = res;
  add("efficientnet_b4", 1, 48, 3, 2, 1);  // stem
  down(2);
  struct Stage { int k, s, e, out, r; };
  const Stage stages[7] = {{3, 1, 1, 24, 2}, {3, 2, 6, 32, 4}, {5, 2, 6, 56, 4}, {3, 2, 6, 112, 6},
                           {5, 1, 6, 160, 6}, {5, 2, 6, 272, 8}, {3, 1, 6, 448, 2}};
  cin = 48;
  for (const Stage& st : stages)
    for (int i = 0; i < st.r; ++i) {
      const int exp = cin * st.e, sq = std::max(1, cin / 4), stride = i == 0 ? st.s : 1;
      if (st.e != 1) add("efficientnet_b4", cin, exp, 1, 1, 1);
      add("efficientnet_b4", exp, exp, st.k, stride, exp);
      down(stride);
      add("efficientnet_b4", exp, sq, 1, 1, 1, true);
      add("efficientnet_b4", sq, exp, 1, 1, 1, true);
      add("efficientnet_b4", exp, st.out, 1, 1, 1);
      cin = st.out;
    }
  add("efficientnet_b4", 448, 1792, 1, 1, 1);
  std::vector<ConvLayer> distinct;
  std::set<decltype(all[0].key())> seen;
  for (const auto& l : all)
    if (seen.insert(l.key()).second) distinct.push_back(l);
  return distinct;
}

}  // namespace cmt::models
