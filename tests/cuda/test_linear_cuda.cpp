// The fully connected layer on CUDA (cuBLASLt fused bias, cuBLAS backward) against OpenBLAS on the CPU.
#include <cmath>

#include "engine/ops/basic.h"
#include "engine/ops/linear.h"
#include "support/testing.h"

using namespace cmt;

TEST_CASE("linear CUDA equals the CPU on small integers (exact fp32), with and without bias") {
  Context gpu(Device::cuda(0)), cpu(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 44);
  const auto G = [&](const Tensor& t) { return t.to(gpu.device()); };
  struct Dims {
    std::int64_t n, in, out;
  };
  for (Dims d : {Dims{1, 1, 1}, Dims{8, 4096, 2}, Dims{32, 2048, 3}, Dims{17, 33, 65}, Dims{64, 25088, 64}}) {
    for (bool bias : {true, false}) {
      Tensor x = test::random_small_ints(Shape{d.n, d.in}, gen, 2), w = test::random_small_ints(Shape{d.out, d.in}, gen, 2);
      Tensor b = bias ? test::random_small_ints(Shape{d.out}, gen) : Tensor();
      Tensor dy = test::random_small_ints(Shape{d.n, d.out}, gen, 2);
      CHECK_ALLCLOSE(ops::linear_forward(gpu, G(x), G(w), bias ? G(b) : Tensor()), ops::linear_forward(cpu, x, w, b), 0.0,
                     0.0);
      auto gc = ops::linear_backward(cpu, dy, x, w, bias);
      auto gg = ops::linear_backward(gpu, G(dy), G(x), G(w), bias);
      CHECK_ALLCLOSE(gg.dx, gc.dx, 0.0, 0.0);
      CHECK_ALLCLOSE(gg.dw, gc.dw, 0.0, 0.0);
      CHECK(gg.db.defined() == bias);
      if (bias) CHECK_ALLCLOSE(gg.db, gc.db, 0.0, 0.0);
    }
  }
}

TEST_CASE("linear CUDA with tf32 stays within tf32 rounding of the CPU") {
  Context gpu(Device::cuda(0), PrecisionPolicy{ComputePrecision::tf32}), cpu(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 45);
  Tensor x = test::random_normal(Shape{16, 512}, gen), w = test::random_normal(Shape{10, 512}, gen, 0.05f);
  Tensor b = test::random_normal(Shape{10}, gen);
  CHECK_ALLCLOSE(ops::linear_forward(gpu, x.to(gpu.device()), w.to(gpu.device()), b.to(gpu.device())),
                 ops::linear_forward(cpu, x, w, b), 2e-2, 2e-2);
}

TEST_CASE("linear CUDA accepts row views that are not 16-byte aligned") {
  Context gpu(Device::cuda(0)), cpu(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 50);
  Tensor all = test::random_small_ints(Shape{9, 3}, gen);
  Tensor w = test::random_small_ints(Shape{5, 3}, gen), b = test::random_small_ints(Shape{5}, gen);
  Tensor xg = all.to(gpu.device()).narrow(1, 8);  // starts 12 bytes in
  CHECK_ALLCLOSE(ops::linear_forward(gpu, xg, w.to(gpu.device()), b.to(gpu.device())),
                 ops::linear_forward(cpu, all.narrow(1, 8), w, b), 0.0, 0.0);
}

TEST_CASE("bf16 linear CUDA (bf16 GEMMs, fp32 accumulation) matches the CPU within one bf16 rounding") {
  Context gpu(Device::cuda(0)), cpu(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 56);
  const auto G = [&](const Tensor& t) { return t.to(gpu.device()); };
  const auto bf16 = [&](const Shape& s) { return ops::cast(cpu, test::random_normal(s, gen), DType::bf16); };
  struct Dims {
    std::int64_t n, in, out;
  };
  for (Dims d : {Dims{8, 96, 24}, Dims{8, 24, 96}, Dims{16, 2048, 64}, Dims{3, 5, 7}}) {  // SE's fc1/fc2, a latent, odd sizes
    INFO(d.n << "x" << d.in << "->" << d.out);
    const Tensor x = bf16(Shape{d.n, d.in}), w = bf16(Shape{d.out, d.in}), b = bf16(Shape{d.out}), dy = bf16(Shape{d.n, d.out});
    // Sums of d.in products in another order: the float results differ by ~1e-6 relative before the
    // one rounding to bf16, so the bf16 values are equal or neighbours (2^-7 relative), near 0 within atol.
    const double ulp = 1.0 / 128, atol = 1e-4 * std::sqrt(static_cast<double>(std::max(d.in, d.n)));
    const Tensor yg = ops::linear_forward(gpu, G(x), G(w), G(b));
    CHECK(yg.dtype() == DType::bf16);
    CHECK_ALLCLOSE(yg, ops::linear_forward(cpu, x, w, b), atol, ulp);
    const auto gc = ops::linear_backward(cpu, dy, x, w, true);
    const auto gg = ops::linear_backward(gpu, G(dy), G(x), G(w), true);
    CHECK_ALLCLOSE(gg.dx, gc.dx, atol, ulp);
    CHECK_ALLCLOSE(gg.dw, gc.dw, atol, ulp);
    CHECK_ALLCLOSE(gg.db, gc.db, atol, ulp);
  }
}
