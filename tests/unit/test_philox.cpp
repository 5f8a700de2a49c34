// Philox4x32-10: known-answer vectors (Random123), determinism, stream separation, distributions.
#include <set>

#include "engine/ops/basic.h"
#include "kernels/common/float16.h"
#include "kernels/common/philox.h"
#include "support/testing.h"

using namespace cmt;

TEST_CASE("philox: Random123 known-answer vectors") {
  using rng::Words4;
  const Words4 a = rng::philox4x32_10(Words4{{0, 0, 0, 0}}, 0, 0);
  CHECK(a.w[0] == 0x6627e8d5u);
  CHECK(a.w[1] == 0xe169c58du);
  CHECK(a.w[2] == 0xbc57ac4cu);
  CHECK(a.w[3] == 0x9b00dbd8u);
  const Words4 b = rng::philox4x32_10(Words4{{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}}, 0xffffffffu, 0xffffffffu);
  CHECK(b.w[0] == 0x408f276du);
  CHECK(b.w[1] == 0x41c83b0eu);
  CHECK(b.w[2] == 0xa20bc7c6u);
  CHECK(b.w[3] == 0x6d5451fdu);
  const Words4 c = rng::philox4x32_10(Words4{{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}}, 0xa4093822u, 0x299f31d0u);
  CHECK(c.w[0] == 0xd16cfe09u);
  CHECK(c.w[1] == 0x94fdccebu);
  CHECK(c.w[2] == 0x5001e420u);
  CHECK(c.w[3] == 0x24126ea1u);
}

TEST_CASE("philox: streams are pure functions of (seed, epoch, sample, op, element)") {
  const auto s = rng::Stream::make(42, 3, 7, 11);
  CHECK(s.word(12345) == rng::Stream::make(42, 3, 7, 11).word(12345));
  std::set<std::uint32_t> seen;
  for (auto v : {rng::Stream::make(43, 3, 7, 11).word(0), rng::Stream::make(42, 4, 7, 11).word(0),
                 rng::Stream::make(42, 3, 8, 11).word(0), rng::Stream::make(42, 3, 7, 12).word(0), s.word(0), s.word(1)})
    seen.insert(v);
  CHECK(seen.size() == 6);  // every coordinate changes the draw
}

TEST_CASE("philox: uniform and normal fills have the right moments and repeat exactly") {
  Context ctx(Device::cpu());
  Tensor u = Tensor::empty(Shape{200001}, DType::f32);
  ops::uniform_(ctx, u, 7, 1, -1.f, 3.f);
  auto uv = u.to_vector<float>();
  double mean = 0, var = 0;
  float lo = 1e9f, hi = -1e9f;
  for (float x : uv) {
    mean += x;
    lo = std::min(lo, x);
    hi = std::max(hi, x);
  }
  mean /= static_cast<double>(uv.size());
  for (float x : uv) var += (x - mean) * (x - mean);
  var /= static_cast<double>(uv.size());
  CHECK(lo >= -1.f);
  CHECK(hi < 3.f);
  CHECK(mean == doctest::Approx(1.0).epsilon(0.01));
  CHECK(var == doctest::Approx(16.0 / 12.0).epsilon(0.02));

  Tensor n = Tensor::empty(Shape{200001}, DType::f32);
  ops::normal_(ctx, n, 7, 2, 0.5f, 2.f);
  auto nv = n.to_vector<float>();
  mean = 0;
  var = 0;
  for (float x : nv) mean += x;
  mean /= static_cast<double>(nv.size());
  for (float x : nv) var += (x - mean) * (x - mean);
  var /= static_cast<double>(nv.size());
  CHECK(mean == doctest::Approx(0.5).epsilon(0.03));
  CHECK(var == doctest::Approx(4.0).epsilon(0.02));

  Tensor again = Tensor::empty(Shape{200001}, DType::f32);
  ops::normal_(ctx, again, 7, 2, 0.5f, 2.f);
  CHECK(again.to_vector<float>() == nv);
  ops::normal_(ctx, again, 8, 2, 0.5f, 2.f);
  CHECK(again.to_vector<float>() != nv);
}

TEST_CASE("bf16/f16 conversions round to nearest even") {
  CHECK(num::float_to_bf16(1.0f) == 0x3f80);
  CHECK(num::bf16_to_float(0x3f80) == 1.0f);
  // 1 + 2^-8 is exactly halfway between two bf16 values: ties go to the even one (1.0).
  CHECK(num::float_to_bf16(1.00390625f) == 0x3f80);
  CHECK(num::float_to_bf16(1.01171875f) == 0x3f82);  // 1 + 3*2^-8: tie goes up to even
  CHECK(num::float_to_f16(1.0f) == 0x3c00);
  CHECK(num::float_to_f16(65504.f) == 0x7bff);
  CHECK(num::float_to_f16(65520.f) == 0x7c00);  // rounds to infinity
  CHECK(num::float_to_f16(5.9604645e-8f) == 0x0001);  // smallest subnormal
  CHECK(num::f16_to_float(0x0001) == 5.9604645e-8f);
  CHECK(num::f16_to_float(0xc000) == -2.0f);
  for (std::uint32_t h = 0; h < 0x7c00; ++h)  // every finite positive half round-trips
    REQUIRE(num::float_to_f16(num::f16_to_float(static_cast<std::uint16_t>(h))) == h);
}
