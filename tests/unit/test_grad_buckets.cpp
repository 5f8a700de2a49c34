// Gradient buckets: contiguous ranges cut in backward order, launched during backward as soon as
// complete and in order, every bucket completed by finish().
#include "engine/grad_buckets.h"
#include "engine/ops/basic.h"
#include "models/cmt_model.h"
#include "support/testing.h"
#include "support/tiny_model.h"

using namespace cmt;

namespace {
// Counts the all-reduces it is asked for; sums nothing (one rank).
class CountingComm final : public Communicator {
 public:
  std::string name() const override { return "counting"; }
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void all_reduce_sum(Context&, Tensor& t) override { ranges.push_back(t.numel()); }
  Tensor all_gather_rows(Context&, const Tensor& local) override { return local; }
  void broadcast(Context&, Tensor&, int) override {}
  double all_reduce_scalar(double v) override { return v; }
  void barrier() override {}
  void abort_job(const std::string&, int) override {}
  std::vector<std::int64_t> ranges;
};
}  // namespace

TEST_CASE("gradient buckets cover the flat block and start during backward") {
  Context ctx(Device::cpu());
  models::CmtConfig c = test::tiny_cmt_config(8, 2);
  models::CmtModel model(c);
  ParameterStore store(ctx, model.root());
  store.initialize(ctx, 1);
  CountingComm comm;
  GradientBuckets buckets(store, comm, 16 << 10);
  CHECK(buckets.num_buckets() > 3);
  std::mt19937_64 gen(test::run_seed());
  const Tensor views = test::random_normal(Shape{4, 1, 16, 16, 1}, gen);
  const Tensor labels = Tensor::from_vector(std::vector<std::int32_t>{0, 0, 1, 1}, Shape{4});
  ctx.training = true;
  store.zero_grads(ctx);
  buckets.begin_step();
  model.train_step(ctx, views, labels);
  const int early = buckets.launched_during_backward();
  buckets.finish(ctx);
  CHECK(early == static_cast<int>(buckets.num_buckets()));  // every bucket completed inside backward
  std::int64_t covered = 0;
  for (auto n : comm.ranges) covered += n;
  CHECK(covered == store.grads().numel());  // the buckets tile the whole flat block
  CHECK(comm.ranges.size() == buckets.num_buckets());
  // With one rank the average is the gradient itself: a second identical step gives the same block.
  const auto once = store.grads().to_vector<float>();
  store.zero_grads(ctx);
  model.train_step(ctx, views, labels);
  CHECK_ALLCLOSE(store.grads().to_vector<float>(), once, 0.0, 0.0);
}

TEST_CASE("gradient buckets refuse a second gradient for a parameter already marked ready") {
  Context ctx(Device::cpu());
  models::CmtModel model(test::tiny_cmt_config(8, 2));
  ParameterStore store(ctx, model.root());
  store.initialize(ctx, 1);
  CountingComm comm;
  GradientBuckets buckets(store, comm, 16 << 10);
  const ParameterRef& last = store.parameter_refs().back();  // the first bucket's: launched once ready
  const Tensor g = Tensor::from_vector(std::vector<float>(static_cast<std::size_t>(last.grad->numel()), 0.5f), last.grad->shape());
  store.zero_grads(ctx);
  buckets.begin_step();
  accumulate_grad(ctx, *last.grad, g);
  CHECK_THROWS_WITH_AS(accumulate_grad(ctx, *last.grad, g), doctest::Contains(last.path.c_str()), cmt::Error);
  buckets.finish(ctx);
}
