// The fully connected layer on CUDA (cuBLASLt fused bias, cuBLAS backward) against OpenBLAS on the CPU.
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
