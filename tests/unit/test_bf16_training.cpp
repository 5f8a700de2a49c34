// bf16 training on the CPU backend: the bf16 weight copies beside the fp32 master block, layers that
// compute with them and sum their bf16 gradients into fp32, and one whole CMT step against fp32
// (the tolerance and its derivation: docs/bf16.md).
#include <filesystem>

#include "engine/checkpoint.h"
#include "engine/layers/conv.h"
#include "engine/layers/linear.h"
#include "engine/ops/basic.h"
#include "engine/ops/conv.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/linear.h"
#include "engine/optimizer.h"
#include "engine/parameters.h"
#include "models/cmt_model.h"
#include "support/bf16_step.h"
#include "support/testing.h"
#include "support/tiny_model.h"

using namespace cmt;

namespace {

const PrecisionPolicy kBf16{ComputePrecision::bf16};

// Every parameter's bf16 copy (the block at the master's offset) is its master value rounded once.
void check_copies_follow_master(ParameterStore& store) {
  REQUIRE(store.compute_params().defined());
  for (const auto& r : store.parameter_refs()) {
    INFO(r.path);
    CHECK_BF16_ROUNDING(store.compute_params().narrow(store.offset_of(r.path), r.spec.shape.numel()).view(r.spec.shape), *r.value);
  }
}

}  // namespace

TEST_CASE("bf16 weight copies: the master block's layout, refreshed by initialize, Adam's step and checkpoint load") {
  Context ctx(Device::cpu(), kBf16);
  models::CmtModel model(test::tiny_cmt_config(8, 2));
  ParameterStore store(ctx, model.root());
  CHECK(store.compute_params().dtype() == DType::bf16);
  CHECK(store.compute_params().numel() == store.params().numel());
  int bound = 0;  // Conv and Linear take copies (BatchNorm's parameters act in f32 math)
  for (const auto& r : store.parameter_refs()) {
    if (!r.compute) continue;
    CHECK(static_cast<const char*>(r.compute->raw()) - static_cast<const char*>(store.compute_params().raw()) ==
          2 * store.offset_of(r.path));  // a view at the master's offset (in elements)
    CHECK(r.compute->shape() == r.spec.shape);
    ++bound;
  }
  CHECK(bound > 10);
  store.initialize(ctx, 4);
  check_copies_follow_master(store);

  std::mt19937_64 gen(test::run_seed() + 60);
  Adam adam(ctx, store.params().numel(), AdamConfig{});
  Tensor g = test::random_normal(store.grads().shape(), gen);
  adam.step(ctx, store.params(), g, 1e-2f, store.compute_params());
  check_copies_follow_master(store);

  const auto path = (std::filesystem::temp_directory_path() / ("cmt-bf16-" + std::to_string(test::run_seed()) + ".h5")).string();
  save_checkpoint(path, store, nullptr, CheckpointState{});
  const std::vector<float> saved = store.params().to_vector<float>();
  for (const auto& r : store.parameter_refs()) ops::fill(ctx, *r.value, 0.5);
  ops::fill(ctx, store.compute_params(), 0.0);
  load_checkpoint(path, store, nullptr);
  std::filesystem::remove(path);
  CHECK(store.params().to_vector<float>() == saved);  // checkpoints hold the fp32 master weights
  check_copies_follow_master(store);

  // Under fp32 there is no copy, and a layer given bf16 input says what is missing.
  Context f32;
  ParameterStore plain(f32, model.root());
  CHECK_FALSE(plain.compute_params().defined());
  CHECK_THROWS_WITH_AS(model.root().forward(f32, ops::cast(f32, test::random_normal(Shape{2, 1, 16, 16, 1}, gen), DType::bf16)),
                       doctest::Contains("backbone.conv1: bf16 input but no bf16 weight copy"), Error);
}

TEST_CASE("Conv and Linear on bf16 input compute with the bf16 copies and add their gradients into fp32") {
  Context ctx(Device::cpu(), kBf16);
  std::mt19937_64 gen(test::run_seed() + 61);
  layers::Conv conv(layers::ConvConfig{3, 8, 16, 3, 2, 1, 1, 1, /*bias=*/true});
  layers::Linear linear(24, 10);
  for (Layer* layer : std::initializer_list<Layer*>{&conv, &linear}) {
    ParameterStore store(ctx, *layer);
    store.initialize(ctx, 9);
    const auto& refs = store.parameter_refs();  // weight, then bias
    const Tensor &w = *refs[0].compute, &b = *refs[1].compute;
    const bool is_conv = layer == &conv;
    const Shape in = is_conv ? Shape{2, 5, 6, 7, 8} : Shape{6, 24};
    const Tensor x = ops::cast(ctx, test::random_normal(in, gen), DType::bf16);
    const Tensor y = layer->forward(ctx, x);
    const Tensor dy = ops::cast(ctx, test::random_normal(y.shape(), gen), DType::bf16);
    Tensor want_y, want_dx, want_dw, want_db;
    if (is_conv) {
      want_y = ops::conv_forward(ctx, x, w, b, conv.params());
      want_dx = ops::conv_backward_data(ctx, dy, w, in, conv.params());
      want_dw = ops::conv_backward_weight(ctx, x, dy, w.shape(), conv.params());
      want_db = ops::conv_backward_bias(ctx, dy);
    } else {
      want_y = ops::linear_forward(ctx, x, w, b);
      const ops::LinearGrads lg = ops::linear_backward(ctx, dy, x, w, true);
      want_dx = lg.dx, want_dw = lg.dw, want_db = lg.db;
    }
    INFO(layer->type());
    CHECK_ALLCLOSE(y, want_y, 0.0, 0.0);
    CHECK(y.dtype() == DType::bf16);
    store.zero_grads(ctx);
    ops::fill(ctx, *refs[0].value, 100.0);  // the master is not what the bf16 forward/backward read
    for (int pass = 1; pass <= 2; ++pass) {  // a second pass adds: the slot accumulates in f32
      if (pass == 2) layer->forward(ctx, x);
      CHECK_ALLCLOSE(layer->backward(ctx, dy), want_dx, 0.0, 0.0);
      CHECK(refs[0].grad->dtype() == DType::f32);
      CHECK_ALLCLOSE(*refs[0].grad, ops::scale(ctx, ops::cast(ctx, want_dw, DType::f32), static_cast<float>(pass)), 0.0, 0.0);
      CHECK_ALLCLOSE(*refs[1].grad, ops::scale(ctx, ops::cast(ctx, want_db, DType::f32), static_cast<float>(pass)), 0.0, 0.0);
    }
  }
}

TEST_CASE("one bf16 CMT step agrees with the fp32 step: losses and gradients (tiny VGG-19, ResNet-50, EfficientNet-B4)") {
  std::mt19937_64 gen(test::run_seed() + 62);
  for (const char* backbone : {"vgg19", "resnet50", "efficientnet_b4"}) {
    models::CmtConfig config = test::tiny_cmt_config(32, 3, backbone);
    config.backbone.width = 0.25;
    test::check_bf16_step_agrees(Device::cpu(), config, gen(), 8, 32);
  }
}
