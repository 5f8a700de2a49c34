// The fully connected layer on the CPU backend against naive loops in double.
#include "engine/ops/basic.h"
#include "engine/ops/linear.h"
#include "support/testing.h"

using namespace cmt;

TEST_CASE("linear forward and backward equal the naive sums, with and without bias") {
  Context ctx(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 17);
  const std::int64_t n = 5, in = 13, out = 4;
  Tensor x = test::random_normal(Shape{n, in}, gen), w = test::random_normal(Shape{out, in}, gen);
  Tensor b = test::random_normal(Shape{out}, gen), dy = test::random_normal(Shape{n, out}, gen);
  for (bool bias : {true, false}) {
    Tensor y = ops::linear_forward(ctx, x, w, bias ? b : Tensor());
    auto g = ops::linear_backward(ctx, dy, x, w, bias);
    const float *X = x.data<float>(), *W = w.data<float>(), *D = dy.data<float>();
    for (std::int64_t r = 0; r < n; ++r)
      for (std::int64_t o = 0; o < out; ++o) {
        double acc = bias ? b.data<float>()[o] : 0.0;
        for (std::int64_t i = 0; i < in; ++i) acc += static_cast<double>(X[r * in + i]) * W[o * in + i];
        CHECK(y.data<float>()[r * out + o] == doctest::Approx(acc).epsilon(1e-5).scale(1.0));
      }
    for (std::int64_t r = 0; r < n; ++r)
      for (std::int64_t i = 0; i < in; ++i) {
        double acc = 0;
        for (std::int64_t o = 0; o < out; ++o) acc += static_cast<double>(D[r * out + o]) * W[o * in + i];
        CHECK(g.dx.data<float>()[r * in + i] == doctest::Approx(acc).epsilon(1e-5).scale(1.0));
      }
    for (std::int64_t o = 0; o < out; ++o) {
      double db = 0;
      for (std::int64_t r = 0; r < n; ++r) db += D[r * out + o];
      if (bias) CHECK(g.db.data<float>()[o] == doctest::Approx(db).epsilon(1e-5).scale(1.0));
      for (std::int64_t i = 0; i < in; ++i) {
        double acc = 0;
        for (std::int64_t r = 0; r < n; ++r) acc += static_cast<double>(D[r * out + o]) * X[r * in + i];
        CHECK(g.dw.data<float>()[o * in + i] == doctest::Approx(acc).epsilon(1e-5).scale(1.0));
      }
    }
    CHECK(g.db.defined() == bias);
  }
  CHECK(ops::flatten(Tensor::empty(Shape{2, 1, 3, 3, 4}, DType::f32)).shape() == Shape{2, 36});
  CHECK_THROWS_WITH_AS(ops::linear_forward(ctx, x, w, Tensor::empty(Shape{5}, DType::f32)),
                       doctest::Contains("'bias' must be f32[4]"), Error);
}

TEST_CASE("bf16 linear: every result is the f32 GEMM of the same values, rounded once") {
  Context ctx(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 26);
  const auto bf16 = [&](const Shape& s) { return ops::cast(ctx, test::random_normal(s, gen), DType::bf16); };
  const auto f32 = [&](const Tensor& t) { return ops::cast(ctx, t, DType::f32); };
  const std::int64_t n = 6, in = 40, out = 10;  // squeeze-excitation sizes
  const Tensor x = bf16(Shape{n, in}), w = bf16(Shape{out, in}), b = bf16(Shape{out}), dy = bf16(Shape{n, out});
  for (bool bias : {true, false}) {
    CHECK_BF16_ROUNDING(ops::linear_forward(ctx, x, w, bias ? b : Tensor()),
                        ops::linear_forward(ctx, f32(x), f32(w), bias ? f32(b) : Tensor()));
    const auto gb = ops::linear_backward(ctx, dy, x, w, bias);
    const auto gf = ops::linear_backward(ctx, f32(dy), f32(x), f32(w), bias);
    CHECK_BF16_ROUNDING(gb.dx, gf.dx);
    CHECK_BF16_ROUNDING(gb.dw, gf.dw);
    if (bias) CHECK_BF16_ROUNDING(gb.db, gf.db);
    CHECK(gb.db.defined() == bias);
  }
  CHECK_THROWS_WITH_AS(ops::linear_forward(ctx, x, f32(w), Tensor()), doctest::Contains("dtype mismatch"), Error);
  CHECK_THROWS_WITH_AS(ops::linear_forward(ctx, x, w, f32(b)), doctest::Contains("dtype mismatch"), Error);
}
