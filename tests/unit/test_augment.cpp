// The augmentation family on the CPU backend: the properties of docs/augmentation.md for each of the
// seven transformations, the policies, and the keying of the views.
#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "engine/ops/augment.h"
#include "kernels/augment.h"
#include "kernels/common/augment_apply.h"
#include "support/testing.h"

using namespace cmt;

namespace {

// (N, D, H, W, 1) uniform in [lo, hi): distinct values with probability ~1.
Tensor random_images(std::int64_t n, std::int64_t d, std::int64_t h, std::int64_t w, std::mt19937_64& gen, float lo = 0.f,
                     float hi = 1.f) {
  std::uniform_real_distribution<float> dist(lo, hi);
  Tensor t = Tensor::empty(Shape{n, d, h, w, 1}, DType::f32);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = dist(gen);
  return t;
}

std::vector<std::int64_t> ids(std::int64_t n, std::int64_t first = 100) {
  std::vector<std::int64_t> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), first);
  return v;
}

// The parameters augment_apply drew for row k (single transformation, slice z).
aug::StepParams drawn(const AugmentPolicy& pol, Transform t, std::uint64_t seed, std::int64_t id, std::uint32_t view,
                      const Tensor& images, std::int32_t z = 0, std::uint32_t epoch = 0) {
  aug::Config c = pol.config;
  c.mode = aug::Mode::fixed;
  c.fixed_count = 1;
  c.fixed[0] = t;
  const aug::ViewKey key{aug::fold_sample_id(id), view, 0};
  const aug::Dims dm{static_cast<std::int32_t>(images.dim(1)), static_cast<std::int32_t>(images.dim(2)),
                     static_cast<std::int32_t>(images.dim(3))};
  const auto d = cpu::augment_draw(c, seed, epoch, &key, 1, dm);
  return d.params[static_cast<std::size_t>(d.slices > 1 ? z : 0)];
}

struct Vol {
  const float* p;
  std::int64_t d, h, w;
  float at(std::int64_t n, std::int64_t z, std::int64_t y, std::int64_t x) const { return p[((n * d + z) * h + y) * w + x]; }
};
Vol vol(const Tensor& t) { return Vol{t.data<float>(), t.dim(1), t.dim(2), t.dim(3)}; }

}  // namespace

TEST_CASE("augment policy: parse, describe round trip, defaults and errors") {
  const AugmentPolicy g = AugmentPolicy::parse("genesis");
  CHECK(g.config.mode == aug::Mode::random);
  CHECK(g.config.flip_prob == 0.4f);
  CHECK(g.config.shuffle_prob == 0.5f);
  CHECK(g.config.bezier_prob == 0.9f);
  CHECK(g.config.paint_prob == 0.9f);
  CHECK(g.config.inpaint_share == 0.2f);
  for (const char* spec : {"genesis", "none", "rotate", "poisson+flip", "genesis,fill=noise,per_slice=1",
                           "outpaint+bezier,volumetric=1,poisson_scale_lo=5,poisson_scale_hi=8,flip_axes=dw"}) {
    const AugmentPolicy p = AugmentPolicy::parse(spec);
    INFO(spec << " -> " << p.describe());
    CHECK(AugmentPolicy::parse(p.describe()) == p);
  }
  const AugmentPolicy pair = AugmentPolicy::parse("poisson+flip");
  REQUIRE(pair.config.fixed_count == 2);
  CHECK(pair.config.fixed[0] == Transform::poisson);
  CHECK(pair.config.fixed[1] == Transform::flip);
  CHECK(AugmentPolicy::parse("genesis,volumetric=1").config.flip_axes == (aug::kAxisD | aug::kAxisH | aug::kAxisW));
  CHECK_THROWS_WITH_AS(AugmentPolicy::parse("twirl"), doctest::Contains("unknown transformation"), cmt::Error);
  CHECK_THROWS_WITH_AS(AugmentPolicy::parse("genesis,flip_prob=1.5"), doctest::Contains("flip_prob"), cmt::Error);
  CHECK_THROWS_WITH_AS(AugmentPolicy::parse("genesis,bogus=1"), doctest::Contains("unknown key"), cmt::Error);
  CHECK_THROWS_WITH_AS(AugmentPolicy::parse("genesis,fill=blue"), doctest::Contains("fill"), cmt::Error);
  CHECK_THROWS_WITH_AS(AugmentPolicy::parse("genesis,shuffle_div=x"), doctest::Contains("number"), cmt::Error);
  for (Transform t : kAllTransforms) CHECK(transform_from_name(transform_name(t)) == t);
}

TEST_CASE("augment: rotations compose to the identity and follow numpy.rot90") {
  Context ctx;
  std::mt19937_64 gen(test::run_seed());
  const Tensor x = random_images(3, 2, 13, 13, gen);
  const AugmentPolicy pol = AugmentPolicy::parse("rotate");
  const std::uint64_t seed = test::run_seed() + 7;
  Tensor y = x;
  for (int i = 0; i < 4; ++i) {
    Tensor r = ops::augment_apply(ctx, y, ids(3), Transform::rotate, pol, seed, 0, 0);
    if (i == 0) {
      const Vol a = vol(x), b = vol(r);
      for (std::int64_t n = 0; n < 3; ++n) {
        const int k = drawn(pol, Transform::rotate, seed, 100 + n, 0, x).rot_k;
        REQUIRE((k >= 1 && k <= 3));
        for (std::int64_t z = 0; z < 2; ++z)
          for (std::int64_t i2 = 0; i2 < 13; ++i2)
            for (std::int64_t j = 0; j < 13; ++j) {
              const float want = k == 1 ? a.at(n, z, j, 12 - i2) : k == 2 ? a.at(n, z, 12 - i2, 12 - j) : a.at(n, z, 12 - j, i2);
              REQUIRE(b.at(n, z, i2, j) == want);
            }
      }
    }
    y = r;
  }
  CHECK_ALLCLOSE(y.to_vector<float>(), x.to_vector<float>(), 0.0, 0.0);
  CHECK_THROWS_WITH_AS(ops::augment_apply(ctx, random_images(1, 1, 4, 5, gen), ids(1), Transform::rotate, pol, 1, 0, 0),
                       doctest::Contains("square"), cmt::Error);
}

TEST_CASE("augment: flip is an involution and flips exactly its axes") {
  Context ctx;
  std::mt19937_64 gen(test::run_seed() + 1);
  for (const char* spec : {"flip", "flip,volumetric=1"}) {
    const Tensor x = random_images(4, 3, 9, 11, gen);
    const AugmentPolicy pol = AugmentPolicy::parse(spec);
    const std::uint64_t seed = test::run_seed() + 3;
    const Tensor once = ops::augment_apply(ctx, x, ids(4), Transform::flip, pol, seed, 2, 1);
    const Tensor twice = ops::augment_apply(ctx, once, ids(4), Transform::flip, pol, seed, 2, 1);
    CHECK_ALLCLOSE(twice.to_vector<float>(), x.to_vector<float>(), 0.0, 0.0);
    const Vol a = vol(x), b = vol(once);
    for (std::int64_t n = 0; n < 4; ++n) {
      aug::Config c = pol.config;
      c.mode = aug::Mode::fixed;
      c.fixed_count = 1;
      c.fixed[0] = Transform::flip;
      const aug::ViewKey key{aug::fold_sample_id(100 + n), 1, 0};
      const std::uint32_t m = cpu::augment_draw(c, seed, 2, &key, 1, aug::Dims{3, 9, 11}).params[0].flip_mask;
      REQUIRE(m != 0u);
      REQUIRE((m & ~pol.config.flip_axes) == 0u);
      for (std::int64_t z = 0; z < 3; ++z)
        for (std::int64_t y = 0; y < 9; ++y)
          for (std::int64_t xx = 0; xx < 11; ++xx)
            REQUIRE(b.at(n, z, y, xx) == a.at(n, (m & aug::kAxisD) ? 2 - z : z, (m & aug::kAxisH) ? 8 - y : y,
                                               (m & aug::kAxisW) ? 10 - xx : xx));
    }
  }
}

TEST_CASE("augment: shuffling permutes each window's values and leaves the outside untouched") {
  Context ctx;
  std::mt19937_64 gen(test::run_seed() + 2);
  for (const char* spec : {"shuffle", "shuffle,per_slice=1", "shuffle,volumetric=1,shuffle_windows=40"}) {
    INFO(spec);
    const AugmentPolicy pol = AugmentPolicy::parse(spec);
    const Tensor x = random_images(2, 4, 64, 50, gen);
    const std::uint64_t seed = test::run_seed() + 11;
    const Tensor y = ops::augment_apply(ctx, x, ids(2), Transform::shuffle, pol, seed, 0, 0);
    const aug::Dims dm{4, 64, 50};
    for (std::int64_t n = 0; n < 2; ++n) {
      const aug::StepParams P = drawn(pol, Transform::shuffle, seed, 100 + n, 0, x);
      CHECK(P.cell[1] == 6);
      CHECK(P.cell[2] == 5);
      // Group pixels by window (cell id, slice for 2D windows); the rest must be unchanged.
      std::map<std::pair<std::uint32_t, std::int32_t>, std::pair<std::vector<float>, std::vector<float>>> windows;
      const Vol a = vol(x), b = vol(y);
      std::int64_t moved = 0;
      for (std::int32_t z = 0; z < dm.d; ++z)
        for (std::int32_t yy = 0; yy < dm.h; ++yy)
          for (std::int32_t xx = 0; xx < dm.w; ++xx) {
            aug::Window win;
            if (!aug::shuffle_window(P, pol.config, dm, aug::Pos{z, yy, xx}, win, aug::shuffle_round(P, pol.config, dm, 0))) {
              REQUIRE(b.at(n, z, yy, xx) == a.at(n, z, yy, xx));
              continue;
            }
            REQUIRE((win.sy >= 1 && win.sy <= 6 && win.sx >= 1 && win.sx <= 5 && win.sz >= 1));
            auto& w = windows[{win.cell, pol.config.volumetric ? 0 : z}];
            w.first.push_back(a.at(n, z, yy, xx));
            w.second.push_back(b.at(n, z, yy, xx));
            moved += b.at(n, z, yy, xx) != a.at(n, z, yy, xx);
          }
      CHECK(windows.size() > 20);
      CHECK(moved > 0);
      for (auto& [key, w] : windows) {
        std::sort(w.first.begin(), w.first.end());
        std::sort(w.second.begin(), w.second.end());
        REQUIRE(w.first == w.second);
      }
    }
  }
}

TEST_CASE("augment: in-painting and out-painting touch exactly their boxes") {
  Context ctx;
  std::mt19937_64 gen(test::run_seed() + 3);
  for (const char* spec : {"inpaint,fill_value=0.125", "outpaint,fill_value=0.125", "inpaint,fill=noise,per_slice=1",
                           "outpaint,fill=noise,volumetric=1"}) {
    INFO(spec);
    const AugmentPolicy pol = AugmentPolicy::parse(spec);
    const Transform t = pol.config.fixed[0];
    const Tensor x = random_images(3, 3, 42, 63, gen, 0.25f, 1.f);  // fill value 0.125 never occurs
    const std::uint64_t seed = test::run_seed() + 5;
    const Tensor y = ops::augment_apply(ctx, x, ids(3), t, pol, seed, 1, 0);
    const Vol a = vol(x), b = vol(y);
    for (std::int64_t n = 0; n < 3; ++n)
      for (std::int32_t z = 0; z < 3; ++z) {
        const aug::StepParams P = drawn(pol, t, seed, 100 + n, 0, x, z, 1);
        REQUIRE((P.nbox >= 1 && P.nbox <= 5));
        for (int i = 0; i < P.nbox; ++i) {
          const aug::Box& bx = P.box[i];
          const int hy = bx.y1 - bx.y0, wx = bx.x1 - bx.x0;
          if (t == Transform::inpaint) CHECK((hy >= 7 && hy <= 14 && wx >= 10 && wx <= 21));
          else CHECK((hy >= 18 && hy <= 24 && wx >= 27 && wx <= 36));
          REQUIRE((bx.y0 >= 0 && bx.y1 <= 42 && bx.x0 >= 0 && bx.x1 <= 63 && bx.z0 >= 0 && bx.z1 <= 3));
        }
        for (std::int32_t yy = 0; yy < 42; ++yy)
          for (std::int32_t xx = 0; xx < 63; ++xx) {
            bool inside = false;
            for (int i = 0; i < P.nbox; ++i) inside = inside || aug::in_box(P.box[i], aug::Pos{z, yy, xx});
            const bool painted = (t == Transform::inpaint) == inside;
            const float got = b.at(n, z, yy, xx);
            if (!painted) REQUIRE(got == a.at(n, z, yy, xx));
            else if (pol.config.fill == aug::Fill::constant) REQUIRE(got == 0.125f);
            else REQUIRE((got >= 0.f && got < 1.f && got != a.at(n, z, yy, xx)));
          }
      }
  }
}

TEST_CASE("augment: the Bezier curve is monotone (or inverted) and matches a dense curve table") {
  Context ctx;
  const std::int64_t w = 1001;
  Tensor ramp = Tensor::empty(Shape{16, 1, 1, w, 1}, DType::f32);
  for (std::int64_t n = 0; n < 16; ++n)
    for (std::int64_t i = 0; i < w; ++i) ramp.data<float>()[n * w + i] = static_cast<float>(i) / static_cast<float>(w - 1);
  const AugmentPolicy pol = AugmentPolicy::parse("bezier");
  const std::uint64_t seed = test::run_seed() + 13;
  const Tensor y = ops::augment_apply(ctx, ramp, ids(16), Transform::bezier, pol, seed, 0, 0);
  int inverted = 0;
  for (std::int64_t n = 0; n < 16; ++n) {
    const aug::StepParams P = drawn(pol, Transform::bezier, seed, 100 + n, 0, ramp);
    inverted += P.invert;
    const float* v = y.data<float>() + n * w;
    // Independent reference: the curve sampled at 200001 values of t, x increasing in t.
    const int m = 200001;
    auto bez = [](double t, double p1, double p2) { const double u = 1 - t; return 3 * u * u * t * p1 + 3 * u * t * t * p2 + t * t * t; };
    std::vector<double> xs(m);
    for (int i = 0; i < m; ++i) xs[static_cast<std::size_t>(i)] = bez(static_cast<double>(i) / (m - 1), P.a, P.c);
    for (std::int64_t i = 0; i < w; ++i) {
      REQUIRE((v[i] >= 0.f && v[i] <= 1.f));
      if (i > 0) {
        if (P.invert) REQUIRE(v[i] <= v[i - 1] + 1e-6f);
        else REQUIRE(v[i] >= v[i - 1] - 1e-6f);
      }
      const double xv = static_cast<double>(i) / (w - 1);
      const auto it = std::lower_bound(xs.begin(), xs.end(), xv);
      double t = static_cast<double>(it - xs.begin()) / (m - 1);
      if (P.invert) t = 1 - t;
      const double want = bez(t, P.b, P.d);
      // Where x(t) is flat the inverse is steep: compare with the slope-aware bound.
      REQUIRE(std::fabs(v[i] - want) <= 2e-4 + 3.0 * 2.0 / (m - 1) * 50);
    }
    CHECK(v[0] == doctest::Approx(P.invert ? 1.0 : 0.0).epsilon(1e-5));
    CHECK(v[w - 1] == doctest::Approx(P.invert ? 0.0 : 1.0).epsilon(1e-5));
  }
  CHECK((inverted > 0 && inverted < 16));  // both branches drawn (probability 1 - 2^-15)
}

TEST_CASE("augment: Poisson noise has mean x and variance x/s, on the photon-count lattice") {
  Context ctx;
  for (float s : {20.f, 80.f, 400.f}) {  // lambda = x*s below and above the PTRS threshold 10
    for (float xv : {0.05f, 0.3f, 0.6f}) {
      const std::int64_t n = 128 * 128;
      Tensor x = Tensor::empty(Shape{2, 1, 128, 128, 1}, DType::f32);
      std::fill(x.data<float>(), x.data<float>() + x.numel(), xv);
      const AugmentPolicy pol = AugmentPolicy::parse("poisson,poisson_scale_lo=" + std::to_string(s) + ",poisson_scale_hi=" + std::to_string(s));
      const Tensor y = ops::augment_apply(ctx, x, ids(2), Transform::poisson, pol, test::run_seed() + 17, 0, 0);
      const auto v = y.to_vector<float>();
      double sum = 0, sq = 0;
      for (float e : v) {
        REQUIRE((e >= 0.f && e <= 1.f));
        const float k = e * s;
        REQUIRE(std::fabs(k - std::round(k)) < 1e-3f * std::max(1.f, k));
        sum += e;
      }
      const double count = static_cast<double>(2 * n), mean = sum / count;
      for (float e : v) sq += (e - mean) * (e - mean);
      const double var = sq / (count - 1), lambda = static_cast<double>(xv) * s;
      // Moments of min(1, Poisson(lambda) / s) (the output is clamped to 1), from the pmf in double.
      double m1 = 0, m2 = 0, m4 = 0;
      for (int k = 0; k < 2000; ++k) {
        const double pk = std::exp(k * std::log(lambda) - lambda - std::lgamma(k + 1.0));
        const double yk = std::min(1.0, k / static_cast<double>(s));
        m1 += pk * yk;
        m2 += pk * yk * yk;
      }
      const double want_var = m2 - m1 * m1;
      for (int k = 0; k < 2000; ++k) {
        const double pk = std::exp(k * std::log(lambda) - lambda - std::lgamma(k + 1.0));
        m4 += pk * std::pow(std::min(1.0, k / static_cast<double>(s)) - m1, 4);
      }
      INFO("s " << s << " x " << xv << " mean " << mean << " (want " << m1 << ") var " << var << " (want " << want_var << ")");
      CHECK(std::fabs(mean - m1) <= 5 * std::sqrt(want_var / count));
      CHECK(std::fabs(m1 - xv) <= 0.02 * xv);  // the clamp barely moves the mean: E[x'] = x
      const double var_sd = std::sqrt((m4 - want_var * want_var) / count);
      CHECK(std::fabs(var - want_var) <= 5 * var_sd);
    }
  }
}

TEST_CASE("augment_two_views: in range, keyed by seed, epoch, sample id and view, 2D and 3D") {
  Context ctx;
  std::mt19937_64 gen(test::run_seed() + 4);
  for (const char* spec : {"genesis", "genesis,fill=noise,poisson_prob=0.5,rotate_prob=0.5", "genesis,per_slice=1",
                           "genesis,volumetric=1", "bezier+outpaint", "none"}) {
    INFO(spec);
    const AugmentPolicy pol = AugmentPolicy::parse(spec);
    const Tensor x = random_images(4, 3, 24, 24, gen);
    const auto sid = ids(4, 5000);
    const Tensor a = ops::augment_two_views(ctx, x, sid, pol, 99, 3, false);
    REQUIRE(a.shape() == Shape{8, 3, 24, 24, 1});
    for (float e : a.to_vector<float>()) REQUIRE((e >= 0.f && e <= 1.f));
    const Tensor shifted = ops::augment_two_views(ctx, x, sid, pol, 99, 3, true);
    const auto av = a.to_vector<float>(), sv = shifted.to_vector<float>();
    for (std::size_t i = 0; i < av.size(); ++i) REQUIRE(sv[i] == av[i] - 0.5f);
    CHECK_ALLCLOSE(ops::augment_two_views(ctx, x, sid, pol, 99, 3, false).to_vector<float>(), av, 0.0, 0.0);
    if (pol.config.mode == aug::Mode::none) {
      for (std::int64_t k = 0; k < 8; ++k)
        CHECK_ALLCLOSE(a.narrow(k, 1).to_vector<float>(), x.narrow(k / 2, 1).to_vector<float>(), 0.0, 0.0);
      continue;
    }
    CHECK(ops::augment_two_views(ctx, x, sid, pol, 100, 3, false).to_vector<float>() != av);
    CHECK(ops::augment_two_views(ctx, x, sid, pol, 99, 4, false).to_vector<float>() != av);
    // Views follow the sample id, not the batch position: reversing the batch reverses the views.
    std::vector<std::int64_t> rid(sid.rbegin(), sid.rend());
    Tensor rx = Tensor::empty(x.shape(), DType::f32);
    for (std::int64_t k = 0; k < 4; ++k) std::copy_n(x.narrow(3 - k, 1).data<float>(), 3 * 24 * 24, rx.narrow(k, 1).data<float>());
    const Tensor r = ops::augment_two_views(ctx, rx, rid, pol, 99, 3, false);
    for (std::int64_t k = 0; k < 4; ++k)
      for (std::int64_t v = 0; v < 2; ++v)
        CHECK_ALLCLOSE(r.narrow(2 * (3 - k) + v, 1).to_vector<float>(), a.narrow(2 * k + v, 1).to_vector<float>(), 0.0, 0.0);
  }
  const Tensor x = random_images(2, 1, 16, 16, gen);
  const Tensor a = ops::augment_two_views(ctx, x, ids(2), AugmentPolicy::parse("outpaint"), 1, 0, false);
  CHECK(a.narrow(0, 1).to_vector<float>() != a.narrow(1, 1).to_vector<float>());  // the two views differ
  CHECK_THROWS_WITH_AS(ops::augment_two_views(ctx, x, ids(3), AugmentPolicy::parse("genesis"), 1, 0, false),
                       doctest::Contains("sample ids"), cmt::Error);
  CHECK_THROWS_WITH_AS(ops::augment_two_views(ctx, Tensor::empty(Shape{2, 16, 16}, DType::f32), ids(2),
                                              AugmentPolicy::parse("genesis"), 1, 0, false),
                       doctest::Contains("(N, D, H, W, 1)"), cmt::Error);
}

TEST_CASE("augment: 3D windows and curves shared across slices or drawn per slice") {
  Context ctx;
  std::mt19937_64 gen(test::run_seed() + 6);
  const Tensor x = random_images(1, 6, 30, 30, gen, 0.25f, 1.f);
  auto masks = [&](const char* spec) {
    const Tensor y = ops::augment_apply(ctx, x, ids(1), Transform::inpaint, AugmentPolicy::parse(spec), 5, 0, 0);
    std::vector<std::vector<bool>> m(6, std::vector<bool>(900));
    for (std::size_t z = 0; z < 6; ++z)
      for (std::size_t i = 0; i < 900; ++i) m[z][i] = y.data<float>()[z * 900 + i] == 0.f;
    return m;
  };
  const auto shared = masks("inpaint");
  for (std::size_t z = 1; z < 6; ++z) CHECK(shared[z] == shared[0]);
  const auto per = masks("inpaint,per_slice=1");
  bool differs = false;
  for (std::size_t z = 1; z < 6; ++z) differs = differs || per[z] != per[0];
  CHECK(differs);
}
