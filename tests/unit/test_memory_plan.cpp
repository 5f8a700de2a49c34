// The step memory plan: packing, replay by index, the checks that catch a changed step, and a real
// CMT-CNN step that gives bit-identical losses and gradients from the arena without host syncs.
#include <cstring>
#include <random>
#include <set>

#include "engine/allocator.h"
#include "engine/host_sync.h"
#include "engine/memory_plan.h"
#include "engine/ops/basic.h"
#include "engine/ops/elementwise.h"
#include "engine/optimizer.h"
#include "engine/parameters.h"
#include "engine/step_graph.h"
#include "models/cmt_model.h"
#include "support/testing.h"
#include "support/tiny_model.h"

using namespace cmt;

namespace {
// A toy "step": a chain of temporaries with known lifetimes and one result that escapes.
Tensor toy_step(Context& ctx, const Tensor& x) {
  Tensor a = ops::scale(ctx, x, 2.f);                 // dies after b
  Tensor b = Tensor::empty(Shape{x.numel() * 2}, DType::f32);
  ops::fill(ctx, b, 1.0);
  Tensor c = ops::scale(ctx, a, 0.5f);                // a's size: may reuse nothing alive
  a = Tensor();
  Tensor d = ops::scale(ctx, c, 3.f);                 // may take a's old place
  Tensor out = ops::sum(ctx, d);                      // escapes the step
  return out;
}
}  // namespace

TEST_CASE("memory plan: replayed requests reuse the arena and give the same results") {
  Context ctx(Device::cpu());
  std::mt19937_64 gen(test::run_seed());
  const Tensor x = test::random_normal(Shape{1000}, gen);
  const float expected = ops::item(toy_step(ctx, x));
  StepMemoryPlan plan(Device::cpu());
  {
    MemoryPlanScope scope(plan);
    plan.begin_record();
    const Tensor out = toy_step(ctx, x);  // alive past the step, like a step's losses
    plan.end_record();
    CHECK(ops::item(out) == expected);
  }
  REQUIRE(plan.planned());
  CHECK(plan.requests() >= 5);                              // a, b, c, d and the sum's result at least
  CHECK(plan.requests() - plan.planned_requests() == 1);    // all but the escaping sum are planned
  CHECK(plan.arena_bytes() < plan.requested_bytes());  // a's bytes are reused
  for (int i = 0; i < 3; ++i) {
    const AllocatorStats before = host_allocator().stats();
    float got = 0;
    {
      MemoryPlanScope scope(plan);
      plan.begin_replay();
      const Tensor out = toy_step(ctx, x);
      plan.end_replay();
      got = ops::item(out);
    }
    CHECK(got == expected);
    CHECK(host_allocator().stats().requests - before.requests == 1);  // only the escaping result
  }
}

TEST_CASE("memory plan: a step that changes its allocations or keeps an arena block fails clearly") {
  Context ctx(Device::cpu());
  std::mt19937_64 gen(test::run_seed());
  const Tensor x = test::random_normal(Shape{256}, gen);
  StepMemoryPlan plan(Device::cpu());
  MemoryPlanScope scope(plan);
  plan.begin_record();
  toy_step(ctx, x);
  plan.end_record();

  plan.begin_replay();
  CHECK_THROWS_WITH_AS(Tensor::empty(Shape{7}, DType::f32), doctest::Contains("changed its allocation pattern"), cmt::Error);
  plan.abandon();

  plan.begin_replay();
  Tensor kept = ops::scale(ctx, x, 2.f);  // request #0, as recorded, but kept past the step
  Tensor b = Tensor::empty(Shape{x.numel() * 2}, DType::f32);
  Tensor c = ops::scale(ctx, kept, 0.5f);
  // d was planned over a's bytes (a was dead by then in the recorded step); `kept` is not.
  CHECK_THROWS_WITH_AS(ops::scale(ctx, c, 3.f), doctest::Contains("still alive"), cmt::Error);
  plan.abandon();
}

TEST_CASE("host-sync guard: item() inside a NoHostSyncScope names the region") {
  Context ctx(Device::cpu());
  Tensor t = Tensor::from_vector(std::vector<float>{2.f}, Shape{1});
  CHECK(ops::item(t) == 2.f);
  NoHostSyncScope scope("the test region");
  CHECK_THROWS_WITH_AS(ops::item(t), doctest::Contains("the test region"), cmt::Error);
}

TEST_CASE("CMT-CNN step from a memory plan: bit-identical losses and gradients, no host sync, no allocation") {
  Context ctx(Device::cpu());
  std::mt19937_64 gen(test::run_seed());
  const Tensor views = test::random_normal(Shape{4, 1, 16, 16, 1}, gen);
  const Tensor labels = Tensor::from_vector(std::vector<std::int32_t>{0, 0, 1, 1}, Shape{4});
  // Two identical models: one steps eagerly, one through the plan; both run the same 4 Adam steps.
  struct Run {
    models::CmtModel model{test::tiny_cmt_config(32, 2)};
    std::unique_ptr<ParameterStore> store;
    std::unique_ptr<Adam> adam;
  };
  Run eager, planned;
  for (Run* r : {&eager, &planned}) {
    r->store = std::make_unique<ParameterStore>(ctx, r->model.root());
    r->store->initialize(ctx, 11);
    r->adam = std::make_unique<Adam>(ctx, r->store->params().numel(), AdamConfig{});
  }
  ctx.training = true;
  // Planned steps go through the Trainer's sequence: plain, record, then replays under a NoHostSyncScope.
  SteadyStep steady(ctx, /*use_graph=*/false);
  const StepMemoryPlan& plan = steady.plan();
  auto step = [&](Run& r) {
    r.store->zero_grads(ctx);
    const StepLosses l = r.model.train_step(ctx, views, labels);
    Tensor none;
    r.adam->apply(ctx, r.store->params(), r.store->grads(), none, l.values.narrow(StepLosses::total, 1));
    return l;
  };
  for (int i = 0; i < 4; ++i) {
    eager.adam->prepare(ctx, 1e-3f);
    const HostLosses e = step(eager).fetch();
    planned.adam->prepare(ctx, 1e-3f);
    const AllocatorStats before = host_allocator().stats();
    StepLosses l;
    steady.run([&] { l = step(planned); });
    if (i >= 2) {
      const AllocatorStats after = host_allocator().stats();
      CHECK(after.raw_allocations == before.raw_allocations);
      // Only what escapes the step (the losses and probabilities) is left to the allocator.
      CHECK(after.requests - before.requests == plan.requests() - plan.planned_requests());
    }
    const HostLosses p = l.fetch();
    CHECK(p.total == e.total);
    CHECK(p.classification == e.classification);
    CHECK(p.contrastive == e.contrastive);
    CHECK(std::memcmp(planned.store->params().raw(), eager.store->params().raw(), eager.store->params().nbytes()) == 0);
  }
  CHECK(plan.planned_requests() > 50);
  CHECK(plan.arena_bytes() < plan.requested_bytes() / 2);  // activations reuse each other's memory
  MESSAGE(plan.summary());
}

TEST_CASE("EfficientNet with stochastic depth from a memory plan with a device step key: each step's own masks") {
  Context eager_ctx(Device::cpu()), planned_ctx(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 3);
  const Tensor views = test::random_normal(Shape{4, 1, 32, 32, 1}, gen);
  const Tensor labels = Tensor::from_vector(std::vector<std::int32_t>{0, 0, 1, 1}, Shape{4});
  models::CmtConfig c = test::tiny_cmt_config(16, 2, "efficientnet_b4");
  c.backbone.stochastic_depth = 0.5f;  // large: most steps draw a different set of dropped blocks
  models::CmtModel eager(c), planned(c);
  ParameterStore es(eager_ctx, eager.root()), ps(planned_ctx, planned.root());
  es.initialize(eager_ctx, 8);
  ps.initialize(planned_ctx, 8);
  SteadyStep steady(planned_ctx, /*use_graph=*/false);
  std::vector<float> totals;
  for (std::uint32_t step = 0; step < 5; ++step) {
    for (Context* ctx : {&eager_ctx, &planned_ctx}) {
      ctx->training = true;
      ctx->step = step;
    }
    es.zero_grads(eager_ctx);
    const HostLosses e = eager.train_step(eager_ctx, views, labels).fetch();
    planned_ctx.upload_step_key();
    StepLosses l;
    steady.run([&] {
      ps.zero_grads(planned_ctx);
      l = planned.train_step(planned_ctx, views, labels);
    });
    const HostLosses p = l.fetch();
    CHECK(p.total == e.total);
    CHECK(ps.grads().to_vector<float>() == es.grads().to_vector<float>());
    totals.push_back(p.total);
  }
  // Same weights and views every step: only the stochastic-depth masks move the loss.
  CHECK(std::set<float>(totals.begin(), totals.end()).size() > 1);
}
