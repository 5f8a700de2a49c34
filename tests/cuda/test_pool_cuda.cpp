// Pooling on CUDA against the CPU backend (small-integer inputs where fp32 sums are exact).
#include "engine/ops/basic.h"
#include "engine/ops/pool.h"
#include "support/testing.h"

using namespace cmt;

TEST_CASE("max/avg/adaptive/global pooling CUDA equals the CPU") {
  Context gpu(Device::cuda(0)), cpu(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 41);
  struct Case {
    Shape s;
    ops::PoolParams p;
  };
  const std::int64_t stem = test::on_emulator(112, 2);  // the stem's window and stride at half the side on the emulator
  const Case cases[] = {
      {Shape{2, 1, stem, stem, 64}, {{1, 3, 3}, {1, 2, 2}, {0, 1, 1}}},  // ResNet stem
      {Shape{2, 1, 28, 28, 128}, {{1, 2, 2}, {1, 2, 2}, {0, 0, 0}}},   // VGG
      {Shape{1, 17, 15, 13, 8}, {{3, 3, 3}, {2, 2, 2}, {1, 1, 1}}},    // 3D, odd sizes
      {Shape{3, 4, 5, 6, 1}, {{2, 2, 2}, {1, 1, 1}, {1, 1, 0}}},
  };
  const auto G = [&](const Tensor& t) { return t.to(gpu.device()); };
  for (const Case& k : cases) {
    Tensor x = test::random_small_ints(k.s, gen, 8);
    Tensor am_c, am_g;
    Tensor yc = ops::maxpool_forward(cpu, x, k.p, am_c);
    Tensor yg = ops::maxpool_forward(gpu, G(x), k.p, am_g);
    CHECK_ALLCLOSE(yg, yc, 0.0, 0.0);
    CHECK(am_g.to_vector<std::int32_t>() == am_c.to_vector<std::int32_t>());
    Tensor dy = test::random_small_ints(yc.shape(), gen, 4);
    CHECK_ALLCLOSE(ops::maxpool_backward(gpu, G(dy), am_g, k.s, k.p), ops::maxpool_backward(cpu, dy, am_c, k.s, k.p), 0.0, 0.0);
    // Average pooling divides: Gaussian inputs, the same summation order on both sides.
    Tensor xn = test::random_normal(k.s, gen);
    CHECK_ALLCLOSE(ops::avgpool_forward(gpu, G(xn), k.p), ops::avgpool_forward(cpu, xn, k.p), 1e-6, 1e-5);
    Tensor dyn = test::random_normal(yc.shape(), gen);
    CHECK_ALLCLOSE(ops::avgpool_backward(gpu, G(dyn), k.s, k.p), ops::avgpool_backward(cpu, dyn, k.s, k.p), 1e-6, 1e-5);
    for (std::array<int, 3> o : {std::array<int, 3>{1, 7, 7}, std::array<int, 3>{2, 3, 5}}) {
      CHECK_ALLCLOSE(ops::adaptive_avgpool_forward(gpu, G(xn), o), ops::adaptive_avgpool_forward(cpu, xn, o), 1e-6, 1e-5);
      Tensor d = test::random_normal(Shape{k.s[0], o[0], o[1], o[2], k.s[4]}, gen);
      CHECK_ALLCLOSE(ops::adaptive_avgpool_backward(gpu, G(d), k.s), ops::adaptive_avgpool_backward(cpu, d, k.s), 1e-6,
                     1e-5);
    }
    CHECK_ALLCLOSE(ops::global_avgpool_forward(gpu, G(xn)), ops::global_avgpool_forward(cpu, xn), 1e-6, 1e-5);
    Tensor dg = test::random_normal(Shape{k.s[0], k.s[4]}, gen);
    CHECK_ALLCLOSE(ops::global_avgpool_backward(gpu, G(dg), k.s), ops::global_avgpool_backward(cpu, dg, k.s), 1e-7, 1e-6);
  }
}

TEST_CASE("bf16 pooling CUDA matches the CPU within one bf16 rounding, 2D and 3D") {
  Context gpu(Device::cuda(0)), cpu(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 53);
  const auto G = [&](const Tensor& t) { return t.to(gpu.device()); };
  const auto bf16 = [&](const Shape& s) { return ops::cast(cpu, test::random_normal(s, gen, 2.f), DType::bf16); };
  // Float sums in another order can round to the neighbouring bf16 value: one bf16 ulp (2^-7 relative).
  const double ulp = 1.0 / 128, atol = 1e-5;
  struct Case {
    Shape s;
    ops::PoolParams p;
  };
  const Case cases[] = {{Shape{2, 1, 112, 112, 16}, {{1, 3, 3}, {1, 2, 2}, {0, 1, 1}}},
                        {Shape{1, 17, 15, 13, 8}, {{3, 3, 3}, {2, 2, 2}, {1, 1, 1}}},
                        {Shape{2, 8, 8, 8, 32}, {{2, 2, 2}, {2, 2, 2}, {0, 0, 0}}}};
  for (const Case& k : cases) {
    INFO(k.s.str());
    const Tensor x = bf16(k.s);
    Tensor am_c, am_g;
    const Tensor yc = ops::maxpool_forward(cpu, x, k.p, am_c);
    const Tensor yg = ops::maxpool_forward(gpu, G(x), k.p, am_g);
    CHECK(yg.dtype() == DType::bf16);
    CHECK_ALLCLOSE(yg, yc, 0.0, 0.0);  // a maximum is exact
    CHECK(am_g.to_vector<std::int32_t>() == am_c.to_vector<std::int32_t>());
    const Tensor dy = bf16(yc.shape());
    CHECK_ALLCLOSE(ops::maxpool_backward(gpu, G(dy), am_g, k.s, k.p), ops::maxpool_backward(cpu, dy, am_c, k.s, k.p), atol, ulp);
    CHECK_ALLCLOSE(ops::avgpool_forward(gpu, G(x), k.p), ops::avgpool_forward(cpu, x, k.p), atol, ulp);
    CHECK_ALLCLOSE(ops::avgpool_backward(gpu, G(dy), k.s, k.p), ops::avgpool_backward(cpu, dy, k.s, k.p), atol, ulp);
    const std::array<int, 3> bins{k.s[1] > 1 ? 2 : 1, 7, 5};
    CHECK_ALLCLOSE(ops::adaptive_avgpool_forward(gpu, G(x), bins), ops::adaptive_avgpool_forward(cpu, x, bins), atol, ulp);
    const Tensor da = bf16(Shape{k.s[0], bins[0], bins[1], bins[2], k.s[4]});
    CHECK_ALLCLOSE(ops::adaptive_avgpool_backward(gpu, G(da), k.s), ops::adaptive_avgpool_backward(cpu, da, k.s), atol, ulp);
    CHECK_ALLCLOSE(ops::global_avgpool_forward(gpu, G(x)), ops::global_avgpool_forward(cpu, x), atol, ulp);
    const Tensor dg = bf16(Shape{k.s[0], k.s[4]});
    CHECK_ALLCLOSE(ops::global_avgpool_backward(gpu, G(dg), k.s), ops::global_avgpool_backward(cpu, dg, k.s), atol, ulp);
  }
}
