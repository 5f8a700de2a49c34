// EfficientNet-B4 (width 1.4, depth 1.8, SiLU, squeeze-excitation, stochastic depth 0.2, dropout 0.4),
// torchvision's layout; 2D and 3D from one definition.
#include <cmath>

#include "engine/layers/activation.h"
#include "engine/layers/conv.h"
#include "engine/layers/linear.h"
#include "engine/layers/norm.h"
#include "engine/layers/pool.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/pool.h"
#include "models/backbone.h"

namespace cmt::models {

namespace {

using namespace layers;

// Squeeze-excitation: s = sigmoid(fc2(silu(fc1(mean over D,H,W of x)))); y = x * s per channel.
// fc1/fc2 are torchvision's 1x1 convs; on the pooled (N, C) vector they are linear layers.
class SqueezeExcite : public Layer {
 public:
  SqueezeExcite(std::int64_t channels, std::int64_t squeeze)
      : fc1_(channels, squeeze, true, Init::kaiming_normal_fan_out, Init::zeros),
        fc2_(squeeze, channels, true, Init::kaiming_normal_fan_out, Init::zeros),
        silu_(Activation::silu),
        sigmoid_(Activation::sigmoid) {
    add_child("fc1", &fc1_);
    add_child("fc2", &fc2_);
  }
  std::string type() const override { return "SqueezeExcite"; }
  Shape output_shape(const Shape& in) const override { return in; }
  Tensor forward(Context& ctx, const Tensor& x) override {
    x_shape_ = x.shape();
    Tensor s = sigmoid_.forward(ctx, fc2_.forward(ctx, silu_.forward(ctx, fc1_.forward(ctx, ops::global_avgpool_forward(ctx, x)))));
    if (ctx.training) {
      x_ = x;
      s_ = s;
    }
    return ops::channel_scale(ctx, x, s);
  }
  Tensor backward(Context& ctx, const Tensor& dy) override {
    CMT_CHECK(x_.defined(), "SqueezeExcite::backward without a training forward");
    ops::ChannelScaleGrads g = ops::channel_scale_backward(ctx, dy, x_, s_);
    Tensor dpool = fc1_.backward(ctx, silu_.backward(ctx, fc2_.backward(ctx, sigmoid_.backward(ctx, g.ds))));
    ops::add_(ctx, g.dx, ops::global_avgpool_backward(ctx, dpool, x_shape_));
    x_ = Tensor();
    s_ = Tensor();
    return g.dx;
  }
  void clear_saved() override {
    x_ = Tensor();
    s_ = Tensor();
  }

 private:
  Linear fc1_, fc2_;
  Act silu_, sigmoid_;
  Tensor x_, s_;
  Shape x_shape_;
};

// MBConv: [expand 1x1 -> BN -> SiLU] -> depthwise kxk -> BN -> SiLU -> SE -> project 1x1 -> BN,
// with a stochastic-depth residual when the shapes allow.
class MBConv : public Layer {
 public:
  MBConv(int dims, std::int64_t in, std::int64_t out, int expand, int kernel, int stride, float sd_prob)
      : residual_(stride == 1 && in == out), drop_(sd_prob, /*per_sample=*/true) {
    const std::int64_t expanded = scaled_channels(in * expand, 1.0);
    // Nested like torchvision's Conv2dNormActivation blocks, so that parameter names match
    // (block.<i>.0.weight is a conv, block.<i>.1.* its batch norm).
    int idx = 0;
    auto conv_norm = [&](const ConvConfig& cc, bool silu) {
      auto s = std::make_unique<Sequential>();
      s->add(std::make_unique<Conv>(cc));
      s->add(std::make_unique<BatchNorm>(cc.out_channels));
      if (silu) s->add(std::make_unique<Act>(Activation::silu));
      block_.add(std::move(s), std::to_string(idx++));
    };
    if (expanded != in) conv_norm(ConvConfig{dims, in, expanded, 1, 1, 0, 1, 1, false}, true);
    conv_norm(ConvConfig{dims, expanded, expanded, kernel, stride, (kernel - 1) / 2, 1, static_cast<int>(expanded), false}, true);
    block_.add(std::make_unique<SqueezeExcite>(expanded, std::max<std::int64_t>(1, in / 4)), std::to_string(idx++));
    conv_norm(ConvConfig{dims, expanded, out, 1, 1, 0, 1, 1, false}, false);
    add_child("block", &block_);
    add_child("stochastic_depth", &drop_);
  }
  std::string type() const override { return "MBConv"; }
  Shape output_shape(const Shape& in) const override { return block_.output_shape(in); }
  double forward_macs(const Shape& in) const override { return block_.forward_macs(in); }
  Tensor forward(Context& ctx, const Tensor& x) override {
    Tensor y = block_.forward(ctx, x);
    if (!residual_) return y;
    y = drop_.forward(ctx, y);
    return ops::add(ctx, y, x);
  }
  Tensor backward(Context& ctx, const Tensor& dy) override {
    if (!residual_) return block_.backward(ctx, dy);
    Tensor dx = block_.backward(ctx, drop_.backward(ctx, dy));
    ops::add_(ctx, dx, dy);
    return dx;
  }

 private:
  bool residual_;
  Sequential block_;
  Dropout drop_;
};

struct StageSpec {
  int expand, kernel, stride;
  std::int64_t in, out;
  int layers;
};

}  // namespace

Backbone build_efficientnet_b4(const BackboneConfig& c) {
  const int d = c.spatial_dims;
  const double width = 1.4 * c.width, depth = 1.8 * c.depth;
  const float sd = c.stochastic_depth >= 0 ? c.stochastic_depth : 0.2f;
  // EfficientNet-B0's stages; B4 scales them by width and depth.
  const StageSpec stages[7] = {{1, 3, 1, 32, 16, 1},  {6, 3, 2, 16, 24, 2},   {6, 5, 2, 24, 40, 2},  {6, 3, 2, 40, 80, 3},
                               {6, 5, 1, 80, 112, 3}, {6, 5, 2, 112, 192, 4}, {6, 3, 1, 192, 320, 1}};
  int total_blocks = 0;
  for (const auto& s : stages) total_blocks += static_cast<int>(std::ceil(s.layers * depth));

  auto net = std::make_unique<Sequential>();
  auto* features = static_cast<Sequential*>(net->add(std::make_unique<Sequential>(), "features"));
  const std::int64_t stem = scaled_channels(32, width);
  auto stem_block = std::make_unique<Sequential>();
  stem_block->add(std::make_unique<Conv>(ConvConfig{d, c.in_channels, stem, 3, 2, 1, 1, 1, false}));
  stem_block->add(std::make_unique<BatchNorm>(stem));
  stem_block->add(std::make_unique<Act>(Activation::silu));
  features->add(std::move(stem_block));
  int block_id = 0;
  std::int64_t last = stem;
  for (const auto& s : stages) {
    auto stage = std::make_unique<Sequential>();
    const std::int64_t in0 = scaled_channels(s.in, width), out = scaled_channels(s.out, width);
    const int n = static_cast<int>(std::ceil(s.layers * depth));
    for (int i = 0; i < n; ++i) {
      const float p = sd * static_cast<float>(block_id) / static_cast<float>(total_blocks);
      stage->add(std::make_unique<MBConv>(d, i == 0 ? in0 : out, out, s.expand, s.kernel, i == 0 ? s.stride : 1, p));
      ++block_id;
    }
    features->add(std::move(stage));
    last = out;
  }
  const std::int64_t head = 4 * last;
  auto head_block = std::make_unique<Sequential>();
  head_block->add(std::make_unique<Conv>(ConvConfig{d, last, head, 1, 1, 0, 1, 1, false}));
  head_block->add(std::make_unique<BatchNorm>(head));
  head_block->add(std::make_unique<Act>(Activation::silu));
  features->add(std::move(head_block));
  net->add(std::make_unique<GlobalAvgPool>(), "avgpool");
  Backbone b;
  b.feature_dim = head;
  b.features = std::move(net);
  return b;
}

}  // namespace cmt::models
