// The basic op family on CUDA against the CPU backend, Philox parity and the device allocator.
#include <cstring>

#include "engine/allocator.h"
#include "engine/ops/basic.h"
#include "support/testing.h"

using namespace cmt;

TEST_CASE("fill and copy round-trip every dtype") {
  Context gpu(Device::cuda(0));
  for (DType t : {DType::f32, DType::bf16, DType::f16, DType::u8, DType::i16, DType::i32, DType::i64}) {
    Tensor d = Tensor::empty(Shape{3, 1001}, t, gpu.device());
    ops::fill(gpu, d, 5.0);
    Tensor h = Tensor::empty(Shape{3, 1001}, t);
    ops::copy(gpu, d, h);
    Context cpu(Device::cpu());
    Tensor want = Tensor::empty(Shape{3, 1001}, t);
    ops::fill(cpu, want, 5.0);
    CHECK(std::memcmp(h.raw(), want.raw(), h.nbytes()) == 0);
  }
}

TEST_CASE("cast f32 <-> bf16/f16 is bit-identical to the CPU") {
  Context gpu(Device::cuda(0)), cpu(Device::cpu());
  std::mt19937_64 gen(test::run_seed());
  Tensor x = test::random_normal(Shape{7, 1234}, gen, 100.f);
  for (DType t : {DType::bf16, DType::f16}) {
    Tensor want = ops::cast(cpu, x, t);
    Tensor got = ops::cast(gpu, x.to(gpu.device()), t).to(Device::cpu());
    CHECK(std::memcmp(got.raw(), want.raw(), got.nbytes()) == 0);
    Tensor back_want = ops::cast(cpu, want, DType::f32);
    Tensor back_got = ops::cast(gpu, want.to(gpu.device()), DType::f32);
    CHECK_ALLCLOSE(back_got.to_vector<float>(), back_want.to_vector<float>(), 0.0, 0.0);
  }
}

TEST_CASE("axpy is exact and sum/mean match the double-precision CPU sum") {
  Context gpu(Device::cuda(0)), cpu(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 1);
  for (std::int64_t n : {1, 31, 1000, 65537, 3000001}) {
    Tensor x = test::random_normal(Shape{n}, gen);
    Tensor y = test::random_normal(Shape{n}, gen);
    Tensor yd = y.to(gpu.device());
    ops::axpy(gpu, 0.3f, x.to(gpu.device()), yd);
    ops::axpy(cpu, 0.3f, x, y);
    ops::add_scalar_(gpu, yd, -0.5f);
    ops::add_scalar_(cpu, y, -0.5f);
    CHECK_ALLCLOSE(yd.to_vector<float>(), y.to_vector<float>(), 0.0, 0.0);
    CHECK(ops::item(ops::sum(gpu, yd)) == doctest::Approx(ops::item(ops::sum(cpu, y))).epsilon(1e-6).scale(1.0));
    CHECK(ops::item(ops::mean(gpu, yd)) == doctest::Approx(ops::item(ops::mean(cpu, y))).epsilon(1e-5).scale(1e-3));
  }
}

TEST_CASE("Philox uniform fill is bit-identical to the host, normal within float rounding") {
  Context gpu(Device::cuda(0)), cpu(Device::cpu());
  const std::uint64_t seed = test::run_seed();
  for (std::int64_t n : {1, 7, 4096, 1000003}) {
    Tensor hu = Tensor::empty(Shape{n}, DType::f32);
    Tensor du = Tensor::empty(Shape{n}, DType::f32, gpu.device());
    ops::uniform_(cpu, hu, seed, 9, -2.f, 5.f);
    ops::uniform_(gpu, du, seed, 9, -2.f, 5.f);
    CHECK_ALLCLOSE(du.to_vector<float>(), hu.to_vector<float>(), 0.0, 0.0);
    Tensor hn = Tensor::empty(Shape{n}, DType::f32);
    Tensor dn = Tensor::empty(Shape{n}, DType::f32, gpu.device());
    ops::normal_(cpu, hn, seed, 10, 1.f, 3.f);
    ops::normal_(gpu, dn, seed, 10, 1.f, 3.f);
    CHECK_ALLCLOSE(dn.to_vector<float>(), hn.to_vector<float>(), 1e-5, 1e-5);
  }
}

TEST_CASE("repeated same-shape steps make zero new device allocations") {
  Context gpu(Device::cuda(0));
  // The allocator's reuse does not depend on the size: smaller on the emulator (still many blocks).
  const Shape shape{test::on_emulator(8, 4), 32, 32, 32, 4};
  auto step = [&] {
    Tensor a = Tensor::empty(shape, DType::f32, gpu.device());
    Tensor b = Tensor::empty(shape, DType::f32, gpu.device());
    ops::uniform_(gpu, a, 1, 1);
    ops::fill(gpu, b, 1.0);
    ops::axpy(gpu, 2.f, a, b);
    Tensor h = ops::cast(gpu, b, DType::bf16);
    Tensor s = ops::sum(gpu, b);
    return s;
  };
  ops::item(step());  // warm-up: fills the cache and the workspace
  const AllocatorStats before = device_allocator(0).stats();
  for (int i = 0; i < test::on_emulator(10, 3); ++i) step();
  gpu.synchronize();
  const AllocatorStats after = device_allocator(0).stats();
  CHECK(after.raw_allocations == before.raw_allocations);
  CHECK(after.requests - before.requests == after.cache_hits - before.cache_hits);
  CHECK(after.requests > before.requests);
}

TEST_CASE("axpy of a bf16 x into an f32 y on CUDA equals the CPU exactly") {
  Context gpu(Device::cuda(0)), cpu(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 57);
  const Tensor x = ops::cast(cpu, test::random_normal(Shape{1000003}, gen), DType::bf16);
  Tensor yc = test::random_normal(Shape{1000003}, gen);
  Tensor yg = yc.to(gpu.device());
  ops::axpy(cpu, -0.5f, x, yc);
  ops::axpy(gpu, -0.5f, x.to(gpu.device()), yg);
  CHECK_ALLCLOSE(yg, yc, 0.0, 0.0);
  Tensor into = Tensor::empty(Shape{1000003}, DType::bf16, gpu.device());
  ops::cast(gpu, yg, into);
  CHECK_ALLCLOSE(into, ops::cast(cpu, yc, DType::bf16), 0.0, 0.0);
}
