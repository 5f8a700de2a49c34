// The `paper` policy: all seven of the paper's transformations in the random pipeline, with the
// probabilities and the Poisson strength that docs/augmentation.md states as assumptions.
#include <cmath>
#include <numeric>
#include <random>

#include "engine/augment_policy.h"
#include "engine/ops/augment.h"
#include "kernels/common/augment_params.h"
#include "support/testing.h"

using namespace cmt;

TEST_CASE("augment policy: paper applies all seven transformations at their documented rates") {
  const AugmentPolicy paper = AugmentPolicy::parse("paper");
  const AugmentPolicy genesis = AugmentPolicy::parse("genesis");
  CHECK(paper.config.mode == aug::Mode::random);
  CHECK(paper.config.rotate_prob == 0.5f);
  CHECK(paper.config.poisson_prob == 0.5f);
  CHECK(genesis.config.rotate_prob == 0.f);  // Models Genesis' own set has neither
  CHECK(genesis.config.poisson_prob == 0.f);
  CHECK(AugmentPolicy::parse(paper.describe()) == paper);
  CHECK(AugmentPolicy::parse("paper,poisson_prob=0.25").config.rotate_prob == 0.5f);  // keys refine the named policy

  // Count how often each transformation is planned over many views.
  const int views = 20000;
  int count[kTransformCount] = {};
  for (int v = 0; v < views; ++v) {
    const aug::ViewPlan plan =
        aug::draw_plan(paper.config, rng::Stream::make(test::run_seed(), 0, static_cast<std::uint32_t>(v), aug::plan_op(0)));
    for (int s = 0; s < plan.n; ++s) ++count[static_cast<int>(plan.t[s])];
  }
  auto rate = [&](Transform t) { return static_cast<double>(count[static_cast<int>(t)]) / views; };
  const double tol = 5 * std::sqrt(0.25 / views);
  CHECK(std::fabs(rate(Transform::rotate) - 0.5) < tol);
  CHECK(std::fabs(rate(Transform::poisson) - 0.5) < tol);
  CHECK(std::fabs(rate(Transform::shuffle) - 0.5) < tol);
  CHECK(std::fabs(rate(Transform::bezier) - 0.9) < tol);
  CHECK(std::fabs(rate(Transform::inpaint) - 0.9 * 0.2) < tol);
  CHECK(std::fabs(rate(Transform::outpaint) - 0.9 * 0.8) < tol);
  CHECK(rate(Transform::flip) == 1.0);  // planned always; each of up to 3 attempts flips with 0.4
}

TEST_CASE("augment policy: the paper's Poisson noise has SD 0.13 at x = 0.5, s = 30 and 0.04 at s = 300") {
  Context ctx;
  const std::vector<std::int64_t> ids{1, 2};
  for (const auto& scale_sd : {std::pair{30, 0.129}, std::pair{300, 0.0408}}) {
    const int s = scale_sd.first;  // not a structured binding: clang 14 cannot capture those in INFO's lambda
    const double want_sd = scale_sd.second;
    Tensor x = Tensor::empty(Shape{2, 1, 96, 96, 1}, DType::f32);
    std::fill(x.data<float>(), x.data<float>() + x.numel(), 0.5f);
    // The paper policy's noise at the two ends of its scale range [30, 300].
    const AugmentPolicy pol =
        AugmentPolicy::parse("paper,poisson_scale_lo=" + std::to_string(s) + ",poisson_scale_hi=" + std::to_string(s));
    CHECK(AugmentPolicy::parse("paper").config.poisson_scale_lo == 30.f);
    CHECK(AugmentPolicy::parse("paper").config.poisson_scale_hi == 300.f);
    const auto v = ops::augment_apply(ctx, x, ids, Transform::poisson, pol, test::run_seed() + 3, 0, 0).to_vector<float>();
    const double mean = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
    double sq = 0;
    for (float e : v) sq += (e - mean) * (e - mean);
    const double sd = std::sqrt(sq / static_cast<double>(v.size() - 1));
    INFO("s " << s << ": mean " << mean << ", SD " << sd << " (want " << want_sd << ")");
    CHECK(std::fabs(sd - want_sd) < 0.05 * want_sd);
    CHECK(std::fabs(mean - 0.5) < 0.01);
  }
}

TEST_CASE("augment policy: one_branch leaves view 1 the identity and transforms view 0 as before") {
  Context ctx;
  std::mt19937_64 gen(test::run_seed() + 4);
  // Eight samples: a draw may leave one sample unchanged (rotation by 0, no flip), all eight
  // practically never.
  const Tensor x = test::random_uniform(Shape{8, 1, 24, 24, 1}, gen);
  const std::vector<std::int64_t> ids{5, 6, 7, 8, 9, 10, 11, 12};
  for (const char* spec : {"rotate+flip", "paper", "shuffle,shuffle_rounds=4"}) {
    INFO(spec);
    const AugmentPolicy both = AugmentPolicy::parse(spec);
    const AugmentPolicy one = AugmentPolicy::parse(std::string(spec) + ",one_branch=1");
    CHECK(AugmentPolicy::parse(one.describe()) == one);
    const auto v1 = ops::augment_two_views(ctx, x, ids, one, test::run_seed(), 2, false).to_vector<float>();
    const auto v2 = ops::augment_two_views(ctx, x, ids, both, test::run_seed(), 2, false).to_vector<float>();
    const auto in = x.to_vector<float>();
    const std::size_t n = 24 * 24;
    bool view0_transformed = false;
    for (std::size_t k = 0; k < ids.size(); ++k)
      for (std::size_t i = 0; i < n; ++i) {
        REQUIRE(v1[(2 * k + 1) * n + i] == in[k * n + i]);  // view 1: the input itself
        REQUIRE(v1[2 * k * n + i] == v2[2 * k * n + i]);    // view 0: the same draw as with both branches
        view0_transformed |= v1[2 * k * n + i] != in[k * n + i];
      }
    CHECK(view0_transformed);
  }
  CHECK_THROWS_WITH_AS(AugmentPolicy::parse("flip,one_branch=2"), doctest::Contains("one_branch"), cmt::Error);
}
