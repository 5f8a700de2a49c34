// Activations on the CPU backend: values, backward formulas against finite differences, validation.
#include <cmath>

#include "engine/ops/activation.h"
#include "engine/ops/basic.h"
#include "engine/ops/elementwise.h"
#include "engine/layers/activation.h"
#include "support/testing.h"

using namespace cmt;

TEST_CASE("relu/silu/sigmoid values and their backward passes match finite differences") {
  Context ctx(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 14);
  Tensor x = test::random_normal(Shape{3, 77}, gen, 3.f), dy = test::random_normal(Shape{3, 77}, gen);
  const auto xv = x.to_vector<float>();
  Tensor r = ops::relu(ctx, x), s = ops::silu(ctx, x), g = ops::sigmoid(ctx, x);
  Tensor dr = ops::relu_backward(ctx, dy, r), ds = ops::silu_backward(ctx, dy, x), dg = ops::sigmoid_backward(ctx, dy, g);
  const double h = 1e-3;
  const auto sig = [](double v) { return 1.0 / (1.0 + std::exp(-v)); };
  for (std::size_t i = 0; i < xv.size(); ++i) {
    const double v = xv[i], d = dy.data<float>()[i];
    CHECK(r.data<float>()[i] == (v > 0 ? static_cast<float>(v) : 0.f));
    CHECK(s.data<float>()[i] == doctest::Approx(v * sig(v)).epsilon(1e-6).scale(1.0));
    CHECK(g.data<float>()[i] == doctest::Approx(sig(v)).epsilon(1e-6));
    CHECK(dr.data<float>()[i] == (v > 0 ? static_cast<float>(d) : 0.f));
    const double fs = ((v + h) * sig(v + h) - (v - h) * sig(v - h)) / (2 * h);
    CHECK(ds.data<float>()[i] == doctest::Approx(d * fs).epsilon(1e-4).scale(1.0));
    CHECK(dg.data<float>()[i] == doctest::Approx(d * (sig(v + h) - sig(v - h)) / (2 * h)).epsilon(1e-4).scale(1.0));
  }
  CHECK_THROWS_WITH_AS(ops::relu_backward(ctx, dy, Tensor::empty(Shape{3, 76}, DType::f32)),
                       doctest::Contains("shape mismatch"), Error);
  CHECK_THROWS_WITH_AS(ops::relu(ctx, Tensor::empty(Shape{3}, DType::i32)), doctest::Contains("must be f32"), Error);
}

TEST_CASE("bf16 activations and add compute in float and round once") {
  Context ctx(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 22);
  Tensor x32 = test::random_normal(Shape{2, 3, 4, 5, 6}, gen, 3.f), d32 = test::random_normal(Shape{2, 3, 4, 5, 6}, gen);
  Tensor x = ops::cast(ctx, x32, DType::bf16), dy = ops::cast(ctx, d32, DType::bf16);
  Tensor xw = ops::cast(ctx, x, DType::f32), dw = ops::cast(ctx, dy, DType::f32);  // the exact bf16 values
  const auto same = [&](const Tensor& got, const Tensor& want_f32) {
    CHECK(got.dtype() == DType::bf16);
    CHECK_ALLCLOSE(got, ops::cast(ctx, want_f32, DType::bf16), 0.0, 0.0);
  };
  same(ops::relu(ctx, x), ops::relu(ctx, xw));
  same(ops::silu(ctx, x), ops::silu(ctx, xw));
  same(ops::sigmoid(ctx, x), ops::sigmoid(ctx, xw));
  same(ops::silu_backward(ctx, dy, x), ops::silu_backward(ctx, dw, xw));
  same(ops::relu_backward(ctx, dy, x), ops::relu_backward(ctx, dw, xw));
  same(ops::add(ctx, x, dy), ops::add(ctx, xw, dw));
  CHECK_THROWS_WITH_AS(ops::relu_backward(ctx, dy, xw), doctest::Contains("dtype mismatch"), Error);
}

namespace {
Tensor copy_of(const Tensor& x) { return Tensor::from_vector(x.to_vector<float>(), x.shape()); }
}  // namespace

TEST_CASE("relu and sigmoid in place equal the out-of-place ops; the layer goes in place only on a tensor nothing else holds") {
  Context ctx(Device::cpu());
  ctx.training = true;
  std::mt19937_64 gen(test::run_seed() + 15);
  const Tensor x = test::random_normal(Shape{2, 3, 5, 7, 4}, gen, 2.f);
  for (const bool relu : {true, false}) {
    CAPTURE(relu);
    const Tensor want = relu ? ops::relu(ctx, x) : ops::sigmoid(ctx, x);
    Tensor copy = copy_of(x);
    const Tensor got = relu ? ops::relu(ctx, copy, true) : ops::sigmoid(ctx, copy, true);
    CHECK(got.shares_storage(copy));
    CHECK_ALLCLOSE(got, want, 0.0, 0.0);

    layers::Act act(relu ? layers::Activation::relu : layers::Activation::sigmoid);
    // Held by the caller (and `held`): the layer must leave it alone.
    Tensor held = copy_of(x);
    const Tensor alias = held;
    Tensor y = act.forward(ctx, held);
    CHECK_FALSE(y.shares_storage(held));
    CHECK_ALLCLOSE(held, x, 0.0, 0.0);
    CHECK_ALLCLOSE(y, want, 0.0, 0.0);
    // Only one owner: written in place, and the backward pass (which reads the kept output) is unchanged.
    Tensor sole = copy_of(x);
    const void* before = sole.raw();
    y = act.forward(ctx, sole);
    CHECK(y.raw() == before);
    CHECK_ALLCLOSE(y, want, 0.0, 0.0);
    const Tensor dy = test::random_normal(x.shape(), gen);
    const Tensor want_dx = relu ? ops::relu_backward(ctx, dy, want) : ops::sigmoid_backward(ctx, dy, want);
    // The backward pass likewise: dy held elsewhere stays, a sole dy becomes dx.
    const Tensor dy_alias = dy;
    const Tensor dx = act.backward(ctx, dy);
    CHECK_FALSE(dx.shares_storage(dy));
    CHECK_ALLCLOSE(dx, want_dx, 0.0, 0.0);
    CHECK_ALLCLOSE(dy, copy_of(dy_alias), 0.0, 0.0);
    Tensor fresh = copy_of(x);
    y = act.forward(ctx, fresh);
    Tensor sole_dy = copy_of(dy);
    const void* dy_before = sole_dy.raw();
    const Tensor dx2 = act.backward(ctx, sole_dy);
    CHECK(dx2.raw() == dy_before);
    CHECK_ALLCLOSE(dx2, want_dx, 0.0, 0.0);
  }
  // SiLU keeps its input, so its forward never goes in place; its backward does.
  layers::Act silu(layers::Activation::silu);
  Tensor sole = copy_of(x);
  const Tensor y = silu.forward(ctx, sole);
  CHECK_FALSE(y.shares_storage(sole));
  CHECK_ALLCLOSE(y, ops::silu(ctx, x), 0.0, 0.0);
  const Tensor dy = test::random_normal(x.shape(), gen);
  const Tensor want_dx = ops::silu_backward(ctx, dy, x);
  Tensor sole_dy = copy_of(dy);
  const void* before = sole_dy.raw();
  const Tensor dx = silu.backward(ctx, sole_dy);
  CHECK(dx.raw() == before);
  CHECK_ALLCLOSE(dx, want_dx, 0.0, 0.0);
}

TEST_CASE("sigmoid and silu stay within 4e-7 (3 float ulps) of the float formulas with std::exp over the whole float range") {
  // The CPU kernels use a vectorisable exp; the formulas themselves (1 / (1 + exp(-x)) in float, as
  // on CUDA) are the reference, so sigmoid(-92) is 0 in both (exp(92) overflows float).
  Context ctx(Device::cpu());
  std::vector<float> v;
  for (double a = -120; a <= 120; a += 0.0137) v.push_back(static_cast<float>(a));
  for (float special : {0.f, -0.f, 1e-30f, -1e-30f, 88.f, 88.7f, 88.72f, 89.f, -87.f, -87.4f, -88.f, -104.f, 200.f, -200.f})
    v.push_back(special);
  v.push_back(std::numeric_limits<float>::infinity());
  v.push_back(-std::numeric_limits<float>::infinity());
  v.push_back(std::numeric_limits<float>::quiet_NaN());
  const Tensor x = Tensor::from_vector(v, Shape{static_cast<std::int64_t>(v.size())});
  const auto s = ops::sigmoid(ctx, x).to_vector<float>(), si = ops::silu(ctx, x).to_vector<float>();
  for (std::size_t i = 0; i < v.size(); ++i) {
    CAPTURE(v[i]);
    if (std::isnan(v[i])) {
      CHECK(std::isnan(s[i]));
      CHECK(std::isnan(si[i]));
      continue;
    }
    const float want = 1.0f / (1.0f + std::exp(-v[i]));
    // Near zero the sigmoid is subnormal: two of its last places (1.4e-45 each) are the floor.
    CHECK(std::fabs(static_cast<double>(s[i]) - want) <= 4e-7 * want + 3e-45);
    if (std::isinf(v[i])) continue;  // silu(-inf) = -inf * 0: NaN in any implementation
    const double want_silu = static_cast<double>(v[i]) * want;
    CHECK(std::fabs(si[i] - want_silu) <= 4e-7 * std::fabs(want_silu) + 3e-45 * std::fabs(v[i]));
  }
}
