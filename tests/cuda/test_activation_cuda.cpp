// Activations, elementwise and row ops on CUDA against the CPU backend.
#include "engine/ops/activation.h"
#include "engine/ops/basic.h"
#include "engine/ops/elementwise.h"
#include "support/testing.h"

using namespace cmt;

TEST_CASE("relu/silu/sigmoid CUDA match the CPU, forward and backward") {
  Context gpu(Device::cuda(0)), cpu(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 42);
  const auto G = [&](const Tensor& t) { return t.to(gpu.device()); };
  for (std::int64_t n : {std::int64_t{1}, std::int64_t{1000}, test::on_emulator(1 << 20, 16)}) {  // 256 blocks on the emulator
    Tensor x = test::random_normal(Shape{n}, gen, 4.f), dy = test::random_normal(Shape{n}, gen);
    Tensor yc = ops::relu(cpu, x);
    CHECK_ALLCLOSE(ops::relu(gpu, G(x)), yc, 0.0, 0.0);
    CHECK_ALLCLOSE(ops::relu_backward(gpu, G(dy), G(yc)), ops::relu_backward(cpu, dy, yc), 0.0, 0.0);
    CHECK_ALLCLOSE(ops::silu(gpu, G(x)), ops::silu(cpu, x), 1e-6, 1e-5);
    CHECK_ALLCLOSE(ops::silu_backward(gpu, G(dy), G(x)), ops::silu_backward(cpu, dy, x), 1e-6, 1e-5);
    Tensor sc = ops::sigmoid(cpu, x);
    CHECK_ALLCLOSE(ops::sigmoid(gpu, G(x)), sc, 1e-6, 1e-5);
    CHECK_ALLCLOSE(ops::sigmoid_backward(gpu, G(dy), G(sc)), ops::sigmoid_backward(cpu, dy, sc), 1e-7, 1e-5);
  }
}

TEST_CASE("add, scale, channel scale, concat and L2-normalise CUDA match the CPU") {
  Context gpu(Device::cuda(0)), cpu(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 43);
  const auto G = [&](const Tensor& t) { return t.to(gpu.device()); };
  for (Shape s : {Shape{2, 1, 7, 7, 3}, Shape{4, 1, 14, 14, 672}, Shape{2, 4, 8, 8, 96}}) {
    Tensor a = test::random_small_ints(s, gen), b = test::random_small_ints(s, gen);
    CHECK_ALLCLOSE(ops::add(gpu, G(a), G(b)), ops::add(cpu, a, b), 0.0, 0.0);
    Tensor ag = G(a);
    ops::add_(gpu, ag, G(b));
    CHECK_ALLCLOSE(ag, ops::add(cpu, a, b), 0.0, 0.0);
    CHECK_ALLCLOSE(ops::scale(gpu, G(a), 0.5f), ops::scale(cpu, a, 0.5f), 0.0, 0.0);
    Tensor sc = test::random_small_ints(Shape{s[0], s[4]}, gen);
    CHECK_ALLCLOSE(ops::channel_scale(gpu, G(a), G(sc)), ops::channel_scale(cpu, a, sc), 0.0, 0.0);
    auto gc = ops::channel_scale_backward(cpu, b, a, sc);
    auto gg = ops::channel_scale_backward(gpu, G(b), G(a), G(sc));
    CHECK_ALLCLOSE(gg.dx, gc.dx, 0.0, 0.0);
    CHECK_ALLCLOSE(gg.ds, gc.ds, 0.0, 0.0);  // integer sums below 2^24: exact in any order
    CHECK_ALLCLOSE(ops::concat_rows(gpu, G(a), G(b)), ops::concat_rows(cpu, a, b), 0.0, 0.0);
  }
  for (Shape s : {Shape{1, 1}, Shape{64, 4096}, Shape{7, 129}}) {
    Tensor x = test::random_normal(s, gen), dy = test::random_normal(s, gen);
    CHECK_ALLCLOSE(ops::l2_normalize_rows(gpu, G(x), 1e-12f), ops::l2_normalize_rows(cpu, x, 1e-12f), 1e-7, 1e-5);
    CHECK_ALLCLOSE(ops::l2_normalize_rows_backward(gpu, G(dy), G(x), 1e-12f),
                   ops::l2_normalize_rows_backward(cpu, dy, x, 1e-12f), 1e-6, 1e-4);
  }
}

TEST_CASE("bf16 activations and add CUDA match the CPU") {
  Context gpu(Device::cuda(0)), cpu(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 52);
  const auto G = [&](const Tensor& t) { return t.to(gpu.device()); };
  const std::int64_t n = test::emulated() ? 65537 : 1000003;  // odd: a partial last block
  Tensor x = ops::cast(cpu, test::random_normal(Shape{n}, gen, 3.f), DType::bf16);
  Tensor dy = ops::cast(cpu, test::random_normal(Shape{n}, gen), DType::bf16);
  CHECK_ALLCLOSE(ops::relu(gpu, G(x)), ops::relu(cpu, x), 0.0, 0.0);
  CHECK_ALLCLOSE(ops::add(gpu, G(x), G(dy)), ops::add(cpu, x, dy), 0.0, 0.0);
  // expf differs from the host's exp by an ulp of float: at most one bf16 rounding step apart.
  CHECK_ALLCLOSE(ops::silu(gpu, G(x)), ops::silu(cpu, x), 1e-6, 8e-3);
  CHECK_ALLCLOSE(ops::sigmoid(gpu, G(x)), ops::sigmoid(cpu, x), 1e-6, 8e-3);
  CHECK_ALLCLOSE(ops::silu_backward(gpu, G(dy), G(x)), ops::silu_backward(cpu, dy, x), 1e-6, 8e-3);
}

TEST_CASE("bf16 channel scale CUDA matches the CPU (squeeze-excitation shapes, 2D and 3D)") {
  Context gpu(Device::cuda(0)), cpu(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 55);
  const auto G = [&](const Tensor& t) { return t.to(gpu.device()); };
  const auto bf16 = [&](const Shape& s) { return ops::cast(cpu, test::random_normal(s, gen), DType::bf16); };
  for (Shape s : {Shape{4, 1, 14, 14, 672}, Shape{2, 8, 8, 8, 96}}) {
    const Tensor x = bf16(s), dy = bf16(s), sc = bf16(Shape{s[0], s[4]});
    CHECK_ALLCLOSE(ops::channel_scale(gpu, G(x), G(sc)), ops::channel_scale(cpu, x, sc), 0.0, 0.0);
    const auto gc = ops::channel_scale_backward(cpu, dy, x, sc);
    const auto gg = ops::channel_scale_backward(gpu, G(dy), G(x), G(sc));
    CHECK(gg.ds.dtype() == DType::bf16);
    CHECK_ALLCLOSE(gg.dx, gc.dx, 0.0, 0.0);
    CHECK_ALLCLOSE(gg.ds, gc.ds, 1e-4, 1.0 / 128);  // float partial sums vs the CPU's double: one bf16 ulp
  }
}
