// CUDA conv variant lists, split-K choice and workspace sizes (host code only).
#include <algorithm>
#include <string>

#include "kernels/common/check.h"
#include "kernels/conv.h"
#include "kernels/cuda/common.cuh"
#include "kernels/cuda/conv_internal.h"

namespace cmt::cuda {

namespace {

constexpr int kTargetBlocks = 264;  // ~2 waves of blocks on a 132-SM H100

int vec_elems(ConvMath math) { return math == ConvMath::bf16 ? 8 : 4; }  // 16 bytes

bool tc_ok(ConvPass pass, const ConvDesc& d, ConvMath math) {
  if (math == ConvMath::fp32 || d.depthwise()) return false;
  const int v = vec_elems(math);
  switch (pass) {
    case ConvPass::fprop: return d.Cg() % v == 0;
    case ConvPass::dgrad: return d.Kg() % v == 0;
    case ConvPass::wgrad: return d.Cg() % v == 0 && d.Kg() % v == 0;
  }
  return false;
}

std::size_t elem_bytes(ConvMath math) { return math == ConvMath::bf16 ? 2 : 4; }

}  // namespace

std::string ConvVariant::name() const {
  std::string k;
  switch (kind) {
    case Kind::simt: k = "simt64x64"; break;
    case Kind::tc64: k = "tc64x64"; break;
    case Kind::tc128: k = "tc128x128"; break;
    case Kind::stem: k = "stem"; break;
    case Kind::depthwise: k = "depthwise"; break;
    case Kind::depthwise4: k = "depthwise-vec4"; break;
  }
  return split_k == 1 ? k : k + "/split" + (split_k == 0 ? std::string("auto") : std::to_string(split_k));
}

ConvVariant ConvVariant::parse(const std::string& name) {
  const auto slash = name.find("/split");
  const std::string k = name.substr(0, slash);
  ConvVariant v;
  if (k == "simt64x64") v.kind = Kind::simt;
  else if (k == "tc64x64") v.kind = Kind::tc64;
  else if (k == "tc128x128") v.kind = Kind::tc128;
  else if (k == "stem") v.kind = Kind::stem;
  else if (k == "depthwise") v.kind = Kind::depthwise;
  else if (k == "depthwise-vec4") v.kind = Kind::depthwise4;
  else CMT_THROW("unknown conv variant '" << name << "'");
  if (slash != std::string::npos) {
    const std::string split = name.substr(slash + 6);
    v.split_k = split == "auto" ? 0 : std::stoi(split);
    CMT_CHECK(v.split_k >= 0, "conv variant '" << name << "': bad split");
  }
  return v;
}

namespace detail {

int wgrad_splits(const ConvDesc& d, const ConvVariant& v) {
  const std::int64_t positions = d.y_positions();
  const std::int64_t max_by_len = std::max<std::int64_t>(1, positions / 2048);  // >= 2048 positions per split
  const std::int64_t max_by_ws = std::max<std::int64_t>(1, (std::int64_t{256} << 20) / (4 * d.w_elems()));
  std::int64_t s = v.split_k;
  if (s == 0) {
    const int tile = v.kind == ConvVariant::Kind::tc128 ? 128 : 64;
    const std::int64_t tiles = ((d.Kg() + tile - 1) / tile) * ((d.gemm_k() + tile - 1) / tile) * d.groups;
    s = std::max<std::int64_t>(1, kTargetBlocks / tiles);
  }
  s = std::min({s, max_by_len, max_by_ws, std::int64_t{65535} / d.groups});
  const std::int64_t kper = wgrad_k_per_split(d, static_cast<int>(std::max<std::int64_t>(s, 1)));
  return static_cast<int>((positions + kper - 1) / kper);  // splits actually used
}

std::int64_t wgrad_k_per_split(const ConvDesc& d, int splits) {
  const std::int64_t per = (d.y_positions() + splits - 1) / splits;
  return (per + kSplitAlign - 1) / kSplitAlign * kSplitAlign;
}

int stem_wgrad_splits(const ConvDesc& d) {
  const std::int64_t channel_tiles = (d.K + 15) / 16;
  const std::int64_t by_blocks = std::max<std::int64_t>(1, kTargetBlocks / channel_tiles);
  const std::int64_t by_len = std::max<std::int64_t>(1, d.y_positions() / 2048);  // >= 2048 positions per split
  const std::int64_t by_ws = std::max<std::int64_t>(1, (std::int64_t{256} << 20) / (4 * d.w_elems()));
  return static_cast<int>(std::min({by_blocks, by_len, by_ws, std::int64_t{65535}}));
}

int depthwise_wgrad_splits(const ConvDesc& d) {
  return static_cast<int>(std::clamp<std::int64_t>(d.y_positions() / 4096, 1, 64));
}

}  // namespace detail

std::vector<ConvVariant> conv_variants(ConvPass pass, const ConvDesc& d, ConvMath math) {
  using K = ConvVariant::Kind;
  std::vector<ConvVariant> out;
  const int split = pass == ConvPass::wgrad ? 0 : 1;
  if (d.depthwise()) {
    if (d.K == d.C && d.C % 4 == 0 && pass != ConvPass::wgrad) out.push_back({K::depthwise4, 1});
    out.push_back({K::depthwise, 1});
    out.push_back({K::simt, split});
    return out;
  }
  if (pass == ConvPass::fprop && d.C == 1 && d.groups == 1) out.push_back({K::stem, 1});
  if (pass == ConvPass::wgrad && detail::stem_wgrad_fits(d)) out.push_back({K::stem, 1});
  if (tc_ok(pass, d, math)) {
    // Big GEMMs take the 128x128 tile, small ones the 64x64 tile (more blocks to fill the GPU).
    const std::int64_t M = pass == ConvPass::fprop ? d.y_positions() : pass == ConvPass::dgrad ? d.x_positions() : d.Kg();
    const std::int64_t N = pass == ConvPass::fprop ? d.Kg() : pass == ConvPass::dgrad ? d.Cg() : d.gemm_k();
    const bool big = ((M + 127) / 128) * ((N + 127) / 128) * d.groups >= kTargetBlocks;
    out.push_back({big ? K::tc128 : K::tc64, split});
    out.push_back({big ? K::tc64 : K::tc128, split});
    if (pass == ConvPass::wgrad) out.push_back({K::tc64, 1});
  }
  out.push_back({K::simt, split});
  return out;
}

std::size_t conv_workspace_bytes(ConvPass pass, const ConvDesc& d, ConvMath math, const ConvVariant& v) {
  if (v.kind == ConvVariant::Kind::depthwise || v.kind == ConvVariant::Kind::depthwise4)
    return detail::depthwise_workspace_bytes(pass, d);
  switch (pass) {
    case ConvPass::fprop: return 0;
    case ConvPass::dgrad: return align_up(static_cast<std::size_t>(d.w_elems()) * elem_bytes(math), 256);  // transposed w
    case ConvPass::wgrad: {
      const int splits = v.kind == ConvVariant::Kind::stem ? detail::stem_wgrad_splits(d) : detail::wgrad_splits(d, v);
      return align_up(static_cast<std::size_t>(splits) * static_cast<std::size_t>(d.w_elems()) * 4, 256);
    }
  }
  return 0;
}

std::size_t conv_bias_grad_workspace_bytes(std::int64_t rows, int K) {
  const std::int64_t splits = std::clamp<std::int64_t>(rows / 1024, 1, 128);
  return align_up(static_cast<std::size_t>(splits) * static_cast<std::size_t>(K) * 4, 256);
}

}  // namespace cmt::cuda
