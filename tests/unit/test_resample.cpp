// CPU tests of the preprocessing ops: resampling identities and properties, window, min-max.
#include <random>

#include "engine/ops/resample.h"
#include "support/testing.h"

using namespace cmt;

TEST_CASE("resample: same size is the identity, constants stay constant, shrinking averages") {
  std::mt19937_64 gen(test::run_seed());
  Context ctx;
  Tensor x = test::random_normal(Shape{2, 5, 6, 7, 3}, gen);
  CHECK_ALLCLOSE(ops::resample(ctx, x, 5, 6, 7, true), x, 0, 0);
  Tensor c = Tensor::from_vector(std::vector<float>(2 * 9 * 10 * 11, 0.75f), Shape{2, 9, 10, 11, 1});
  for (bool aa : {true, false}) {
    Tensor y = ops::resample(ctx, c, 4, 13, 5, aa);
    CHECK(y.shape() == Shape{2, 4, 13, 5, 1});
    CHECK_ALLCLOSE(y.to_vector<float>(), std::vector<float>(static_cast<std::size_t>(y.numel()), 0.75f), 1e-6, 1e-6);
  }
  // Halving with antialias: each output is the tent-weighted mean of 4 inputs: (1, 3, 3, 1) / 8 inside.
  Tensor r = test::random_small_ints(Shape{1, 1, 1, 8, 1}, gen);
  const auto v = r.to_vector<float>();
  const auto y = ops::resample(ctx, r, 1, 1, 4, true).to_vector<float>();
  for (int i = 1; i < 3; ++i) CHECK(y[static_cast<std::size_t>(i)] == doctest::Approx((v[2 * i - 1] + 3 * v[2 * i] + 3 * v[2 * i + 1] + v[2 * i + 2]) / 8.0));
  CHECK_THROWS_WITH_AS(ops::resample(ctx, Tensor::empty(Shape{2, 3}, DType::f32), 1, 1, 1), doctest::Contains("resample"), Error);
}

TEST_CASE("hu_window and minmax_scale map to [0, 1]") {
  std::mt19937_64 gen(test::run_seed());
  Context ctx;
  Tensor x = test::random_normal(Shape{3, 40}, gen, 900.f);
  const auto v = x.to_vector<float>();
  const auto w = ops::hu_window(ctx, x, -1000.f, 400.f).to_vector<float>();
  const auto m = ops::minmax_scale(ctx, x).to_vector<float>();
  for (int s = 0; s < 3; ++s) {
    float lo = 1e30f, hi = -1e30f;
    for (int i = 0; i < 40; ++i) lo = std::min(lo, v[s * 40 + i]), hi = std::max(hi, v[s * 40 + i]);
    for (int i = 0; i < 40; ++i) {
      const std::size_t k = static_cast<std::size_t>(s * 40 + i);
      CHECK(w[k] == doctest::Approx(std::clamp((v[k] + 1000.f) / 1400.f, 0.f, 1.f)).epsilon(1e-5));
      CHECK(m[k] == doctest::Approx((v[k] - lo) / (hi - lo)).epsilon(1e-5));
    }
  }
  CHECK_THROWS_WITH_AS(ops::hu_window(ctx, x, 5.f, 5.f), doctest::Contains("hi > lo"), Error);
}
