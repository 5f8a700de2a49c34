// Pooling on the CPU backend: hand-checked windows, argmax convention, backward sums, shapes and errors.
#include <algorithm>

#include "engine/ops/basic.h"
#include "engine/ops/pool.h"
#include "support/testing.h"

using namespace cmt;

TEST_CASE("maxpool picks the window maximum, torch's flat index, and routes gradients there") {
  Context ctx(Device::cpu());
  // 1x1x4x4x1 with values 0..15: 2x2 windows, stride 2, maxima at the bottom-right corners.
  std::vector<float> v(16);
  for (int i = 0; i < 16; ++i) v[static_cast<std::size_t>(i)] = static_cast<float>(i);
  Tensor x = Tensor::from_vector(v, Shape{1, 1, 4, 4, 1});
  ops::PoolParams p{{1, 2, 2}, {1, 2, 2}, {0, 0, 0}};
  Tensor am;
  Tensor y = ops::maxpool_forward(ctx, x, p, am);
  CHECK(y.shape() == Shape{1, 1, 2, 2, 1});
  CHECK(y.to_vector<float>() == std::vector<float>{5, 7, 13, 15});
  CHECK(am.to_vector<std::int32_t>() == std::vector<std::int32_t>{5, 7, 13, 15});
  Tensor dx = ops::maxpool_backward(ctx, Tensor::from_vector<float>({1, 2, 3, 4}, y.shape()), am, x.shape(), p);
  std::vector<float> want(16, 0.f);
  want[5] = 1, want[7] = 2, want[13] = 3, want[15] = 4;
  CHECK(dx.to_vector<float>() == want);
}

TEST_CASE("overlapping max windows accumulate, average pooling counts padding") {
  Context ctx(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 12);
  const Shape s{2, 1, 7, 9, 3};
  Tensor x = test::random_normal(s, gen);
  ops::PoolParams p{{1, 3, 3}, {1, 2, 2}, {0, 1, 1}};
  CHECK(ops::pool_output_shape(s, p) == Shape{2, 1, 4, 5, 3});
  Tensor am;
  Tensor y = ops::maxpool_forward(ctx, x, p, am);
  Tensor ones = Tensor::from_vector(std::vector<float>(static_cast<std::size_t>(y.numel()), 1.f), y.shape());
  double total = 0;
  for (float g : ops::maxpool_backward(ctx, ones, am, s, p).to_vector<float>()) total += g;
  CHECK(total == doctest::Approx(static_cast<double>(y.numel())));  // every output routes its gradient once
  Tensor a = ops::avgpool_forward(ctx, x, p);
  // Corner output (0,0): window rows -1..1, cols -1..1 -> 4 real elements, divided by 9.
  for (std::int64_t c = 0; c < 3; ++c) {
    const float* xv = x.data<float>();
    const float want = (xv[c] + xv[3 + c] + xv[9 * 3 + c] + xv[9 * 3 + 3 + c]) / 9.f;
    CHECK(a.data<float>()[c] == doctest::Approx(want).epsilon(1e-6));
  }
  // Each output passes count/9 back: count = real elements of its window (padding absorbs the rest).
  double gsum = 0, want = 0;
  for (float g : ops::avgpool_backward(ctx, ones, s, p).to_vector<float>()) gsum += g;
  const auto real = [](int o, int in) { return std::min(o * 2 + 2, in) - std::max(o * 2 - 1, 0); };
  for (int oh = 0; oh < 4; ++oh)
    for (int ow = 0; ow < 5; ++ow) want += 2 * 3 * real(oh, 7) * real(ow, 9) / 9.0;
  CHECK(gsum == doctest::Approx(want).epsilon(1e-5));
}

TEST_CASE("adaptive pooling uses torch's bins and global pooling is the mean") {
  Context ctx(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 13);
  const Shape s{2, 1, 14, 14, 5};
  Tensor x = test::random_normal(s, gen);
  // 14 -> 7 bins are exactly 2x2 average pooling.
  CHECK_ALLCLOSE(ops::adaptive_avgpool_forward(ctx, x, {1, 7, 7}),
                 ops::avgpool_forward(ctx, x, ops::PoolParams{{1, 2, 2}, {1, 2, 2}, {0, 0, 0}}), 1e-6, 1e-6);
  Tensor g = ops::global_avgpool_forward(ctx, x);
  CHECK(g.shape() == Shape{2, 5});
  CHECK_ALLCLOSE(g.view(Shape{2, 1, 1, 1, 5}), ops::adaptive_avgpool_forward(ctx, x, {1, 1, 1}), 1e-6, 1e-6);
  // 3 -> 7 bins overlap (upsampling): each input's gradient is the sum of its bins' shares.
  Tensor small = test::random_normal(Shape{1, 1, 3, 3, 1}, gen);
  Tensor up = ops::adaptive_avgpool_forward(ctx, small, {1, 7, 7});
  CHECK(up.shape() == Shape{1, 1, 7, 7, 1});
  CHECK(up.data<float>()[0] == small.data<float>()[0]);
  CHECK_THROWS_WITH_AS(ops::maxpool_forward(ctx, x, ops::PoolParams{{1, 2, 2}, {1, 1, 1}, {0, 2, 0}}, g),
                       doctest::Contains("at most half the kernel"), Error);
}

TEST_CASE("bf16 pooling in 2D and 3D is the f32 pooling of the same values, rounded once") {
  Context ctx(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 23);
  struct Case {
    Shape s;
    ops::PoolParams p;
  };
  const Case cases[] = {{Shape{2, 1, 9, 11, 8}, {{1, 3, 3}, {1, 2, 2}, {0, 1, 1}}},  // ResNet's stem pool, 2D
                        {Shape{2, 5, 6, 7, 4}, {{3, 3, 3}, {2, 2, 2}, {1, 1, 1}}},   // the same in 3D, odd sizes
                        {Shape{1, 4, 4, 4, 3}, {{2, 2, 2}, {2, 2, 2}, {0, 0, 0}}}};  // VGG's 3D pool
  const auto bf16 = [&](const Shape& s) { return ops::cast(ctx, test::random_normal(s, gen, 2.f), DType::bf16); };
  const auto f32 = [&](const Tensor& t) { return ops::cast(ctx, t, DType::f32); };  // the same values, exactly
  for (const Case& k : cases) {
    INFO(k.s.str());
    const Tensor x = bf16(k.s);
    Tensor am_b, am_f;
    const Tensor y = ops::maxpool_forward(ctx, x, k.p, am_b);
    CHECK_BF16_ROUNDING(y, ops::maxpool_forward(ctx, f32(x), k.p, am_f));
    CHECK(am_b.to_vector<std::int32_t>() == am_f.to_vector<std::int32_t>());
    const Tensor dy = bf16(y.shape());
    CHECK_BF16_ROUNDING(ops::maxpool_backward(ctx, dy, am_b, k.s, k.p), ops::maxpool_backward(ctx, f32(dy), am_f, k.s, k.p));
    CHECK_BF16_ROUNDING(ops::avgpool_forward(ctx, x, k.p), ops::avgpool_forward(ctx, f32(x), k.p));
    CHECK_BF16_ROUNDING(ops::avgpool_backward(ctx, dy, k.s, k.p), ops::avgpool_backward(ctx, f32(dy), k.s, k.p));
    const std::array<int, 3> bins{static_cast<int>(std::min<std::int64_t>(k.s[1], 2)), 2, 3};
    CHECK_BF16_ROUNDING(ops::adaptive_avgpool_forward(ctx, x, bins), ops::adaptive_avgpool_forward(ctx, f32(x), bins));
    const Tensor da = bf16(Shape{k.s[0], bins[0], bins[1], bins[2], k.s[4]});
    CHECK_BF16_ROUNDING(ops::adaptive_avgpool_backward(ctx, da, k.s), ops::adaptive_avgpool_backward(ctx, f32(da), k.s));
    CHECK_BF16_ROUNDING(ops::global_avgpool_forward(ctx, x), ops::global_avgpool_forward(ctx, f32(x)));
    const Tensor dg = bf16(Shape{k.s[0], k.s[4]});
    CHECK_BF16_ROUNDING(ops::global_avgpool_backward(ctx, dg, k.s), ops::global_avgpool_backward(ctx, f32(dg), k.s));
  }
  Tensor am;
  CHECK_THROWS_WITH_AS(ops::maxpool_forward(ctx, Tensor::empty(Shape{1, 1, 4, 4, 1}, DType::f16), cases[0].p, am),
                       doctest::Contains("must be f32 or bf16"), Error);
}
