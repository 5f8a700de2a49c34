// Elementwise and row ops on the CPU backend: add, channel scale, concat/split, L2-normalise.
#include <cmath>

#include "engine/ops/basic.h"
#include "engine/ops/elementwise.h"
#include "support/testing.h"

using namespace cmt;

TEST_CASE("add, add_, scale and channel scale are exact on every element") {
  Context ctx(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 15);
  const Shape s{2, 3, 4, 5, 6};
  Tensor a = test::random_normal(s, gen), b = test::random_normal(s, gen), sc = test::random_normal(Shape{2, 6}, gen);
  Tensor y = ops::add(ctx, a, b), z = ops::channel_scale(ctx, a, sc);
  auto g = ops::channel_scale_backward(ctx, b, a, sc);
  std::vector<double> ds(12, 0.0);
  for (std::int64_t i = 0; i < a.numel(); ++i) {
    const std::int64_t n = i / (3 * 4 * 5 * 6), c = i % 6;
    const float av = a.data<float>()[i], bv = b.data<float>()[i], sv = sc.data<float>()[n * 6 + c];
    CHECK(y.data<float>()[i] == av + bv);
    CHECK(z.data<float>()[i] == av * sv);
    CHECK(g.dx.data<float>()[i] == bv * sv);
    ds[static_cast<std::size_t>(n * 6 + c)] += static_cast<double>(av) * bv;
  }
  for (std::size_t j = 0; j < 12; ++j) CHECK(g.ds.data<float>()[j] == doctest::Approx(ds[j]).epsilon(1e-5).scale(1.0));
  ops::add_(ctx, a, b);
  CHECK(a.to_vector<float>() == y.to_vector<float>());
  CHECK_THROWS_WITH_AS(ops::channel_scale(ctx, a, Tensor::empty(Shape{2, 5}, DType::f32)),
                       doctest::Contains("'s' must be (N,C)"), Error);
}

TEST_CASE("concat_rows and split_rows are inverse; L2-normalised rows have unit norm and a tangent gradient") {
  Context ctx(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 16);
  Tensor a = test::random_normal(Shape{3, 9}, gen), b = test::random_normal(Shape{5, 9}, gen);
  Tensor c = ops::concat_rows(ctx, a, b);
  CHECK(c.shape() == Shape{8, 9});
  auto [top, bottom] = ops::split_rows(c, 3);
  CHECK(top.to_vector<float>() == a.to_vector<float>());
  CHECK(bottom.to_vector<float>() == b.to_vector<float>());
  Tensor y = ops::l2_normalize_rows(ctx, c, 1e-12f);
  Tensor dy = test::random_normal(c.shape(), gen);
  Tensor dx = ops::l2_normalize_rows_backward(ctx, dy, c, 1e-12f);
  for (std::int64_t r = 0; r < 8; ++r) {
    double norm = 0, tangent = 0;
    for (std::int64_t j = 0; j < 9; ++j) {
      norm += std::pow(y.data<float>()[r * 9 + j], 2);
      tangent += static_cast<double>(dx.data<float>()[r * 9 + j]) * c.data<float>()[r * 9 + j];
    }
    CHECK(norm == doctest::Approx(1.0).epsilon(1e-6));
    CHECK(tangent == doctest::Approx(0.0).scale(1.0).epsilon(1e-5));  // scaling x does not change y
  }
  CHECK_THROWS_WITH_AS(ops::concat_rows(ctx, a, Tensor::empty(Shape{2, 8}, DType::f32)), doctest::Contains("differ in dim 1"),
                       Error);
}

TEST_CASE("bf16 channel scale (squeeze-excitation) in 2D and 3D: the f32 results, rounded once") {
  Context ctx(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 25);
  const auto bf16 = [&](const Shape& s) { return ops::cast(ctx, test::random_normal(s, gen), DType::bf16); };
  const auto f32 = [&](const Tensor& t) { return ops::cast(ctx, t, DType::f32); };
  for (const Shape& s : {Shape{2, 1, 7, 9, 24}, Shape{2, 3, 4, 5, 16}}) {
    const Tensor x = bf16(s), dy = bf16(s), sc = bf16(Shape{s[0], s[4]});
    CHECK_BF16_ROUNDING(ops::channel_scale(ctx, x, sc), ops::channel_scale(ctx, f32(x), f32(sc)));
    const auto gb = ops::channel_scale_backward(ctx, dy, x, sc);
    const auto gf = ops::channel_scale_backward(ctx, f32(dy), f32(x), f32(sc));
    CHECK_BF16_ROUNDING(gb.dx, gf.dx);
    CHECK_BF16_ROUNDING(gb.ds, gf.ds);  // the sum over D*H*W in f32 (double on the CPU), rounded once
  }
  CHECK_THROWS_WITH_AS(ops::channel_scale(ctx, bf16(Shape{2, 1, 2, 2, 3}), test::random_normal(Shape{2, 3}, gen)),
                       doctest::Contains("dtype mismatch"), Error);
}
