// The steady-state step on a GPU: the memory-planned eager step and the CUDA Graph replay give the
// same losses and parameters as the plain eager step, with no allocation and no host sync inside.
#include <algorithm>
#include <cmath>
#include <cstring>

#include <cuda_runtime_api.h>

#include "engine/allocator.h"
#include "engine/host_sync.h"
#include "engine/memory_plan.h"
#include "engine/ops/basic.h"
#include "engine/optimizer.h"
#include "engine/parameters.h"
#include "engine/step_graph.h"
#include "kernels/common/check.h"
#include "models/cmt_model.h"
#include "support/testing.h"
#include "support/tiny_model.h"

using namespace cmt;

namespace {
struct Run {
  explicit Run(Context& ctx, const models::CmtConfig& config = test::tiny_cmt_config(32, 2)) : model(config) {
    store = std::make_unique<ParameterStore>(ctx, model.root());
    store->initialize(ctx, 5);
    adam = std::make_unique<Adam>(ctx, store->params().numel(), AdamConfig{});
  }
  models::CmtModel model;
  std::unique_ptr<ParameterStore> store;
  std::unique_ptr<Adam> adam;
  StepLosses losses;
  void step(Context& ctx, const Tensor& views, const Tensor& labels) {  // the body a graph captures
    store->zero_grads(ctx);
    losses = model.train_step(ctx, views, labels);
    // Under bf16 the update also rewrites the compute copies (undefined under fp32: nothing written).
    adam->apply(ctx, store->params(), store->grads(), store->compute_params(), losses.values.narrow(StepLosses::total, 1));
  }
};

// Views of (4, 1, side, side, 1): 16 on the emulator, still deep enough for every backbone stage.
constexpr std::int64_t kSide = test::on_emulator(32, 2);
// n steps on a GPU. Steps 0-2 run eagerly (plain, recorded, planned), step 3 captures and replays,
// later ones replay: the emulator stops after the second replay.
constexpr int steps(int n) { return test::emulated() ? 5 : n; }

// One step through the steady-state sequence (engine/step_graph.h), reading the views from
// `static_views`; checks that replaying a captured graph allocates nothing.
void steady_step(Context& ctx, Run& run, SteadyStep& steady, const Tensor& static_views, const Tensor& labels) {
  const bool replay = steady.captured();
  const AllocatorStats before = allocator_for(ctx.device()).stats();
  steady.run([&] { run.step(ctx, static_views, labels); });
  if (replay) CHECK(allocator_for(ctx.device()).stats().requests == before.requests);
}

// Step i of both runs on the same fresh views: eagerly, and through steady_step; the losses and the
// parameters after the update must agree.
void eager_and_steady_agree(int i, Context& ctx, Run& eager, Run& graphed, SteadyStep& steady, Tensor& static_views,
                            const Tensor& labels, const Tensor& views) {
  eager.adam->prepare(ctx, 1e-3f);
  eager.step(ctx, views, labels);
  const HostLosses e = eager.losses.fetch();
  ops::copy(ctx, views, static_views);
  graphed.adam->prepare(ctx, 1e-3f);
  steady_step(ctx, graphed, steady, static_views, labels);
  const HostLosses g = graphed.losses.fetch();
  INFO("step " << i);
  CHECK(g.total == doctest::Approx(e.total).epsilon(1e-5));
  CHECK(g.contrastive == doctest::Approx(e.contrastive).epsilon(1e-5));
  CHECK_ALLCLOSE(graphed.store->params(), eager.store->params(), 1e-6, 1e-5);
}
}  // namespace

TEST_CASE("CUDA Graph replay of the CMT-CNN step equals the eager step, step after step") {
  Context ctx(Device::cuda(0));
  ctx.training = true;
  std::mt19937_64 gen(test::run_seed() + 90);
  const Tensor labels = Tensor::from_vector(std::vector<std::int32_t>{0, 0, 1, 1}, Shape{4}).to(ctx.device());
  Tensor static_views = Tensor::empty(Shape{4, 1, kSide, kSide, 1}, DType::f32, ctx.device());
  Run eager(ctx), graphed(ctx);
  SteadyStep steady(ctx, /*use_graph=*/true);
  for (int i = 0; i < steps(6); ++i) {
    const Tensor views = test::random_normal(Shape{4, 1, kSide, kSide, 1}, gen).to(ctx.device());  // fresh each step
    eager_and_steady_agree(i, ctx, eager, graphed, steady, static_views, labels, views);
  }
  CHECK(steady.captured());
}

TEST_CASE("CUDA Graph replay of the step with the attention decoder (attention_head) equals the eager step") {
  Context ctx(Device::cuda(0));
  ctx.training = true;
  std::mt19937_64 gen(test::run_seed() + 91);
  const Tensor labels = Tensor::from_vector(std::vector<std::int32_t>{0, 0, 1, 1}, Shape{4}).to(ctx.device());
  // The decoder's numbers are the op rows' and the oracle's; here: its kernels inside the captured step.
  const Shape shape{4, 1, kSide, kSide, 1};
  Tensor static_views = Tensor::empty(shape, DType::f32, ctx.device());
  models::CmtConfig config = test::tiny_cmt_config(32, 2);
  config.attention_head = true;
  Run eager(ctx, config), graphed(ctx, config);
  SteadyStep steady(ctx, /*use_graph=*/true);
  for (int i = 0; i < steps(5); ++i) {
    const Tensor views = test::random_normal(shape, gen).to(ctx.device());
    eager_and_steady_agree(i, ctx, eager, graphed, steady, static_views, labels, views);
  }
  CHECK(steady.captured());
}

TEST_CASE("CUDA Graph replay draws each step's stochastic-depth masks from the device step key") {
  Context ctx(Device::cuda(0));
  ctx.training = true;
  std::mt19937_64 gen(test::run_seed() + 92);
  models::CmtConfig c = test::tiny_cmt_config(32, 2, "efficientnet_b4");
  c.backbone.stochastic_depth = 0.5f;  // a frozen key would replay the capture step's masks: caught below
  const Tensor labels = Tensor::from_vector(std::vector<std::int32_t>{0, 0, 1, 1}, Shape{4}).to(ctx.device());
  Tensor static_views = Tensor::empty(Shape{4, 1, kSide, kSide, 1}, DType::f32, ctx.device());
  Run eager(ctx, c), graphed(ctx, c);
  SteadyStep steady(ctx, /*use_graph=*/true);
  for (int i = 0; i < steps(7); ++i) {
    ctx.step = static_cast<std::uint32_t>(i);
    ctx.upload_step_key();  // both runs read this step's key
    const Tensor views = test::random_normal(Shape{4, 1, kSide, kSide, 1}, gen).to(ctx.device());
    eager_and_steady_agree(i, ctx, eager, graphed, steady, static_views, labels, views);
  }
}

TEST_CASE("bf16: the captured update rewrites the bf16 weight copies at every replay") {
  Context ctx(Device::cuda(0), PrecisionPolicy{ComputePrecision::bf16});
  ctx.training = true;
  std::mt19937_64 gen(test::run_seed() + 91);
  const Tensor labels = Tensor::from_vector(std::vector<std::int32_t>{0, 0, 1, 1}, Shape{4}).to(ctx.device());
  Tensor static_views = Tensor::empty(Shape{4, 1, kSide, kSide, 1}, DType::f32, ctx.device());
  Run run(ctx);
  SteadyStep steady(ctx, /*use_graph=*/true);
  std::vector<float> before = run.store->params().to_vector<float>();
  for (int i = 0; i < 5; ++i) {
    ops::copy(ctx, test::random_normal(Shape{4, 1, kSide, kSide, 1}, gen).to(ctx.device()), static_views);
    run.adam->prepare(ctx, 1e-3f);
    steady_step(ctx, run, steady, static_views, labels);
    INFO("step " << i);
    CHECK(std::isfinite(run.losses.fetch().total));
    const std::vector<float> after = run.store->params().to_vector<float>();
    CHECK(after != before);  // the master weights moved
    before = after;
    CHECK_BF16_ROUNDING(run.store->compute_params(), run.store->params());  // and the copies with them
  }
  CHECK(steady.captured());
}

TEST_CASE("CUDA Graph capture refuses a host sync inside the step and leaves the context usable") {
  Context ctx(Device::cuda(0));
  StepGraph graph(ctx);
  Tensor t = Tensor::from_vector(std::vector<float>{1.f}, Shape{1}).to(ctx.device());
  CHECK_THROWS_WITH_AS(graph.capture([&] { (void)ops::item(t); }), doctest::Contains("CUDA Graph capture"), cmt::Error);
  CHECK_FALSE(graph.captured());
  CHECK(ops::item(t) == 1.f);  // the stream works after the failed capture
}

TEST_CASE("a captured graph keeps its scratch block when the context's workspace grows afterwards") {
  Context ctx(Device::cuda(0));
  constexpr std::int64_t kBytes = 1 << 16;
  const void* captured = ctx.workspace(kBytes);
  StepGraph graph(ctx);
  graph.capture([&] { CUDA_CHECK(cudaMemsetAsync(ctx.workspace(kBytes), 0x7f, kBytes, ctx.compute_stream())); });
  (void)ctx.workspace(4 * kBytes);  // an eager step with a larger problem: the context's block is replaced
  // A tensor of the old block's size: the caching allocator would hand out the old block if it were free.
  Tensor other = Tensor::empty(Shape{kBytes}, DType::u8, ctx.device());
  CUDA_CHECK(cudaMemsetAsync(other.raw(), 0, kBytes, ctx.compute_stream()));
  graph.replay();  // still writes the block it captured
  ctx.synchronize();
  CHECK(other.raw() != captured);
  const std::vector<std::uint8_t> bytes = other.to_vector<std::uint8_t>();
  CHECK(std::count(bytes.begin(), bytes.end(), std::uint8_t{0}) == kBytes);
}
