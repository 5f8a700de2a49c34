// Backbones: torchvision's exact parameter counts in 2D, output shapes in 2D and 3D, and a whole
// small model's gradient against finite differences.
#include <cmath>

#include "engine/ops/basic.h"
#include "engine/parameters.h"
#include "models/backbone.h"
#include "models/cmt_model.h"
#include "models/summary.h"
#include "support/testing.h"
#include "support/tiny_model.h"

using namespace cmt;

using models::count_parameters;

TEST_CASE("models: 2D classifiers have torchvision's exact parameter counts") {
  struct Case {
    const char* name;
    std::int64_t params;
  };
  for (const Case c : {Case{"vgg19", 143667240}, Case{"vgg19_bn", 143678248}, Case{"resnet50", 25557032},
                       Case{"efficientnet_b4", 19341616}}) {
    models::BackboneConfig b;
    b.name = c.name;
    b.spatial_dims = 2;
    b.in_channels = 3;
    auto net = models::build_classifier(b, 1000);
    INFO(c.name);
    CHECK(count_parameters(*net) == c.params);
  }
}

TEST_CASE("models: output shapes in 2D and 3D, forward and backward on tiny inputs") {
  Context ctx(Device::cpu());
  std::mt19937_64 gen(test::run_seed());
  for (const char* name : {"vgg19_bn", "resnet50", "efficientnet_b4"}) {
    for (int dims : {2, 3}) {
      models::BackboneConfig b;
      b.name = name;
      b.spatial_dims = dims;
      b.width = 0.125;
      b.depth = 0.34;
      auto net = models::build_classifier(b, 3);
      ParameterStore store(ctx, *net);
      store.initialize(ctx, 1);
      const Shape in = dims == 2 ? Shape{2, 1, 32, 32, 1} : Shape{2, 32, 32, 32, 1};
      INFO(name << " " << dims << "D");
      CHECK(net->output_shape(in) == Shape{2, 3});
      ctx.training = true;
      Tensor x = test::random_normal(in, gen);
      Tensor y = net->forward(ctx, x);
      CHECK(y.shape() == Shape{2, 3});
      for (float v : y.to_vector<float>()) CHECK(std::isfinite(v));
      Tensor dy = test::random_normal(Shape{2, 3}, gen);
      Tensor dx = net->backward(ctx, dy);
      CHECK(dx.shape() == in);
      CHECK(ops::item(ops::sum(ctx, store.grads())) != 0.f);
    }
  }
}

TEST_CASE("models: 3D ResNet uses the MONAI-style stem (7^3 stride 2, then a 3^3 max pool)") {
  models::BackboneConfig b;
  b.name = "resnet50";
  b.spatial_dims = 3;
  auto backbone = models::build_backbone(b);
  std::vector<ParameterRef> params, buffers;
  backbone.features->collect("", params, buffers);
  CHECK(params.front().path == "conv1.weight");
  CHECK(params.front().spec.shape == Shape{64, 7, 7, 7, 1});
  CHECK(backbone.feature_dim == 2048);
}

TEST_CASE("CMT-CNN: the step's gradient matches finite differences of L = L_cls + lambda L_cst") {
  Context ctx(Device::cpu());
  models::CmtConfig c = test::tiny_cmt_config(16, 3);
  c.lambda = 0.5f;
  models::CmtModel model(c);
  ParameterStore store(ctx, model.root());
  store.initialize(ctx, 3);
  std::mt19937_64 gen(test::run_seed());
  Tensor views = test::random_normal(Shape{4, 1, 16, 16, 1}, gen);
  Tensor labels = Tensor::from_vector(std::vector<std::int32_t>{0, 0, 2, 2}, Shape{4});
  ctx.training = true;
  auto loss_at = [&] {
    return static_cast<double>(model.train_step(ctx, views, labels).fetch().total);
  };
  store.zero_grads(ctx);
  const double base = loss_at();
  const std::vector<float> grads = store.grads().to_vector<float>();
  CHECK(std::isfinite(base));
  // Probe a few parameters of the latent and head layers (well-conditioned; BN makes deep ones noisy in float).
  float* p = store.params().data<float>();
  int checked = 0;
  for (const char* name : {"latent.weight", "head.weight", "head.bias", "latent.bias"}) {
    const std::int64_t off = store.offset_of(name);
    for (std::int64_t k = 0; k < 3; ++k) {
      const std::int64_t i = off + k * 5;
      const float saved = p[i];
      const float h = 1e-2f;
      p[i] = saved + h;
      const double up = loss_at();
      p[i] = saved - h;
      const double down = loss_at();
      p[i] = saved;
      const double numeric = (up - down) / (2 * h);
      INFO(name << "[" << k * 5 << "] analytic " << grads[static_cast<std::size_t>(i)] << " numeric " << numeric);
      CHECK(std::fabs(numeric - grads[static_cast<std::size_t>(i)]) <= 2e-3 + 2e-2 * std::fabs(numeric));
      ++checked;
    }
  }
  CHECK(checked == 12);
}

TEST_CASE("CMT-CNN: Eq. 9, the head's gradient is the classification-only gradient; the contrastive one reaches F") {
  Context ctx(Device::cpu());
  models::CmtConfig c = test::tiny_cmt_config(8, 2);
  std::mt19937_64 gen(test::run_seed());
  Tensor views = test::random_normal(Shape{6, 1, 16, 16, 1}, gen);
  Tensor labels = Tensor::from_vector(std::vector<std::int32_t>{0, 0, 1, 1, 0, 0}, Shape{6});
  auto grads_with = [&](float lambda) {
    c.lambda = lambda;
    models::CmtModel model(c);
    ParameterStore store(ctx, model.root());
    store.initialize(ctx, 11);  // same seed: same weights for both models
    ctx.training = true;
    model.train_step(ctx, views, labels);
    std::vector<float> head, latent;
    const auto g = store.grads().to_vector<float>();
    for (const auto& r : store.parameter_refs()) {
      const auto off = store.offset_of(r.path);
      auto& dst = r.path.rfind("head.", 0) == 0 ? head : latent;
      if (r.path.rfind("head.", 0) == 0 || r.path.rfind("latent.", 0) == 0)
        dst.insert(dst.end(), g.begin() + off, g.begin() + off + r.spec.shape.numel());
    }
    return std::make_pair(head, latent);
  };
  const auto [head0, latent0] = grads_with(0.f);
  const auto [head1, latent1] = grads_with(0.5f);
  CHECK_ALLCLOSE(head1, head0, 0.0, 0.0);  // bit-identical: L_cst never reaches G
  double diff = 0;
  for (std::size_t i = 0; i < latent0.size(); ++i) diff += std::fabs(latent1[i] - latent0[i]);
  CHECK(diff > 1e-6);  // but it does reach F
}

TEST_CASE("models: bad configurations fail clearly") {
  models::BackboneConfig b;
  b.name = "resnet51";
  CHECK_THROWS_WITH_AS(models::build_backbone(b), doctest::Contains("unknown backbone 'resnet51'"), cmt::Error);
  b.name = "resnet50";
  b.spatial_dims = 2;
  auto net = models::build_classifier(b, 2);
  CHECK(net->output_shape(Shape{1, 1, 8, 8, 1}) == Shape{1, 2});  // like torchvision, 8x8 still fits
  b.name = "vgg19";
  auto vgg = models::build_classifier(b, 2);
  try {
    vgg->output_shape(Shape{1, 1, 16, 16, 1});  // five 2x pools of 16x16
    FAIL("no error for an input smaller than the network's downsampling");
  } catch (const cmt::Error& e) {
    INFO(e.what());
    CHECK(std::string(e.what()).find("pool") != std::string::npos);
  }
  models::CmtConfig c;
  c.num_classes = 1;
  CHECK_THROWS_WITH_AS(models::CmtModel{c}, doctest::Contains("num_classes"), cmt::Error);
}
