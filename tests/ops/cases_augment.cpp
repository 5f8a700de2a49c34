// Cases of the augmentation family: each of the seven transformations under three option sets, whole
// policies making two views, shuffling in several rounds, the paper policy and the one-branch
// protocol, 2D and 3D. Exact for every transformation but Poisson noise, whose
// exp/log/lgamma differ in the last ulp between the host libm and CUDA: there a rare sample may land
// a count or two away at the smallest scale (at most 0.1% of the elements).
#include <numeric>

#include "engine/ops/augment.h"
#include "ops/op_case.h"

namespace cmt::opcase {
namespace {

const Check kPoisson = Check::counts(2.0 / 30.0 + 1e-6, 1e-3);

std::vector<std::int64_t> ids(std::int64_t n, std::int64_t first) {
  std::vector<std::int64_t> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), first);
  return v;
}

std::function<Tensors(std::mt19937_64&)> images(Shape s) {
  return [s](std::mt19937_64& gen) { return Tensors{{"x", uniform(s, gen, 0.f, 1.f)}, {"seed", seed_tensor(gen)}}; };
}

std::vector<OpCase> augment_cases() {
  std::vector<OpCase> rows;
  for (const Shape& shape : {Shape{5, 1, 96, 96, 1}, Shape{2, 12, 40, 40, 1}}) {
    for (const char* opts : {"", ",fill=noise,per_slice=1", ",volumetric=1,fill=noise"}) {
      rows.push_back({.family = "augment", .name = text("each transformation", opts, " ", dims(shape)), .inputs = images(shape),
                      .run = [opts](Context& ctx, const Tensors& in) {
                        const Tensor& x = in.at("x");
                        Tensors out;
                        for (Transform t : kAllTransforms) {
                          const AugmentPolicy pol = AugmentPolicy::parse(std::string(transform_name(t)) + opts);
                          const std::uint64_t seed = seed_of(in) + static_cast<std::uint64_t>(t);
                          out[std::string(transform_name(t))] = ops::augment_apply(ctx, x, ids(x.dim(0), 31), t, pol, seed, 4, 1);
                        }
                        return out;
                      },
                      .checks = {{std::string(transform_name(Transform::poisson)), kPoisson}}});
    }
  }
  const std::int64_t side = on_emulator(128, 2);  // boxes and cells scale with the image
  const char* specs[] = {"paper", "genesis", "genesis,fill=noise,rotate_prob=0.5", "genesis,per_slice=1", "genesis,volumetric=1",
                         "poisson+flip", "shuffle+outpaint", "none", "genesis,poisson_prob=1"};
  for (const Shape& shape : {Shape{6, 1, side, side, 1}, Shape{2, 16, 32, 32, 1}}) {
    std::map<std::string, Check> checks;
    for (const char* spec : specs) {
      const AugmentPolicy pol = AugmentPolicy::parse(spec);
      const bool noisy = pol.config.mode != aug::Mode::fixed ? pol.config.poisson_prob > 0 : std::string(spec).find("poisson") != std::string::npos;
      if (noisy)
        for (const char* shift : {" shifted", ""}) checks[spec + std::string(shift)] = kPoisson;
    }
    rows.push_back({.family = "augment", .name = text("policies two views ", dims(shape)), .inputs = images(shape),
                    .run = [specs](Context& ctx, const Tensors& in) {
                      const Tensor& x = in.at("x");
                      Tensors out;
                      for (const char* spec : specs)
                        for (bool shift : {false, true})
                          out[spec + std::string(shift ? " shifted" : "")] =
                              ops::augment_two_views(ctx, x, ids(x.dim(0), std::int64_t{1} << 40), AugmentPolicy::parse(spec), seed_of(in), 7, shift);
                      return out;
                    },
                    .checks = checks});
  }
  // Local pixel shuffling in several rounds at random grid offsets. 50 is not a multiple of its cell
  // (5 with shuffle_div 10 fits; 7 with shuffle_div 7 leaves a clipped cell).
  for (const Shape& shape : {Shape{3, 1, 64, 50, 1}, Shape{2, 6, 30, 30, 1}}) {
    rows.push_back({.family = "augment", .name = text("shuffle rounds ", dims(shape)), .inputs = images(shape),
                    .run = [](Context& ctx, const Tensors& in) {
                      const Tensor& x = in.at("x");
                      Tensors out;
                      for (const char* spec : {"shuffle,shuffle_rounds=6", "shuffle,shuffle_rounds=32,shuffle_div=7",
                                               "shuffle,shuffle_rounds=3,per_slice=1", "shuffle,shuffle_rounds=4,volumetric=1",
                                               "shuffle,shuffle_rounds=5,shuffle_windows=30"})
                        out[spec] = ops::augment_apply(ctx, x, ids(x.dim(0), 77), Transform::shuffle, AugmentPolicy::parse(spec), seed_of(in), 2, 1);
                      return out;
                    }});
  }
  // The paper policy (Poisson noise aside: the rows above allow it its count), per slice, and the
  // one-branch protocol (view 1 the identity): exact.
  const std::int64_t paper_side = on_emulator(64, 2);
  for (const Shape& shape : {Shape{4, 1, paper_side, paper_side, 1}, Shape{2, 8, 24, 24, 1}}) {
    rows.push_back({.family = "augment", .name = text("paper policy and one branch ", dims(shape)), .inputs = images(shape),
                    .run = [](Context& ctx, const Tensors& in) {
                      const Tensor& x = in.at("x");
                      Tensors out;
                      for (const char* spec : {"paper,poisson_prob=0", "paper,poisson_prob=0,per_slice=1", "genesis,one_branch=1",
                                               "rotate+shuffle,one_branch=1,shuffle_rounds=3"})
                        out[spec] = ops::augment_two_views(ctx, x, ids(x.dim(0), std::int64_t{1} << 33), AugmentPolicy::parse(spec), seed_of(in), 5, true);
                      return out;
                    }});
  }
  return rows;
}

const Rows augment_rows(augment_cases);

}  // namespace
}  // namespace cmt::opcase
