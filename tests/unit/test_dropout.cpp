// Dropout and stochastic depth on the CPU backend: Philox masks, scaling, reproducibility, keep rate.
#include "engine/ops/basic.h"
#include "engine/ops/dropout.h"
#include "support/testing.h"

using namespace cmt;

TEST_CASE("dropout masks are the Philox draws of (seed, epoch, step, op) and scale kept values") {
  Context ctx(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 18);
  const std::int64_t n = 100003;
  Tensor x = test::random_normal(Shape{n}, gen);
  const std::uint64_t seed = gen();
  Tensor mask, mask2, mask3;
  Tensor y = ops::dropout_forward(ctx, x, 0.25f, seed, 1, 2, 3, mask);
  ops::dropout_forward(ctx, x, 0.25f, seed, 1, 2, 3, mask2);
  ops::dropout_forward(ctx, x, 0.25f, seed, 1, 3, 3, mask3);
  CHECK(mask.to_vector<std::uint8_t>() == mask2.to_vector<std::uint8_t>());
  CHECK(mask.to_vector<std::uint8_t>() != mask3.to_vector<std::uint8_t>());
  std::int64_t kept = 0;
  const float scale = static_cast<float>(1.0 / 0.75);
  for (std::int64_t i = 0; i < n; ++i) {
    const bool k = mask.data<std::uint8_t>()[i] != 0;
    kept += k;
    CHECK(y.data<float>()[i] == (k ? x.data<float>()[i] * scale : 0.f));
  }
  CHECK(static_cast<double>(kept) / n == doctest::Approx(0.75).epsilon(0.01));
  Tensor dx = ops::dropout_backward(ctx, x, mask, 0.25f);
  CHECK(dx.to_vector<float>() == y.to_vector<float>());
}

TEST_CASE("stochastic depth drops whole samples") {
  Context ctx(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 19);
  Tensor x = test::random_normal(Shape{200, 1, 2, 2, 3}, gen);
  Tensor keep;
  Tensor y = ops::stochastic_depth_forward(ctx, x, 0.5f, 7, 0, 1, 2, keep);
  std::int64_t kept = 0;
  for (std::int64_t s = 0; s < 200; ++s) {
    const bool k = keep.data<std::uint8_t>()[s] != 0;
    kept += k;
    for (std::int64_t j = 0; j < 12; ++j)
      CHECK(y.data<float>()[s * 12 + j] == (k ? x.data<float>()[s * 12 + j] * 2.f : 0.f));
  }
  CHECK(kept > 50);
  CHECK(kept < 150);
  CHECK_THROWS_WITH_AS(ops::stochastic_depth_backward(ctx, y, Tensor::empty(Shape{3}, DType::u8), 0.5f),
                       doctest::Contains("keep must be u8[N]"), Error);
}

TEST_CASE("bf16 dropout and stochastic depth: the f32 masks and values, rounded once") {
  Context ctx(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 24);
  const Tensor x = ops::cast(ctx, test::random_normal(Shape{3, 2, 5, 7, 6}, gen), DType::bf16);
  const Tensor xf = ops::cast(ctx, x, DType::f32);
  const std::uint64_t seed = gen();
  Tensor mb, mf;
  const Tensor y = ops::dropout_forward(ctx, x, 0.3f, seed, 0, 4, 9, mb);
  CHECK_BF16_ROUNDING(y, ops::dropout_forward(ctx, xf, 0.3f, seed, 0, 4, 9, mf));
  CHECK(mb.to_vector<std::uint8_t>() == mf.to_vector<std::uint8_t>());
  CHECK_BF16_ROUNDING(ops::dropout_backward(ctx, x, mb, 0.3f), ops::dropout_backward(ctx, xf, mf, 0.3f));
  Tensor kb, kf;
  const Tensor s = ops::stochastic_depth_forward(ctx, x, 0.4f, seed, 1, 2, 3, kb);
  CHECK_BF16_ROUNDING(s, ops::stochastic_depth_forward(ctx, xf, 0.4f, seed, 1, 2, 3, kf));
  CHECK(kb.to_vector<std::uint8_t>() == kf.to_vector<std::uint8_t>());
  CHECK_BF16_ROUNDING(ops::stochastic_depth_backward(ctx, x, kb, 0.4f), ops::stochastic_depth_backward(ctx, xf, kf, 0.4f));
}

TEST_CASE("a context step key replaces the epoch and step of dropout-like keys (what a captured step reads)") {
  Context ctx(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 19);
  const Tensor x = test::random_normal(Shape{4, 1000}, gen);
  const std::uint64_t seed = gen();
  Tensor want_mask, want_keep, got_mask, got_keep, other_mask;
  const Tensor want_y = ops::dropout_forward(ctx, x, 0.3f, seed, 4, 9, 7, want_mask);
  ops::stochastic_depth_forward(ctx, x, 0.5f, seed, 4, 9, 7, want_keep);
  ctx.epoch = 4;
  ctx.step = 9;
  ctx.upload_step_key();
  ctx.step = 10;  // the key, not the arguments, decides
  const Tensor got_y = ops::dropout_forward(ctx, x, 0.3f, seed, 0, 0, 7, got_mask);
  ops::stochastic_depth_forward(ctx, x, 0.5f, seed, 0, 0, 7, got_keep);
  CHECK(got_mask.to_vector<std::uint8_t>() == want_mask.to_vector<std::uint8_t>());
  CHECK(got_y.to_vector<float>() == want_y.to_vector<float>());
  CHECK(got_keep.to_vector<std::uint8_t>() == want_keep.to_vector<std::uint8_t>());
  ctx.upload_step_key();  // now (4, 10): a different mask
  ops::dropout_forward(ctx, x, 0.3f, seed, 4, 9, 7, other_mask);
  CHECK(other_mask.to_vector<std::uint8_t>() != want_mask.to_vector<std::uint8_t>());
}
