// Local pixel shuffling's coverage: the share of pixels inside some shuffle window, with one round of
// non-overlapping windows (about 26%) and with several rounds at random grid offsets (the `paper`
// policy's 6 rounds: about 85%, Models Genesis' 3D coverage). docs/augmentation.md quotes these.
#include <algorithm>
#include <numeric>

#include "engine/augment_policy.h"
#include "engine/ops/augment.h"
#include "kernels/augment.h"
#include "kernels/common/augment_apply.h"
#include "support/testing.h"

using namespace cmt;

namespace {

struct Coverage {
  double covered = 0;  // inside a window in at least one round
  double moved = 0;    // the output pixel differs from the input pixel
};

// Coverage of the shuffle step over `samples` images of side x side, and checks that the step is a
// permutation of each whole image (every round permutes within its windows).
Coverage measure(const std::string& spec, std::int32_t side, int samples) {
  Context ctx;
  const AugmentPolicy pol = AugmentPolicy::parse(spec);
  std::vector<std::int64_t> ids(static_cast<std::size_t>(samples));
  std::iota(ids.begin(), ids.end(), 40);
  Tensor x = Tensor::empty(Shape{samples, 1, side, side, 1}, DType::f32);
  std::iota(x.data<float>(), x.data<float>() + x.numel(), 0.f);  // distinct values (exact below 2^24)
  const std::uint64_t seed = test::run_seed() + 5;
  const Tensor y = ops::augment_apply(ctx, x, ids, Transform::shuffle, pol, seed, 0, 0);
  const aug::Dims dm{1, side, side};
  Coverage c;
  for (int n = 0; n < samples; ++n) {
    aug::Config one = pol.config;
    one.mode = aug::Mode::fixed;
    one.fixed_count = 1;
    one.fixed[0] = Transform::shuffle;
    const aug::ViewKey key{aug::fold_sample_id(ids[static_cast<std::size_t>(n)]), 0, n};
    const aug::StepParams P = cpu::augment_draw(one, seed, 0, &key, 1, dm).params[0];
    const float* in = x.data<float>() + static_cast<std::ptrdiff_t>(n) * side * side;
    const float* out = y.data<float>() + static_cast<std::ptrdiff_t>(n) * side * side;
    for (std::int32_t yy = 0; yy < side; ++yy)
      for (std::int32_t xx = 0; xx < side; ++xx) {
        bool inside = false;
        for (int r = 0; r < aug::shuffle_rounds(pol.config) && !inside; ++r) {
          aug::Window win;
          inside = aug::shuffle_window(P, pol.config, dm, aug::Pos{0, yy, xx}, win, aug::shuffle_round(P, pol.config, dm, r));
        }
        const std::size_t i = static_cast<std::size_t>(yy) * static_cast<std::size_t>(side) + static_cast<std::size_t>(xx);
        c.covered += inside;
        c.moved += out[i] != in[i];
        if (!inside) REQUIRE(out[i] == in[i]);  // a pixel no round touches stays put
      }
    std::vector<float> a(in, in + side * side), b(out, out + side * side);
    std::sort(b.begin(), b.end());
    REQUIRE(a == b);  // a permutation of the image: the pixel multiset is preserved
  }
  const double total = static_cast<double>(samples) * side * side;
  c.covered /= total;
  c.moved /= total;
  return c;
}

}  // namespace

TEST_CASE("augment: shuffle coverage, one round ~26%, the paper policy's 6 rounds ~85%, 16 rounds ~99%") {
  struct Case {
    std::string spec;
    std::int32_t side;
    int samples;
    double lo, hi;
  };
  for (const Case& k :
       {Case{"shuffle", 128, 4, 0.22, 0.36}, Case{"shuffle", 512, 3, 0.22, 0.34},
        Case{"shuffle,shuffle_rounds=6", 128, 4, 0.78, 0.92}, Case{"shuffle,shuffle_rounds=6", 512, 3, 0.78, 0.92},
        Case{"shuffle,shuffle_rounds=16", 128, 4, 0.97, 1.0}}) {
    const Coverage c = measure(k.spec, k.side, k.samples);
    MESSAGE(k.spec << " at " << k.side << "^2: " << 100 * c.covered << "% of pixels in a window, " << 100 * c.moved << "% moved");
    CHECK(c.covered >= k.lo);
    CHECK(c.covered <= k.hi);
    CHECK(c.moved <= c.covered);
    CHECK(c.moved >= 0.9 * c.covered);  // few pixels stay put inside a window (1-pixel windows, fixed points)
  }
  CHECK(AugmentPolicy::parse("paper").config.shuffle_rounds == 6);
  CHECK(AugmentPolicy::parse("genesis").config.shuffle_rounds == 1);
  CHECK_THROWS_WITH_AS(AugmentPolicy::parse("shuffle,shuffle_rounds=0"), doctest::Contains("shuffle_rounds"), cmt::Error);
  CHECK_THROWS_WITH_AS(AugmentPolicy::parse("shuffle,shuffle_rounds=33"), doctest::Contains("shuffle_rounds"), cmt::Error);
}

TEST_CASE("augment: shuffle rounds are reproducible, later rounds shuffle further, each a permutation (2D, per slice, 3D)") {
  Context ctx;
  std::vector<std::int64_t> ids{7, 8};
  Tensor x = Tensor::empty(Shape{2, 3, 40, 40, 1}, DType::f32);
  std::iota(x.data<float>(), x.data<float>() + x.numel(), 0.f);
  const std::uint64_t seed = test::run_seed() + 9;
  for (const char* extra : {"", ",per_slice=1", ",volumetric=1"}) {
    INFO(extra);
    auto run = [&](int rounds) {
      const AugmentPolicy pol = AugmentPolicy::parse("shuffle,shuffle_rounds=" + std::to_string(rounds) + extra);
      return ops::augment_apply(ctx, x, ids, Transform::shuffle, pol, seed, 0, 0).to_vector<float>();
    };
    const auto r1 = run(1), r1_again = run(1), r3 = run(3);
    CHECK(r1 == r1_again);  // reproducible
    CHECK(r1 != r3);        // the later rounds shuffle further
    std::vector<float> a = x.to_vector<float>(), b = r3;
    std::sort(b.begin(), b.end());
    CHECK(a == b);
  }
}
