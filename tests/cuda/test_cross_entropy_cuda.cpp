// Softmax cross-entropy on CUDA against the CPU backend, weighted and smoothed.
#include "engine/ops/basic.h"
#include "engine/ops/cross_entropy.h"
#include "support/testing.h"

using namespace cmt;

TEST_CASE("cross-entropy CUDA matches the CPU: loss, probabilities, gradient") {
  Context gpu(Device::cuda(0)), cpu(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 47);
  const auto G = [&](const Tensor& t) { return t.to(gpu.device()); };
  for (std::int64_t n : {1, 7, 256, 1000}) {
    for (std::int64_t k : {2, 3, 10}) {
      Tensor logits = test::random_normal(Shape{n, k}, gen, 3.f);
      std::vector<std::int32_t> lv(static_cast<std::size_t>(n));
      for (auto& l : lv) l = static_cast<std::int32_t>(gen() % static_cast<std::uint64_t>(k));
      Tensor labels = Tensor::from_vector(lv, Shape{n});
      Tensor w = test::random_normal(Shape{k}, gen);
      for (std::int64_t j = 0; j < k; ++j) w.data<float>()[j] = 0.2f + std::fabs(w.data<float>()[j]);
      for (bool weighted : {false, true}) {
        for (float ls : {0.f, 0.1f}) {
          const Tensor wc = weighted ? w : Tensor(), wg = weighted ? G(w) : Tensor();
          auto rc = ops::cross_entropy_forward(cpu, logits, labels, wc, ls);
          auto rg = ops::cross_entropy_forward(gpu, G(logits), G(labels), wg, ls);
          CHECK(ops::item(rg.loss) == doctest::Approx(ops::item(rc.loss)).epsilon(1e-6));
          CHECK_ALLCLOSE(rg.probs, rc.probs, 1e-7, 1e-6);
          CHECK_ALLCLOSE(ops::cross_entropy_backward(gpu, rg, G(labels), wg, ls, 0.7f),
                         ops::cross_entropy_backward(cpu, rc, labels, wc, ls, 0.7f), 1e-7, 1e-5);
        }
      }
    }
  }
}
