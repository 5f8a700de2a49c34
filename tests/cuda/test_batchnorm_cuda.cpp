// Batch normalisation on CUDA against the CPU backend: forward (train, eval), running stats, backward.
#include "engine/ops/basic.h"
#include "engine/ops/batchnorm.h"
#include "support/testing.h"

using namespace cmt;

TEST_CASE("batchnorm CUDA matches the CPU on real-sized and odd shapes") {
  Context gpu(Device::cuda(0)), cpu(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 40);
  const std::int64_t side = test::on_emulator(56, 2);  // still ~100 chunks of rows on the emulator
  for (Shape s : {Shape{2, 1, 5, 7, 3}, Shape{8, 1, side, side, 64}, Shape{2, 8, 16, 16, 32}, Shape{3, 1, 1, 1, 33},
                  Shape{1, 1, 7, 7, 2048}}) {
    const std::int64_t c = s[4];
    Tensor x = test::random_normal(s, gen, 2.f), dy = test::random_normal(s, gen);
    Tensor gamma = test::random_normal(Shape{c}, gen), beta = test::random_normal(Shape{c}, gen);
    Tensor rm = test::random_normal(Shape{c}, gen), rv = test::random_normal(Shape{c}, gen, 0.1f);
    float* rvp = rv.data<float>();
    for (std::int64_t j = 0; j < c; ++j) rvp[j] = 1.f + std::fabs(rvp[j]);
    const auto G = [&](const Tensor& t) { return t.to(gpu.device()); };
    Tensor rm_g = G(rm), rv_g = G(rv);
    ops::BatchNormSaved sc, sg;
    Tensor yc = ops::batchnorm_forward_train(cpu, x, gamma, beta, rm, rv, 0.1f, 1e-5f, sc);
    Tensor yg = ops::batchnorm_forward_train(gpu, G(x), G(gamma), G(beta), rm_g, rv_g, 0.1f, 1e-5f, sg);
    CHECK_ALLCLOSE(yg, yc, 1e-4, 1e-4);
    CHECK_ALLCLOSE(rm_g, rm, 1e-6, 1e-5);
    CHECK_ALLCLOSE(rv_g, rv, 1e-6, 1e-5);
    CHECK_ALLCLOSE(sg.mean, sc.mean, 1e-6, 1e-5);
    CHECK_ALLCLOSE(sg.invstd, sc.invstd, 1e-6, 1e-5);
    auto gc = ops::batchnorm_backward(cpu, dy, x, gamma, sc);
    auto gg = ops::batchnorm_backward(gpu, G(dy), G(x), G(gamma), sg);
    CHECK_ALLCLOSE(gg.dbeta, gc.dbeta, 1e-3, 1e-4);
    CHECK_ALLCLOSE(gg.dgamma, gc.dgamma, 1e-3, 1e-4);
    CHECK_ALLCLOSE(gg.dx, gc.dx, 1e-4, 1e-3);
    Tensor ec = ops::batchnorm_forward_eval(cpu, x, gamma, beta, rm, rv, 1e-3f);
    Tensor eg = ops::batchnorm_forward_eval(gpu, G(x), G(gamma), G(beta), rm_g, rv_g, 1e-3f);
    CHECK_ALLCLOSE(eg, ec, 1e-5, 1e-5);
  }
}

TEST_CASE("batchnorm CUDA refuses N*D*H*W == 1 and CPU tensors") {
  Context gpu(Device::cuda(0));
  Tensor x = Tensor::empty(Shape{1, 1, 1, 1, 4}, DType::f32, gpu.device());
  Tensor v = Tensor::empty(Shape{4}, DType::f32, gpu.device());
  ops::BatchNormSaved saved;
  CHECK_THROWS_WITH_AS(ops::batchnorm_forward_train(gpu, x, v, v, v, v, 0.1f, 1e-5f, saved),
                       doctest::Contains("more than 1 value per channel"), Error);
  Tensor xc = Tensor::empty(Shape{2, 1, 1, 1, 4}, DType::f32);
  CHECK_THROWS_WITH_AS(ops::batchnorm_forward_eval(gpu, xc, v, v, v, v, 1e-5f), doctest::Contains("'x' is on cpu"), Error);
}

TEST_CASE("batchnorm CUDA statistics stay accurate when the mean is far from zero") {
  Context gpu(Device::cuda(0)), cpu(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 51);
  const Shape s{16, 1, 32, 32, 48};
  Tensor x = test::random_normal(s, gen);
  for (std::int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] += 50.f;  // Σx² − (Σx)² would lose everything
  Tensor gamma = test::random_normal(Shape{48}, gen), beta = test::random_normal(Shape{48}, gen);
  Tensor rm = Tensor::from_vector(std::vector<float>(48, 0.f), Shape{48}), rv = Tensor::from_vector(std::vector<float>(48, 1.f), Shape{48});
  Tensor rm_g = rm.to(gpu.device()), rv_g = rv.to(gpu.device());
  ops::BatchNormSaved sc, sg;
  Tensor yc = ops::batchnorm_forward_train(cpu, x, gamma, beta, rm, rv, 0.1f, 1e-5f, sc);
  Tensor yg = ops::batchnorm_forward_train(gpu, x.to(gpu.device()), gamma.to(gpu.device()), beta.to(gpu.device()), rm_g,
                                           rv_g, 0.1f, 1e-5f, sg);
  CHECK_ALLCLOSE(sg.mean, sc.mean, 1e-5, 1e-6);
  CHECK_ALLCLOSE(sg.invstd, sc.invstd, 0.0, 1e-3);
  CHECK_ALLCLOSE(yg, yc, 2e-3, 1e-3);
}

TEST_CASE("batchnorm CUDA on bf16 data matches the CPU within one bf16 rounding") {
  Context gpu(Device::cuda(0)), cpu(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 53);
  const Shape s{8, 1, 28, 28, 96};
  Tensor x = ops::cast(cpu, test::random_normal(s, gen, 2.f), DType::bf16);
  Tensor dy = ops::cast(cpu, test::random_normal(s, gen), DType::bf16);
  Tensor gamma = test::random_normal(Shape{96}, gen), beta = test::random_normal(Shape{96}, gen);
  const auto G = [&](const Tensor& t) { return t.to(gpu.device()); };
  Tensor rm = Tensor::from_vector(std::vector<float>(96, 0.f), Shape{96}), rv = Tensor::from_vector(std::vector<float>(96, 1.f), Shape{96});
  Tensor rm_g = G(rm), rv_g = G(rv);
  ops::BatchNormSaved sc, sg;
  Tensor yc = ops::batchnorm_forward_train(cpu, x, gamma, beta, rm, rv, 0.1f, 1e-5f, sc);
  Tensor yg = ops::batchnorm_forward_train(gpu, G(x), G(gamma), G(beta), rm_g, rv_g, 0.1f, 1e-5f, sg);
  CHECK(yg.dtype() == DType::bf16);
  CHECK_ALLCLOSE(yg, yc, 1e-2, 8e-3);
  CHECK_ALLCLOSE(sg.invstd, sc.invstd, 1e-6, 1e-5);
  auto gc = ops::batchnorm_backward(cpu, dy, x, gamma, sc);
  auto gg = ops::batchnorm_backward(gpu, G(dy), G(x), G(gamma), sg);
  CHECK_ALLCLOSE(gg.dgamma, gc.dgamma, 1e-3, 1e-4);
  CHECK_ALLCLOSE(gg.dx, gc.dx, 1e-2, 8e-3);
}
