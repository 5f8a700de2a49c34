// Softmax cross-entropy on the CPU backend against the definition in double, and its gradient by finite differences.
#include <cmath>

#include "engine/ops/basic.h"
#include "engine/ops/cross_entropy.h"
#include "support/testing.h"

using namespace cmt;

TEST_CASE("cross-entropy loss, probabilities and gradient with weights and label smoothing") {
  Context ctx(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 20);
  const std::int64_t n = 6, k = 3;
  Tensor logits = test::random_normal(Shape{n, k}, gen, 2.f);
  Tensor labels = Tensor::from_vector<std::int32_t>({0, 2, 1, 1, 0, 2}, Shape{n});
  Tensor w = Tensor::from_vector<float>({0.5f, 2.f, 1.25f}, Shape{k});
  const float ls = 0.1f;
  const auto loss_of = [&](const Tensor& z) {  // the definition, in double
    double total = 0, wsum = 0;
    for (std::int64_t r = 0; r < n; ++r) {
      double se = 0;
      for (std::int64_t j = 0; j < k; ++j) se += std::exp(static_cast<double>(z.data<float>()[r * k + j]));
      const std::int32_t y = labels.data<std::int32_t>()[r];
      for (std::int64_t j = 0; j < k; ++j) {
        const double logp = z.data<float>()[r * k + j] - std::log(se);
        total -= ((j == y ? 1 - ls : 0.0) * w.data<float>()[y] + ls / k * w.data<float>()[j]) * logp;
      }
      wsum += w.data<float>()[y];
    }
    return total / wsum;
  };
  auto r = ops::cross_entropy_forward(ctx, logits, labels, w, ls);
  CHECK(ops::item(r.loss) == doctest::Approx(loss_of(logits)).epsilon(1e-6));
  CHECK(ops::item(r.weight_sum) == doctest::Approx(0.5 + 1.25 + 2 + 2 + 0.5 + 1.25));
  for (std::int64_t row = 0; row < n; ++row) {
    double s = 0;
    for (std::int64_t j = 0; j < k; ++j) s += r.probs.data<float>()[row * k + j];
    CHECK(s == doctest::Approx(1.0).epsilon(1e-6));
  }
  Tensor d = ops::cross_entropy_backward(ctx, r, labels, w, ls, 2.f);
  const float h = 1e-2f;
  for (std::int64_t i = 0; i < n * k; ++i) {
    float& v = logits.data<float>()[i];
    const float old = v;
    v = old + h;
    const double up = loss_of(logits);
    v = old - h;
    const double down = loss_of(logits);
    v = old;
    CHECK(d.data<float>()[i] == doctest::Approx(2 * (up - down) / (2 * h)).epsilon(1e-3).scale(1e-2));
  }
  Tensor bad = Tensor::from_vector<std::int32_t>({0, 3, 1, 1, 0, 2}, Shape{n});
  CHECK_THROWS_WITH_AS(ops::cross_entropy_forward(ctx, logits, bad, w, ls), doctest::Contains("outside [0, 3)"), Error);
}
