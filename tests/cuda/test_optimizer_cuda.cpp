// Adam/AdamW and gradient clipping on CUDA against the CPU backend, including the bf16 copy and odd sizes.
#include "engine/optimizer.h"
#include "support/testing.h"

using namespace cmt;

TEST_CASE("Adam/AdamW CUDA steps match the CPU, one launch over the flat block") {
  Context gpu(Device::cuda(0)), cpu(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 48);
  for (std::int64_t n : {1, 5, 1003, 1 << 20}) {
    for (bool decoupled : {false, true}) {
      AdamConfig cfg;
      cfg.weight_decay = 0.01;
      cfg.decoupled = decoupled;
      Tensor pc = test::random_normal(Shape{n}, gen);
      Tensor pg = pc.to(gpu.device());
      Tensor bc = Tensor::empty(Shape{n}, DType::bf16), bg = Tensor::empty(Shape{n}, DType::bf16, gpu.device());
      Adam ac(cpu, n, cfg), ag(gpu, n, cfg);
      for (int t = 0; t < 5; ++t) {
        Tensor g = test::random_normal(Shape{n}, gen);
        ac.step(cpu, pc, g, 1e-2f / static_cast<float>(t + 1), bc);
        ag.step(gpu, pg, g.to(gpu.device()), 1e-2f / static_cast<float>(t + 1), bg);
      }
      CHECK(ag.steps() == 5);
      CHECK_ALLCLOSE(pg, pc, 1e-7, 1e-6);
      CHECK_ALLCLOSE(ag.m(), ac.m(), 1e-7, 1e-5);
      CHECK_ALLCLOSE(ag.v(), ac.v(), 1e-9, 1e-5);
      CHECK_ALLCLOSE(bg, bc, 0.0, 1e-2);
    }
  }
  // A misaligned view (offset 1 element) takes the scalar path.
  Tensor big = test::random_normal(Shape{1001}, gen);
  Tensor pc = big.narrow(1, 1000), pg = big.to(gpu.device()).narrow(1, 1000);
  Tensor g = test::random_normal(Shape{1000}, gen);
  Adam ac(cpu, 1000, {}), ag(gpu, 1000, {});
  ac.step(cpu, pc, g, 1e-3f);
  ag.step(gpu, pg, g.to(gpu.device()), 1e-3f);
  CHECK_ALLCLOSE(pg, pc, 1e-7, 1e-6);
}

TEST_CASE("clip_grad_norm CUDA matches the CPU") {
  Context gpu(Device::cuda(0)), cpu(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 49);
  Tensor gc = test::random_normal(Shape{3000001}, gen);
  Tensor gg = gc.to(gpu.device());
  const float nc = clip_grad_norm(cpu, gc, 10.f), ng = clip_grad_norm(gpu, gg, 10.f);
  CHECK(ng == doctest::Approx(nc).epsilon(1e-6));
  CHECK_ALLCLOSE(gg, gc, 1e-7, 1e-5);
}
