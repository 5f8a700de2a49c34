// The basic op family on the CPU backend: fill, copy, cast, axpy, sum, mean, validation.
#include <cmath>

#include "engine/ops/basic.h"
#include "kernels/common/float16.h"
#include "support/testing.h"

using namespace cmt;

TEST_CASE("ops::fill writes every element of every dtype") {
  Context ctx(Device::cpu());
  for (DType t : {DType::f32, DType::bf16, DType::f16, DType::u8, DType::i16, DType::i32, DType::i64}) {
    Tensor x = Tensor::empty(Shape{3, 7, 5}, t);
    ops::fill(ctx, x, 3.0);
    Tensor f = x;
    if (dtype_is_float(t)) {
      for (float v : x.to_float_vector()) REQUIRE(v == 3.0f);
    } else if (t == DType::i32) {
      for (auto v : x.to_vector<std::int32_t>()) REQUIRE(v == 3);
    } else if (t == DType::i64) {
      for (auto v : x.to_vector<std::int64_t>()) REQUIRE(v == 3);
    } else if (t == DType::u8) {
      for (auto v : x.to_vector<std::uint8_t>()) REQUIRE(v == 3);
    } else {
      for (auto v : x.to_vector<std::int16_t>()) REQUIRE(v == 3);
    }
  }
}

TEST_CASE("ops::cast f32 <-> bf16 matches the rounding rule element by element") {
  Context ctx(Device::cpu());
  std::mt19937_64 gen(test::run_seed());
  Tensor x = test::random_normal(Shape{4, 33}, gen, 10.f);
  Tensor b = ops::cast(ctx, x, DType::bf16);
  Tensor back = ops::cast(ctx, b, DType::f32);
  const auto xv = x.to_vector<float>();
  const auto bv = back.to_vector<float>();
  for (std::size_t i = 0; i < xv.size(); ++i) {
    REQUIRE(bv[i] == num::bf16_to_float(num::float_to_bf16(xv[i])));
    REQUIRE(std::fabs(bv[i] - xv[i]) <= std::fabs(xv[i]) * (1.0f / 256));
  }
  CHECK_THROWS_AS(ops::cast(ctx, Tensor::empty(Shape{2}, DType::i32), DType::f32), cmt::Error);
}

TEST_CASE("ops::axpy, sum and mean against a double-precision loop") {
  Context ctx(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 1);
  Tensor x = test::random_normal(Shape{5, 3, 17, 9, 2}, gen);
  Tensor y = test::random_normal(Shape{5, 3, 17, 9, 2}, gen);
  const auto xv = x.to_vector<float>();
  const auto yv = y.to_vector<float>();
  ops::axpy(ctx, -0.75f, x, y);
  std::vector<float> want(yv.size());
  double total = 0;
  for (std::size_t i = 0; i < yv.size(); ++i) {
    want[i] = yv[i] + -0.75f * xv[i];
    total += want[i];
  }
  CHECK_ALLCLOSE(y.to_vector<float>(), want, 0.0, 0.0);  // same float expression: exact
  CHECK(ops::item(ops::sum(ctx, y)) == doctest::Approx(total).epsilon(1e-6));
  CHECK(ops::item(ops::mean(ctx, y)) == doctest::Approx(total / static_cast<double>(want.size())).epsilon(1e-5));
  ops::add_scalar_(ctx, y, -0.5f);
  for (auto& w : want) w += -0.5f;
  CHECK_ALLCLOSE(y.to_vector<float>(), want, 0.0, 0.0);
}

TEST_CASE("ops validate their arguments with clear errors") {
  Context ctx(Device::cpu());
  Tensor a = Tensor::empty(Shape{4}, DType::f32);
  Tensor b = Tensor::empty(Shape{5}, DType::f32);
  Tensor i = Tensor::empty(Shape{4}, DType::i32);
  CHECK_THROWS_WITH_AS(ops::axpy(ctx, 1.f, a, b), doctest::Contains("shape mismatch"), cmt::Error);
  CHECK_THROWS_WITH_AS(ops::axpy(ctx, 1.f, a, i), doctest::Contains("must be f32"), cmt::Error);
  CHECK_THROWS_WITH_AS(ops::copy(ctx, a, b), doctest::Contains("size mismatch"), cmt::Error);
  Tensor undefined;
  CHECK_THROWS_WITH_AS(ops::fill(ctx, undefined, 1.0), doctest::Contains("undefined"), cmt::Error);
  CHECK_THROWS_WITH_AS(ops::mean(ctx, Tensor::empty(Shape{0}, DType::f32)), doctest::Contains("empty"), cmt::Error);
}

TEST_CASE("errors name the file and line; CUDA requested without a GPU says why") {
  try {
    CMT_CHECK(1 + 1 == 3, "arithmetic is broken: " << 42);
    FAIL("no exception");
  } catch (const cmt::Error& e) {
    const std::string what = e.what();
    CHECK(what.find("arithmetic is broken: 42") != std::string::npos);
    CHECK(what.find("test_ops_basic.cpp:") != std::string::npos);
  }
  try {
    CUDA_CHECK(2);  // cudaErrorMemoryAllocation
    FAIL("no exception");
  } catch (const cmt::Error& e) {
    const std::string what = e.what();
    CHECK(what.find("CUDA error 2") != std::string::npos);
    CHECK(what.find("`2`") != std::string::npos);
  }
}

TEST_CASE("axpy sums a bf16 x into f32 y exactly as its widened values; cast writes into a given tensor") {
  Context ctx(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 27);
  const Tensor xb = ops::cast(ctx, test::random_normal(Shape{3, 1001}, gen), DType::bf16);
  const Tensor y0 = test::random_normal(Shape{3, 1001}, gen);
  Tensor y = ops::cast(ctx, y0, DType::f32), want = ops::cast(ctx, y0, DType::f32);
  ops::axpy(ctx, 0.75f, xb, y);                                  // a bf16 gradient into an f32 slot
  ops::axpy(ctx, 0.75f, ops::cast(ctx, xb, DType::f32), want);  // the same in f32
  CHECK_ALLCLOSE(y, want, 0.0, 0.0);
  Tensor into = Tensor::empty(Shape{3 * 1001}, DType::bf16);
  ops::cast(ctx, y, into);
  CHECK_ALLCLOSE(into, ops::cast(ctx, y, DType::bf16).view(into.shape()), 0.0, 0.0);
  Tensor bf16_y = xb;
  CHECK_THROWS_WITH_AS(ops::axpy(ctx, 1.f, y, bf16_y), doctest::Contains("'y' must be f32"), Error);
  Tensor small = Tensor::empty(Shape{5}, DType::bf16);
  CHECK_THROWS_WITH_AS(ops::cast(ctx, y, small), doctest::Contains("size mismatch"), Error);
}
