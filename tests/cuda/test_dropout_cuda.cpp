// Dropout and stochastic depth on CUDA draw exactly the CPU's Philox masks.
#include "engine/ops/dropout.h"
#include "support/testing.h"

using namespace cmt;

TEST_CASE("dropout and stochastic depth masks and outputs are identical on CUDA and CPU") {
  Context gpu(Device::cuda(0)), cpu(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 46);
  for (std::int64_t n : {1, 7, 4096, 1000003}) {
    Tensor x = test::random_normal(Shape{n}, gen), dy = test::random_normal(Shape{n}, gen);
    for (float p : {0.f, 0.2f, 0.5f}) {
      const std::uint64_t seed = gen();
      Tensor mc, mg;
      Tensor yc = ops::dropout_forward(cpu, x, p, seed, 2, 11, 5, mc);
      Tensor yg = ops::dropout_forward(gpu, x.to(gpu.device()), p, seed, 2, 11, 5, mg);
      CHECK(mg.to_vector<std::uint8_t>() == mc.to_vector<std::uint8_t>());
      CHECK_ALLCLOSE(yg, yc, 0.0, 0.0);
      CHECK_ALLCLOSE(ops::dropout_backward(gpu, dy.to(gpu.device()), mg, p), ops::dropout_backward(cpu, dy, mc, p), 0.0, 0.0);
    }
  }
  Tensor x = test::random_normal(Shape{64, 1, 4, 4, 8}, gen);
  Tensor kc, kg;
  Tensor yc = ops::stochastic_depth_forward(cpu, x, 0.3f, 99, 1, 2, 3, kc);
  Tensor yg = ops::stochastic_depth_forward(gpu, x.to(gpu.device()), 0.3f, 99, 1, 2, 3, kg);
  CHECK(kg.to_vector<std::uint8_t>() == kc.to_vector<std::uint8_t>());
  CHECK_ALLCLOSE(yg, yc, 0.0, 0.0);
  CHECK_ALLCLOSE(ops::stochastic_depth_backward(gpu, yg, kg, 0.3f), ops::stochastic_depth_backward(cpu, yc, kc, 0.3f), 0.0, 0.0);
}
