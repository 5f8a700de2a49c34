// The attention decoder of the paper's Fig. 5 inside CMT-CNN (attention_head): where it sits, that the
// model's losses train it, that checkpoints keep it, and the map it gives. The layer's numbers against
// PyTorch: tests/oracle/test_attention_decoder.py.
#include <cmath>
#include <filesystem>

#include "engine/checkpoint.h"
#include "engine/ops/basic.h"
#include "engine/optimizer.h"
#include "engine/parameters.h"
#include "models/attention_map.h"
#include "support/testing.h"
#include "support/tiny_model.h"

using namespace cmt;

namespace {

const char* const kDecoderParams[] = {"backbone.attention.deconv1.weight", "backbone.attention.deconv1.bias",
                                      "backbone.attention.deconv2.weight", "backbone.attention.deconv2.bias"};

models::CmtConfig attention_config(int spatial_dims) {
  models::CmtConfig c = test::tiny_cmt_config(8, 2, "resnet50", spatial_dims);
  c.attention_head = true;
  return c;
}

std::vector<float> param(ParameterStore& store, const std::string& path) {
  for (const auto& r : store.parameter_refs())
    if (r.path == path) return r.value->to_vector<float>();
  FAIL("no parameter " << path);
  return {};
}

}  // namespace

TEST_CASE("attention head: the decoder sits before the backbone's pooling, named in the description") {
  models::CmtModel model(attention_config(2));
  Context ctx(Device::cpu());
  ParameterStore store(ctx, model.root());
  for (const char* name : kDecoderParams) CHECK(store.offset_of(name) >= 0);
  CHECK(model.attention_decoder() != nullptr);
  CHECK(model.describe().find("attention head") != std::string::npos);
  models::CmtModel plain(test::tiny_cmt_config(8, 2));
  CHECK(plain.attention_decoder() == nullptr);
  CHECK(plain.describe().find("attention") == std::string::npos);
  // Only the decoder's 2 x (4 + 1) parameters are added.
  ParameterStore plain_store(ctx, plain.root());
  CHECK(store.num_parameters() - plain_store.num_parameters() == 10);
}

TEST_CASE("attention head: the model's losses train the decoder on the CPU (loss falls, decoder weights move)") {
  Context ctx(Device::cpu());
  std::mt19937_64 gen(test::run_seed());
  models::CmtModel model(attention_config(2));
  ParameterStore store(ctx, model.root());
  store.initialize(ctx, test::run_seed());
  std::vector<std::vector<float>> before;
  for (const char* name : kDecoderParams) before.push_back(param(store, name));
  const Tensor views = test::random_normal(Shape{8, 1, 64, 64, 1}, gen);  // last feature map 2x2
  const Tensor labels = Tensor::from_vector(std::vector<std::int32_t>{0, 0, 1, 1, 0, 0, 1, 1}, Shape{8});
  Adam adam(ctx, store.params().numel(), AdamConfig{});
  ctx.training = true;
  float first = 0, last = 0;
  for (int step = 0; step < 12; ++step) {
    store.zero_grads(ctx);
    const float loss = model.train_step(ctx, views, labels).fetch().total;
    if (step == 0) {
      // Every decoder parameter gets a gradient from the losses.
      for (const char* name : kDecoderParams) {
        const std::vector<float> g = store.grads().narrow(store.offset_of(name), 1).to_vector<float>();
        INFO(name);
        CHECK(g[0] != 0.f);
        CHECK(std::isfinite(g[0]));
      }
      // The mean poolings undo the kernels' 2x2 spread: P = mean(w1) mean(w2) A + mean(w2) b1 + b2, so the
      // losses see each kernel only through the mean of its taps, and all its taps get one gradient.
      for (const char* name : {kDecoderParams[0], kDecoderParams[2]}) {
        const std::vector<float> g = store.grads().narrow(store.offset_of(name), 4).to_vector<float>();
        INFO(name << " tap gradients " << g[0] << " " << g[1] << " " << g[2] << " " << g[3]);
        for (float t : g) CHECK(std::fabs(t - g[0]) <= 1e-6f * std::fabs(g[0]));
      }
      first = loss;
    }
    last = loss;
    adam.step(ctx, store.params(), store.grads(), 1e-3f);
  }
  INFO("loss " << first << " -> " << last << ", seed " << test::run_seed());
  CHECK(std::isfinite(last));
  CHECK(last < 0.9f * first);
  for (std::size_t i = 0; i < std::size(kDecoderParams); ++i) {
    const std::vector<float> now = param(store, kDecoderParams[i]);
    INFO(kDecoderParams[i]);
    for (std::size_t k = 0; k < now.size(); ++k) CHECK(now[k] != before[i][k]);
  }
}

TEST_CASE("attention head: a checkpoint keeps the decoder; the map is the same after loading; the description tells models apart") {
  Context ctx(Device::cpu());
  std::mt19937_64 gen(test::run_seed());
  const std::filesystem::path dir = std::filesystem::path(CMT_BINARY_DIR) / "test-attention-head";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "round_trip.h5").string();
  models::CmtModel saved_model(attention_config(2));
  ParameterStore saved(ctx, saved_model.root());
  saved.initialize(ctx, 11);
  // Decoder weights no initialisation gives: the checkpoint must carry them.
  for (const auto& r : saved.parameter_refs())
    if (r.path.rfind("backbone.attention.", 0) == 0) *r.value = test::random_normal(r.spec.shape, gen);
  CheckpointState state;
  state.model = saved_model.describe();
  save_checkpoint(path, saved, nullptr, state);

  models::CmtModel loaded_model(attention_config(2));
  ParameterStore loaded(ctx, loaded_model.root());
  loaded.initialize(ctx, 12);
  CHECK(read_checkpoint_state(path).model == loaded_model.describe());
  load_checkpoint(path, loaded, nullptr);
  for (const char* name : kDecoderParams) CHECK(param(loaded, name) == param(saved, name));
  const Tensor images = test::random_normal(Shape{2, 1, 64, 64, 1}, gen);
  CHECK(models::attention_map(ctx, loaded_model, images).to_vector<float>() ==
        models::attention_map(ctx, saved_model, images).to_vector<float>());

  // Loading matches parameters by name: the description is what refuses the other model (the
  // inference API and resume compare it), and a model with the head misses its weights in a plain checkpoint.
  models::CmtModel plain(test::tiny_cmt_config(8, 2));
  ParameterStore plain_store(ctx, plain.root());
  CHECK(read_checkpoint_state(path).model != plain.describe());
  const std::string plain_path = (dir / "plain.h5").string();
  plain_store.initialize(ctx, 13);
  CheckpointState plain_state;
  plain_state.model = plain.describe();
  save_checkpoint(plain_path, plain_store, nullptr, plain_state);
  CHECK_THROWS_WITH_AS(load_checkpoint(plain_path, loaded, nullptr), doctest::Contains("backbone.attention.deconv1"), Error);
}

TEST_CASE("attention map: input-sized, in (0, 1), 2D and 3D; the decoder's map is 4x the last feature map") {
  Context ctx(Device::cpu());
  std::mt19937_64 gen(test::run_seed());
  for (int dims : {2, 3}) {
    models::CmtModel model(attention_config(dims));
    ParameterStore store(ctx, model.root());
    store.initialize(ctx, 3);
    const Shape in = dims == 2 ? Shape{2, 1, 64, 96, 1} : Shape{1, 32, 32, 64, 1};
    const Tensor images = test::random_normal(in, gen);
    const Tensor u = models::attention_decoder_map(ctx, model, images);
    // ResNet-50's last feature map is 1/32 of the input on every spatial axis (D too in 3D).
    const Shape want_u = dims == 2 ? Shape{2, 1, 8, 12, 1} : Shape{1, 4, 4, 8, 1};
    CHECK(u.shape() == want_u);
    const Tensor map = models::attention_map(ctx, model, images);
    REQUIRE(map.shape() == Shape{in[0], in[1], in[2], in[3], 1});
    const std::vector<float> v = map.to_vector<float>();
    float lo = 1, hi = 0;
    for (float x : v) {
      lo = std::min(lo, x);
      hi = std::max(hi, x);
    }
    INFO(dims << "D map in [" << lo << ", " << hi << "]");
    CHECK(lo > 0.f);
    CHECK(hi < 1.f);
    CHECK(hi > lo);  // not a constant map
  }
  models::CmtModel plain(test::tiny_cmt_config(8, 2));
  ParameterStore plain_store(ctx, plain.root());
  CHECK_THROWS_WITH_AS(models::attention_map(ctx, plain, test::random_normal(Shape{1, 1, 64, 64, 1}, gen)),
                       doctest::Contains("no attention head"), Error);
}

TEST_CASE("attention decoder on bf16 features: widened, computed in f32, the output and dx rounded once") {
  std::mt19937_64 gen(test::run_seed());
  Context host;
  for (int dims : {2, 3}) {
    const Shape shape = dims == 2 ? Shape{2, 1, 3, 4, 24} : Shape{2, 2, 3, 2, 16};
    // Inputs exactly representable in bf16, so that both runs see the same numbers.
    const Tensor x = ops::cast(host, test::random_normal(shape, gen), DType::bf16);
    const Tensor dy = ops::cast(host, test::random_normal(shape, gen), DType::bf16);
    std::vector<float> y[2], dx[2], grads[2];
    for (int k = 0; k < 2; ++k) {
      Context ctx;
      layers::AttentionDecoder decoder(dims);
      ParameterStore store(ctx, decoder);
      store.initialize(ctx, 7);
      store.zero_grads(ctx);
      ctx.training = true;
      const Tensor in = k == 0 ? ops::cast(ctx, x, DType::f32) : x;
      const Tensor out = decoder.forward(ctx, in);
      CHECK(out.dtype() == in.dtype());
      const Tensor back = decoder.backward(ctx, k == 0 ? ops::cast(ctx, dy, DType::f32) : dy);
      CHECK(back.dtype() == in.dtype());
      y[k] = out.to_float_vector();
      dx[k] = back.to_float_vector();
      grads[k] = store.grads().to_vector<float>();
    }
    for (std::size_t i = 0; i < y[0].size(); ++i) {
      INFO(dims << "D element " << i << ": y " << y[0][i] << " / " << y[1][i] << ", dx " << dx[0][i] << " / " << dx[1][i]);
      CHECK(std::fabs(y[1][i] - y[0][i]) <= std::fabs(y[0][i]) / 256);  // one rounding to bf16: half an ulp, 2^-8
      CHECK(std::fabs(dx[1][i] - dx[0][i]) <= std::fabs(dx[0][i]) / 256);
    }
    CHECK(grads[1] == grads[0]);  // the parameter gradients are f32 from the same f32 numbers
  }
}
