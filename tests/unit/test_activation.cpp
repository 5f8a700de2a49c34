// Activations on the CPU backend: values, backward formulas against finite differences, validation.
#include <cmath>

#include "engine/ops/activation.h"
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
