// Batch normalisation on the CPU backend: normalised statistics, running stats, finite differences, errors.
#include <cmath>

#include "engine/ops/activation.h"
#include "engine/ops/basic.h"
#include "engine/ops/batchnorm.h"
#include "support/testing.h"

using namespace cmt;

namespace {
Tensor filled(std::int64_t c, float v) {
  return Tensor::from_vector(std::vector<float>(static_cast<std::size_t>(c), v), Shape{c});
}
}  // namespace

TEST_CASE("batchnorm train normalises each channel and updates the running stats like torch") {
  Context ctx(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 10);
  const Shape s{3, 2, 5, 4, 6};
  Tensor x = test::random_normal(s, gen, 3.f);
  Tensor rm = filled(6, 0.5f), rv = filled(6, 2.f);
  ops::BatchNormSaved saved;
  Tensor y = ops::batchnorm_forward_train(ctx, x, filled(6, 1.f), filled(6, 0.f), rm, rv, 0.1f, 1e-5f, saved);
  const auto xv = x.to_vector<float>(), yv = y.to_vector<float>();
  const std::int64_t m = x.numel() / 6;
  for (std::int64_t c = 0; c < 6; ++c) {
    double mean = 0, var = 0, ym = 0, yq = 0;
    for (std::int64_t r = 0; r < m; ++r) mean += xv[r * 6 + c];
    mean /= m;
    for (std::int64_t r = 0; r < m; ++r) {
      var += (xv[r * 6 + c] - mean) * (xv[r * 6 + c] - mean);
      ym += yv[r * 6 + c];
      yq += yv[r * 6 + c] * yv[r * 6 + c];
    }
    CHECK(ym / m == doctest::Approx(0.0).scale(1.0).epsilon(1e-5));
    CHECK(yq / m == doctest::Approx(var / m / (var / m + 1e-5)).epsilon(1e-4));
    CHECK(rm.data<float>()[c] == doctest::Approx(0.9 * 0.5 + 0.1 * mean).epsilon(1e-6));
    CHECK(rv.data<float>()[c] == doctest::Approx(0.9 * 2.0 + 0.1 * var / (m - 1)).epsilon(1e-6));
    CHECK(saved.invstd.data<float>()[c] == doctest::Approx(1.0 / std::sqrt(var / m + 1e-5)).epsilon(1e-6));
  }
}

TEST_CASE("batchnorm backward matches finite differences of the forward") {
  Context ctx(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 11);
  const Shape s{2, 1, 3, 2, 3};
  Tensor x = test::random_normal(s, gen), dy = test::random_normal(s, gen);
  Tensor gamma = test::random_normal(Shape{3}, gen), beta = test::random_normal(Shape{3}, gen);
  const auto loss = [&](const Tensor& xx, const Tensor& g, const Tensor& b) {
    Tensor rm = filled(3, 0.f), rv = filled(3, 1.f);
    ops::BatchNormSaved sv;
    const auto y = ops::batchnorm_forward_train(ctx, xx, g, b, rm, rv, 0.1f, 1e-5f, sv).to_vector<float>();
    double l = 0;
    for (std::size_t i = 0; i < y.size(); ++i) l += static_cast<double>(y[i]) * dy.data<float>()[i];
    return l;
  };
  Tensor rm = filled(3, 0.f), rv = filled(3, 1.f);
  ops::BatchNormSaved saved;
  ops::batchnorm_forward_train(ctx, x, gamma, beta, rm, rv, 0.1f, 1e-5f, saved);
  auto grads = ops::batchnorm_backward(ctx, dy, x, gamma, saved);
  const float h = 1e-2f;
  for (auto [t, g] : {std::pair<Tensor*, Tensor*>{&x, &grads.dx}, {&gamma, &grads.dgamma}, {&beta, &grads.dbeta}}) {
    for (std::int64_t i = 0; i < t->numel(); ++i) {
      float& v = t->data<float>()[i];
      const float old = v;
      v = old + h;
      const double up = loss(x, gamma, beta);
      v = old - h;
      const double down = loss(x, gamma, beta);
      v = old;
      CHECK(g->data<float>()[i] == doctest::Approx((up - down) / (2 * h)).epsilon(2e-2).scale(1.0));
    }
  }
}

TEST_CASE("batchnorm validates its arguments with clear errors") {
  Context ctx(Device::cpu());
  ops::BatchNormSaved saved;
  Tensor one = Tensor::from_vector<float>({1.f, 2.f}, Shape{1, 1, 1, 1, 2});
  Tensor rm = filled(2, 0.f), rv = filled(2, 1.f);
  CHECK_THROWS_WITH_AS(ops::batchnorm_forward_train(ctx, one, filled(2, 1.f), filled(2, 0.f), rm, rv, 0.1f, 1e-5f, saved),
                       doctest::Contains("more than 1 value per channel"), Error);
  Tensor x = Tensor::empty(Shape{2, 1, 2, 2, 2}, DType::f32);
  CHECK_THROWS_WITH_AS(ops::batchnorm_forward_eval(ctx, x, filled(3, 1.f), filled(2, 0.f), rm, rv, 1e-5f),
                       doctest::Contains("'gamma' must be f32[2]"), Error);
  CHECK_THROWS_WITH_AS(ops::batchnorm_forward_eval(ctx, Tensor::empty(Shape{2, 2}, DType::f32), filled(2, 1.f),
                                                   filled(2, 0.f), rm, rv, 1e-5f),
                       doctest::Contains("rank 5"), Error);
}

TEST_CASE("batchnorm on bf16 data computes in float and rounds once") {
  Context ctx(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 23);
  const Shape s{3, 2, 4, 5, 8};
  Tensor x = ops::cast(ctx, test::random_normal(s, gen, 2.f), DType::bf16);
  Tensor dy = ops::cast(ctx, test::random_normal(s, gen), DType::bf16);
  Tensor xw = ops::cast(ctx, x, DType::f32), dw = ops::cast(ctx, dy, DType::f32);
  Tensor gamma = test::random_normal(Shape{8}, gen), beta = test::random_normal(Shape{8}, gen);
  Tensor rm = filled(8, 0.f), rv = filled(8, 1.f), rm2 = filled(8, 0.f), rv2 = filled(8, 1.f);
  ops::BatchNormSaved sb, sf;
  Tensor yb = ops::batchnorm_forward_train(ctx, x, gamma, beta, rm, rv, 0.1f, 1e-5f, sb);
  Tensor yf = ops::batchnorm_forward_train(ctx, xw, gamma, beta, rm2, rv2, 0.1f, 1e-5f, sf);
  CHECK(yb.dtype() == DType::bf16);
  CHECK_ALLCLOSE(yb, ops::cast(ctx, yf, DType::bf16), 0.0, 0.0);
  CHECK_ALLCLOSE(rv, rv2, 0.0, 0.0);
  auto gb = ops::batchnorm_backward(ctx, dy, x, gamma, sb);
  auto gf = ops::batchnorm_backward(ctx, dw, xw, gamma, sf);
  CHECK_ALLCLOSE(gb.dx, ops::cast(ctx, gf.dx, DType::bf16), 0.0, 0.0);
  CHECK_ALLCLOSE(gb.dgamma, gf.dgamma, 0.0, 0.0);
  CHECK_ALLCLOSE(ops::batchnorm_forward_eval(ctx, x, gamma, beta, rm, rv, 1e-5f),
                 ops::cast(ctx, ops::batchnorm_forward_eval(ctx, xw, gamma, beta, rm, rv, 1e-5f), DType::bf16), 0.0, 0.0);
  CHECK_THROWS_WITH_AS(ops::batchnorm_backward(ctx, dw, x, gamma, sb), doctest::Contains("dtype mismatch"), Error);
}

TEST_CASE("batchnorm statistics of data far from zero, and the backward written over dy, equal the plain results") {
  Context ctx(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 12);
  const Shape s{4, 3, 9, 8, 5};  // 864 rows: split over the team
  // A large offset with a small spread: the one-pass sums are shifted by the first row, so the
  // variance keeps its digits (the two-pass result in double is the reference).
  Tensor x = test::random_normal(s, gen, 0.01f);
  for (std::int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] += 1000.f;
  const auto xv = x.to_vector<float>();
  const std::int64_t m = x.numel() / 5;
  Tensor rm = filled(5, 0.f), rv = filled(5, 1.f);
  ops::BatchNormSaved saved;
  ops::batchnorm_forward_train(ctx, x, filled(5, 1.f), filled(5, 0.f), rm, rv, 1.f, 1e-5f, saved);
  for (std::int64_t c = 0; c < 5; ++c) {
    double mean = 0, var = 0;
    for (std::int64_t r = 0; r < m; ++r) mean += xv[r * 5 + c];
    mean /= m;
    for (std::int64_t r = 0; r < m; ++r) var += (xv[r * 5 + c] - mean) * (xv[r * 5 + c] - mean);
    CHECK(saved.mean.data<float>()[c] == doctest::Approx(mean).epsilon(1e-7));
    CHECK(rv.data<float>()[c] == doctest::Approx(var / (m - 1)).epsilon(1e-6));
  }
  const Tensor dy = test::random_normal(s, gen), gamma = test::random_normal(Shape{5}, gen);
  const auto want = ops::batchnorm_backward(ctx, dy, x, gamma, saved);
  Tensor dy2 = Tensor::from_vector(dy.to_vector<float>(), s);
  const auto got = ops::batchnorm_backward(ctx, dy2, x, gamma, saved, true);
  CHECK(got.dx.shares_storage(dy2));
  CHECK_ALLCLOSE(got.dx, want.dx, 0.0, 0.0);
  CHECK_ALLCLOSE(got.dgamma, want.dgamma, 0.0, 0.0);
  CHECK_ALLCLOSE(got.dbeta, want.dbeta, 0.0, 0.0);
}

TEST_CASE("batchnorm with ReLU or SiLU in the same pass equals batch norm then the activation op, bit for bit (f32, bf16)") {
  Context ctx(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 13);
  const Shape s{4, 1, 24, 24, 48};  // 110592 elements: split over the team
  for (DType dtype : {DType::f32, DType::bf16}) {
    for (ops::BnActivation act : {ops::BnActivation::relu, ops::BnActivation::silu}) {
      const bool relu = act == ops::BnActivation::relu;
      INFO((dtype == DType::f32 ? "f32 " : "bf16 ") << (relu ? "relu" : "silu"));
      const Tensor x = ops::cast(ctx, test::random_normal(s, gen), dtype), dy = ops::cast(ctx, test::random_normal(s, gen), dtype);
      const Tensor gamma = test::random_normal(Shape{48}, gen), beta = test::random_normal(Shape{48}, gen);
      Tensor rm1 = filled(48, 0.f), rv1 = filled(48, 1.f), rm2 = filled(48, 0.f), rv2 = filled(48, 1.f);
      ops::BatchNormSaved plain, fused;
      const Tensor z = ops::batchnorm_forward_train(ctx, x, gamma, beta, rm1, rv1, 0.1f, 1e-5f, plain);
      const Tensor y_want = relu ? ops::relu(ctx, z) : ops::silu(ctx, z);
      const Tensor y = ops::batchnorm_forward_train(ctx, x, gamma, beta, rm2, rv2, 0.1f, 1e-5f, fused, act);
      CHECK(y.dtype() == dtype);
      CHECK_ALLCLOSE(y, y_want, 0.0, 0.0);
      CHECK_ALLCLOSE(rv2, rv1, 0.0, 0.0);
      // Backward: the activation's gradient (from what it keeps), then batch norm's; fused, also written over dy.
      const Tensor dz = relu ? ops::relu_backward(ctx, dy, y_want) : ops::silu_backward(ctx, dy, z);
      const auto want = ops::batchnorm_backward(ctx, dz, x, gamma, plain);
      for (bool into_dy : {false, true}) {
        Tensor dy_copy = ops::cast(ctx, ops::cast(ctx, dy, DType::f32), dtype);
        const auto got = ops::batchnorm_backward(ctx, dy_copy, x, gamma, fused, into_dy);
        CHECK(got.dx.shares_storage(dy_copy) == into_dy);
        CHECK_ALLCLOSE(got.dx, want.dx, 0.0, 0.0);
        CHECK_ALLCLOSE(got.dgamma, want.dgamma, 0.0, 0.0);
        CHECK_ALLCLOSE(got.dbeta, want.dbeta, 0.0, 0.0);
      }
      const Tensor ze = ops::batchnorm_forward_eval(ctx, x, gamma, beta, rm1, rv1, 1e-5f);
      CHECK_ALLCLOSE(ops::batchnorm_forward_eval(ctx, x, gamma, beta, rm1, rv1, 1e-5f, act), relu ? ops::relu(ctx, ze) : ops::silu(ctx, ze),
                     0.0, 0.0);
    }
  }
}
