// ResNet-50 v1.5 (stride in the bottleneck's 3x3 conv); 3D uses the same stem, 7^3 stride 2 then
// a 3^3 max pool (MONAI's convention).
#include "engine/layers/activation.h"
#include "engine/layers/conv.h"
#include "engine/layers/norm.h"
#include "engine/layers/pool.h"
#include "engine/ops/activation.h"
#include "engine/ops/elementwise.h"
#include "models/backbone.h"

namespace cmt::models {

namespace {

using namespace layers;

// conv1x1 -> bn -> relu -> conv3x3(stride) -> bn -> relu -> conv1x1 -> bn, plus the (projected)
// shortcut, then relu.
class Bottleneck : public Layer {
 public:
  Bottleneck(int dims, std::int64_t in, std::int64_t width, std::int64_t out, int stride) {
    body_.add(std::make_unique<Conv>(ConvConfig{dims, in, width, 1, 1, 0, 1, 1, false}), "conv1");
    body_.add(std::make_unique<BatchNorm>(width), "bn1");
    body_.add(std::make_unique<Act>(Activation::relu), "relu1");
    body_.add(std::make_unique<Conv>(ConvConfig{dims, width, width, 3, stride, 1, 1, 1, false}), "conv2");
    body_.add(std::make_unique<BatchNorm>(width), "bn2");
    body_.add(std::make_unique<Act>(Activation::relu), "relu2");
    body_.add(std::make_unique<Conv>(ConvConfig{dims, width, out, 1, 1, 0, 1, 1, false}), "conv3");
    body_.add(std::make_unique<BatchNorm>(out), "bn3");
    for (auto& [name, child] : body_.children()) add_child(name, child);
    if (stride != 1 || in != out) {
      downsample_ = std::make_unique<Sequential>();
      downsample_->add(std::make_unique<Conv>(ConvConfig{dims, in, out, 1, stride, 0, 1, 1, false}));
      downsample_->add(std::make_unique<BatchNorm>(out));
      add_child("downsample", downsample_.get());
    }
  }
  std::string type() const override { return "Bottleneck"; }
  Shape output_shape(const Shape& in) const override { return body_.output_shape(in); }
  double forward_macs(const Shape& in) const override {
    return body_.forward_macs(in) + (downsample_ ? downsample_->forward_macs(in) : 0.0);
  }
  Tensor forward(Context& ctx, const Tensor& x) override {
    Tensor out = body_.forward(ctx, x);
    ops::add_(ctx, out, downsample_ ? downsample_->forward(ctx, x) : x);
    // In place on the CPU: `out` is this block's own sum (bn3 returns a fresh tensor).
    Tensor y = ops::relu(ctx, out, !out.is_cuda() && out.sole_owner());
    if (ctx.training) y_ = y;
    return y;
  }
  Tensor backward(Context& ctx, const Tensor& dy) override {
    CMT_CHECK(y_.defined(), "Bottleneck::backward without a training forward");
    Tensor dsum = ops::relu_backward(ctx, dy, y_, !dy.is_cuda() && dy.sole_owner());
    y_ = Tensor();
    Tensor dx = body_.backward(ctx, dsum);
    ops::add_(ctx, dx, downsample_ ? downsample_->backward(ctx, dsum) : dsum);
    return dx;
  }
  void clear_saved() override { y_ = Tensor(); }

 private:
  Sequential body_;  // children are re-registered on this layer, so names read conv1, bn1, ...
  std::unique_ptr<Sequential> downsample_;
  Tensor y_;
};

}  // namespace

Backbone build_resnet50(const BackboneConfig& c) {
  const int d = c.spatial_dims;
  auto net = std::make_unique<Sequential>();
  const std::int64_t stem = scaled_channels(64, c.width);
  net->add(std::make_unique<Conv>(ConvConfig{d, c.in_channels, stem, 7, 2, 3, 1, 1, false}), "conv1");
  net->add(std::make_unique<BatchNorm>(stem), "bn1");
  net->add(std::make_unique<Act>(Activation::relu), "relu");
  net->add(std::make_unique<MaxPool>(pool_params(d, 3, 2, 1)), "maxpool");
  const int blocks[4] = {3, 4, 6, 3};
  std::int64_t in = stem;
  for (int s = 0; s < 4; ++s) {
    auto stage = std::make_unique<Sequential>();
    const std::int64_t width = scaled_channels(64 << s, c.width);
    const std::int64_t out = width * 4;
    for (int b = 0; b < scaled_depth(blocks[s], c.depth); ++b) {
      stage->add(std::make_unique<Bottleneck>(d, in, width, out, (b == 0 && s > 0) ? 2 : 1));
      in = out;
    }
    net->add(std::move(stage), "layer" + std::to_string(s + 1));
  }
  net->add(std::make_unique<GlobalAvgPool>(), "avgpool");
  Backbone b;
  b.feature_dim = in;
  b.features = std::move(net);
  return b;
}

}  // namespace cmt::models
