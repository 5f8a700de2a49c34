// Tensor, Shape, Device and the host caching allocator.
#include "engine/allocator.h"
#include "engine/context.h"
#include "engine/ops/basic.h"
#include "engine/precision.h"
#include "support/testing.h"

using namespace cmt;

TEST_CASE("shape: rank, numel, limits") {
  Shape s{2, 3, 4, 5, 6};
  CHECK(s.rank() == 5);
  CHECK(s.numel() == 720);
  CHECK(s.str() == "[2, 3, 4, 5, 6]");
  CHECK(Shape{}.numel() == 1);
  CHECK_THROWS_AS(s.push_back(7), cmt::Error);
  CHECK_THROWS_AS((Shape{2, -1}), cmt::Error);
}

TEST_CASE("tensor: views share storage, narrow offsets rows") {
  std::vector<float> v(24);
  for (int i = 0; i < 24; ++i) v[static_cast<std::size_t>(i)] = static_cast<float>(i);
  Tensor t = Tensor::from_vector(v, Shape{4, 6});
  Tensor r = t.view(Shape{2, 3, 4});
  CHECK(r.shares_storage(t));
  CHECK(r.data<float>() == t.data<float>());
  Tensor rows = t.narrow(1, 2);
  CHECK(rows.shape() == Shape{2, 6});
  CHECK(rows.data<float>()[0] == 6.f);
  CHECK(rows.data<float>()[11] == 17.f);
  rows.data<float>()[0] = -1.f;  // a view writes through
  CHECK(t.data<float>()[6] == -1.f);
  CHECK_THROWS_AS(t.view(Shape{5, 5}), cmt::Error);
  CHECK_THROWS_AS(t.narrow(3, 2), cmt::Error);
  CHECK_THROWS_AS(t.data<std::int32_t>(), cmt::Error);
  CHECK(t.describe() == "f32[4, 6] cpu");
}

TEST_CASE("tensor: every dtype has its size") {
  CHECK(dtype_size(DType::f32) == 4);
  CHECK(dtype_size(DType::bf16) == 2);
  CHECK(dtype_size(DType::f16) == 2);
  CHECK(dtype_size(DType::u8) == 1);
  CHECK(dtype_size(DType::i16) == 2);
  CHECK(dtype_size(DType::i32) == 4);
  CHECK(dtype_size(DType::i64) == 8);
  for (DType t : {DType::f32, DType::bf16, DType::f16, DType::u8, DType::i16, DType::i32, DType::i64}) {
    Tensor x = Tensor::empty(Shape{3, 5}, t);
    CHECK(x.nbytes() == 15 * dtype_size(t));
  }
}

TEST_CASE("device parsing and precision policy") {
  CHECK(parse_device("cpu") == Device::cpu());
  CHECK(parse_device("cuda:3") == Device::cuda(3));
  CHECK_THROWS_AS(parse_device("gpu"), cmt::Error);
  CHECK_THROWS_AS(parse_device("cuda:x"), cmt::Error);
  CHECK(PrecisionPolicy::parse("bf16").activation_dtype() == DType::bf16);
  CHECK(PrecisionPolicy::parse("tf32").activation_dtype() == DType::f32);
  CHECK(PrecisionPolicy::parse("fp32").tensor_cores() == false);
  CHECK_THROWS_AS(PrecisionPolicy::parse("fp8"), cmt::Error);
  // "auto": tf32 on a GPU (PyTorch's default for convolutions), exact fp32 on the CPU.
  CHECK(PrecisionPolicy::resolve("auto", true).name() == "tf32");
  CHECK(PrecisionPolicy::resolve("auto", false).name() == "fp32");
  CHECK(PrecisionPolicy::resolve("fp32", true).name() == "fp32");
  CHECK(PrecisionPolicy::resolve("bf16", false).name() == "bf16");
  CHECK_THROWS_WITH_AS(PrecisionPolicy::resolve("fp8", true), doctest::Contains("auto, fp32, tf32 or bf16"), cmt::Error);
}

TEST_CASE("allocator: repeated same-shape steps make no new host allocations") {
  Context ctx(Device::cpu());
  auto step = [&] {
    Tensor a = Tensor::empty(Shape{8, 16, 16, 16, 4}, DType::f32);
    Tensor b = Tensor::empty(Shape{8, 16, 16, 16, 4}, DType::f32);
    ops::fill(ctx, a, 1.5);
    ops::fill(ctx, b, 2.0);
    ops::axpy(ctx, 2.f, a, b);
    Tensor s = ops::sum(ctx, b);
    CHECK(ops::item(s) == doctest::Approx(5.0 * 8 * 16 * 16 * 16 * 4));
  };
  step();  // warm-up fills the cache
  const AllocatorStats before = host_allocator().stats();
  for (int i = 0; i < 5; ++i) step();
  const AllocatorStats after = host_allocator().stats();
  CHECK(after.raw_allocations == before.raw_allocations);
  CHECK(after.requests > before.requests);
  CHECK(after.cache_hits - before.cache_hits == after.requests - before.requests);
}

TEST_CASE("allocator: sizes round into shared buckets and the cache can be emptied") {
  CHECK(CachingAllocator::round_size(1) == 512);
  CHECK(CachingAllocator::round_size(513) == 1024);
  CHECK(CachingAllocator::round_size((1u << 20) + 1) == (std::size_t{2} << 20));
  { Tensor t = Tensor::empty(Shape{1000}, DType::f32); }
  const auto before = host_allocator().stats();
  host_allocator().empty_cache();
  const auto after = host_allocator().stats();
  CHECK(after.bytes_reserved <= before.bytes_reserved);
  CHECK(after.bytes_reserved == after.bytes_in_use);
}
