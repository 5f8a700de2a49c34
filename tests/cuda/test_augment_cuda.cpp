// The augmentation family on CUDA against the CPU backend, view for view, on fresh random inputs.
#include <cmath>
#include <numeric>

#include "engine/ops/augment.h"
#include "support/testing.h"

using namespace cmt;

namespace {

Tensor random_unit(const Shape& shape, std::mt19937_64& gen) {
  std::uniform_real_distribution<float> dist(0.f, 1.f);
  Tensor t = Tensor::empty(shape, DType::f32);
  for (std::int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = dist(gen);
  return t;
}

// Exact for every transformation but Poisson noise, whose exp/log/lgamma differ in the last ulp
// between the host libm and CUDA: there a rare sample may land one count away.
void check_views(const Tensor& got_dev, const Tensor& want, bool noisy) {
  const Tensor got = got_dev.to(Device::cpu());
  if (!noisy) {
    CHECK_ALLCLOSE(got, want, 0.0, 0.0);
    return;
  }
  const auto g = got.to_vector<float>(), w = want.to_vector<float>();
  REQUIRE(g.size() == w.size());
  std::size_t differ = 0;
  for (std::size_t i = 0; i < g.size(); ++i)
    if (g[i] != w[i]) {
      ++differ;
      REQUIRE(std::fabs(g[i] - w[i]) <= 2.f / 30.f + 1e-6f);  // at most a count or two at the smallest scale
    }
  INFO(differ << " of " << g.size() << " elements differ, seed " << test::run_seed());
  CHECK(differ <= g.size() / 1000);
}

}  // namespace

TEST_CASE("augment_apply: each transformation on CUDA equals the CPU, 2D and 3D") {
  Context gpu(Device::cuda(0)), cpu(Device::cpu());
  std::mt19937_64 gen(test::run_seed());
  for (const Shape& shape : {Shape{5, 1, 96, 96, 1}, Shape{2, 12, 40, 40, 1}}) {
    const Tensor x = random_unit(shape, gen);
    const Tensor xd = x.to(gpu.device());
    std::vector<std::int64_t> ids(static_cast<std::size_t>(shape[0]));
    std::iota(ids.begin(), ids.end(), 31);
    for (const char* opts : {"", ",fill=noise,per_slice=1", ",volumetric=1,fill=noise"}) {
      for (Transform t : kAllTransforms) {
        const AugmentPolicy pol = AugmentPolicy::parse(std::string(transform_name(t)) + opts);
        INFO(pol.describe() << " on " << shape.str());
        const std::uint64_t seed = test::run_seed() + static_cast<std::uint64_t>(t);
        check_views(ops::augment_apply(gpu, xd, ids, t, pol, seed, 4, 1), ops::augment_apply(cpu, x, ids, t, pol, seed, 4, 1),
                    t == Transform::poisson);
      }
    }
  }
}

TEST_CASE("augment_two_views: policies on CUDA equal the CPU view for view") {
  Context gpu(Device::cuda(0)), cpu(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 1);
  const std::int64_t side = test::on_emulator(128, 2);  // boxes and cells scale with the image
  const Tensor x2 = random_unit(Shape{6, 1, side, side, 1}, gen);
  const Tensor x3 = random_unit(Shape{2, 16, 32, 32, 1}, gen);
  for (const Tensor* x : {&x2, &x3}) {
    std::vector<std::int64_t> ids(static_cast<std::size_t>(x->dim(0)));
    std::iota(ids.begin(), ids.end(), std::int64_t{1} << 40);
    const Tensor xd = x->to(gpu.device());
    for (const char* spec : {"genesis", "genesis,fill=noise,rotate_prob=0.5", "genesis,per_slice=1", "genesis,volumetric=1",
                             "poisson+flip", "shuffle+outpaint", "none", "genesis,poisson_prob=1"}) {
      const AugmentPolicy pol = AugmentPolicy::parse(spec);
      INFO(spec << " on " << x->describe());
      for (bool shift : {false, true})
        check_views(ops::augment_two_views(gpu, xd, ids, pol, test::run_seed(), 7, shift),
                    ops::augment_two_views(cpu, *x, ids, pol, test::run_seed(), 7, shift),
                    pol.config.mode != aug::Mode::fixed ? pol.config.poisson_prob > 0 : std::string(spec).find("poisson") != std::string::npos);
    }
  }
}
