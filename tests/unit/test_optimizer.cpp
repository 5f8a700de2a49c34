// Adam/AdamW, gradient clipping and learning-rate schedules on the CPU backend.
#include <cmath>
#include <limits>

#include "engine/host_sync.h"
#include "engine/lr_schedule.h"
#include "engine/optimizer.h"
#include "support/testing.h"

using namespace cmt;

TEST_CASE("Adam and AdamW follow torch's update rule step by step") {
  Context ctx(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 21);
  for (bool decoupled : {false, true}) {
    AdamConfig cfg;
    cfg.weight_decay = 0.1;
    cfg.decoupled = decoupled;
    const std::int64_t n = 37;
    Tensor p = test::random_normal(Shape{n}, gen);
    const std::vector<float> p0 = p.to_vector<float>();
    std::vector<double> pr(p0.begin(), p0.end()), m(n, 0.0), v(n, 0.0);
    Adam adam(ctx, n, cfg);
    for (int t = 1; t <= 10; ++t) {
      Tensor g = test::random_normal(Shape{n}, gen);
      const float lr = 0.01f * static_cast<float>(t);
      adam.step(ctx, p, g, lr);
      for (std::int64_t i = 0; i < n; ++i) {
        double gi = g.data<float>()[i];
        if (decoupled) pr[i] *= 1 - lr * cfg.weight_decay;
        else gi += cfg.weight_decay * pr[i];
        m[i] = cfg.beta1 * m[i] + (1 - cfg.beta1) * gi;
        v[i] = cfg.beta2 * v[i] + (1 - cfg.beta2) * gi * gi;
        const double mh = m[i] / (1 - std::pow(cfg.beta1, t)), vh = v[i] / (1 - std::pow(cfg.beta2, t));
        pr[i] -= lr * mh / (std::sqrt(vh) + cfg.eps);
      }
    }
    CHECK(adam.steps() == 10);
    for (std::int64_t i = 0; i < n; ++i) CHECK(p.data<float>()[i] == doctest::Approx(pr[i]).epsilon(1e-5));
  }
  Tensor p = Tensor::empty(Shape{4}, DType::f32), g = Tensor::empty(Shape{5}, DType::f32);
  Adam adam(ctx, 4, {});
  CHECK_THROWS_WITH_AS(adam.step(ctx, p, g, 1e-3f), doctest::Contains("must hold 4 elements"), Error);
}

TEST_CASE("clip_grad_norm returns the norm and scales only above max_norm") {
  Context ctx(Device::cpu());
  Tensor g = Tensor::from_vector<float>({3.f, 4.f}, Shape{2});
  CHECK(clip_grad_norm(ctx, g, 10.f) == doctest::Approx(5.0));
  CHECK(g.to_vector<float>() == std::vector<float>{3.f, 4.f});
  CHECK(clip_grad_norm(ctx, g, 1.f) == doctest::Approx(5.0));
  CHECK(g.data<float>()[0] == doctest::Approx(0.6).epsilon(1e-5));
  CHECK(g.data<float>()[1] == doctest::Approx(0.8).epsilon(1e-5));
}

TEST_CASE("learning-rate schedules: warm-up, step, cosine, parse errors") {
  const LrSchedule c = LrSchedule::parse("cosine:lr=0.1,total=110,warmup=10,min_lr=0.01");
  CHECK(c.at(0) == doctest::Approx(0.01));
  CHECK(c.at(9) == doctest::Approx(0.1));
  CHECK(c.at(60) == doctest::Approx(0.055));
  CHECK(c.at(110) == doctest::Approx(0.01));
  CHECK(c.at(500) == doctest::Approx(0.01));
  const LrSchedule s = LrSchedule::parse("step:lr=1,step_size=10,gamma=0.5");
  CHECK(s.at(9) == doctest::Approx(1.0));
  CHECK(s.at(10) == doctest::Approx(0.5));
  CHECK(s.at(25) == doctest::Approx(0.25));
  CHECK(LrSchedule::parse(s.str()).at(25) == doctest::Approx(0.25));
  CHECK(LrSchedule::parse("constant:lr=0.5").at(1000) == doctest::Approx(0.5));
  CHECK_THROWS_WITH_AS(LrSchedule::parse("cosine:lr=0.1"), doctest::Contains("total > warmup"), Error);
  CHECK_THROWS_WITH_AS(LrSchedule::parse("step:lr=x"), doctest::Contains("needs a number"), Error);
  CHECK_THROWS_WITH_AS(LrSchedule::parse("step:foo=1"), doctest::Contains("unknown key"), Error);
}

TEST_CASE("Adam: a non-finite guard (the step's loss) skips the update; prepare/apply equals step") {
  Context ctx(Device::cpu());
  std::mt19937_64 gen(test::run_seed());
  const Tensor p0 = test::random_normal(Shape{37}, gen), g = test::random_normal(Shape{37}, gen);
  Tensor p_step = p0.to(Device::cpu()), p_split = p0.to(Device::cpu()), p_nan = p0.to(Device::cpu());
  Adam a(ctx, 37, AdamConfig{}), b(ctx, 37, AdamConfig{}), c(ctx, 37, AdamConfig{});
  a.step(ctx, p_step, g, 1e-2f);
  Tensor none;
  b.prepare(ctx, 1e-2f);
  b.apply(ctx, p_split, g, none, Tensor::from_vector(std::vector<float>{1.5f}, Shape{1}));
  CHECK(p_split.to_vector<float>() == p_step.to_vector<float>());
  CHECK(p_split.to_vector<float>() != p0.to_vector<float>());
  c.prepare(ctx, 1e-2f);
  c.apply(ctx, p_nan, g, none, Tensor::from_vector(std::vector<float>{std::numeric_limits<float>::quiet_NaN()}, Shape{1}));
  CHECK(p_nan.to_vector<float>() == p0.to_vector<float>());
  CHECK(c.m().to_vector<float>() == std::vector<float>(37, 0.f));
  Adam d(ctx, 37, AdamConfig{});
  CHECK_THROWS_WITH_AS(d.apply(ctx, p_nan, g, none), doctest::Contains("prepare()"), cmt::Error);
}

TEST_CASE("clip_grad_norm_on_device: the norm stays on the device and the clipped gradients equal the host path") {
  Context ctx(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 5);
  const Tensor g0 = test::random_normal(Shape{1000}, gen);
  for (float max_norm : {1.f, 1e4f}) {
    Tensor a = g0.to(Device::cpu()), b = g0.to(Device::cpu());
    const float host = clip_grad_norm(ctx, a, max_norm);
    Tensor dev;
    {
      NoHostSyncScope no_sync("a captured step");
      dev = clip_grad_norm_on_device(ctx, b, max_norm);
    }
    CHECK(dev.to_vector<float>()[0] == host);
    CHECK(a.to_vector<float>() == b.to_vector<float>());
    CHECK((max_norm < host) == (b.to_vector<float>() != g0.to_vector<float>()));
  }
}
