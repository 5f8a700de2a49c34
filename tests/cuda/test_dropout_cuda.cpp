// Dropout and stochastic depth on CUDA draw exactly the CPU's Philox masks.
#include "engine/ops/basic.h"
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

TEST_CASE("bf16 dropout and stochastic depth on CUDA equal the CPU exactly") {
  Context gpu(Device::cuda(0)), cpu(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 54);
  const Tensor x = ops::cast(cpu, test::random_normal(Shape{8, 3, 9, 9, 40}, gen), DType::bf16);
  const Tensor xg = x.to(gpu.device());
  const std::uint64_t seed = gen();
  Tensor mc, mg;
  const Tensor yg = ops::dropout_forward(gpu, xg, 0.4f, seed, 1, 2, 3, mg);
  CHECK(yg.dtype() == DType::bf16);
  CHECK_ALLCLOSE(yg, ops::dropout_forward(cpu, x, 0.4f, seed, 1, 2, 3, mc), 0.0, 0.0);  // one float multiply, one rounding
  CHECK(mg.to_vector<std::uint8_t>() == mc.to_vector<std::uint8_t>());
  CHECK_ALLCLOSE(ops::dropout_backward(gpu, xg, mg, 0.4f), ops::dropout_backward(cpu, x, mc, 0.4f), 0.0, 0.0);
  Tensor kc, kg;
  CHECK_ALLCLOSE(ops::stochastic_depth_forward(gpu, xg, 0.3f, seed, 0, 5, 7, kg), ops::stochastic_depth_forward(cpu, x, 0.3f, seed, 0, 5, 7, kc),
                 0.0, 0.0);
  CHECK_ALLCLOSE(ops::stochastic_depth_backward(gpu, xg, kg, 0.3f), ops::stochastic_depth_backward(cpu, x, kc, 0.3f), 0.0, 0.0);
}
