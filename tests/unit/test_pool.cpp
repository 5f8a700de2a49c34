// Pooling on the CPU backend: hand-checked windows, argmax convention, backward sums, shapes and errors.
#include <algorithm>

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
  Tensor dx = ops::maxpool_backward(ctx, Tensor::from_vector<float>({1, 2, 3, 4}, y.shape()), am, x.shape());
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
  for (float g : ops::maxpool_backward(ctx, ones, am, s).to_vector<float>()) total += g;
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
