// Local pixel shuffling in several rounds at random grid offsets, the `paper` policy and the one-branch
// protocol (view 1 the identity), on CUDA against the CPU backend: every element of every view, on
// fresh random inputs.
#include <numeric>

#include "engine/ops/augment.h"
#include "support/testing.h"

using namespace cmt;

namespace {

std::vector<std::int64_t> sample_ids(std::int64_t n, std::int64_t first) {
  std::vector<std::int64_t> ids(static_cast<std::size_t>(n));
  std::iota(ids.begin(), ids.end(), first);
  return ids;
}

}  // namespace

TEST_CASE("augment_apply: shuffle rounds on CUDA equal the CPU, 2D, per slice and 3D") {
  Context gpu(Device::cuda(0)), cpu(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 21);
  // 50 is not a multiple of its cell (5 with shuffle_div 10 fits; 7 with shuffle_div 7 leaves a clipped cell).
  for (const Shape& shape : {Shape{3, 1, 64, 50, 1}, Shape{2, 6, 30, 30, 1}}) {
    const Tensor x = test::random_uniform(shape, gen);
    const Tensor xd = x.to(gpu.device());
    const auto ids = sample_ids(shape[0], 77);
    for (const char* spec :
         {"shuffle,shuffle_rounds=6", "shuffle,shuffle_rounds=32,shuffle_div=7", "shuffle,shuffle_rounds=3,per_slice=1",
          "shuffle,shuffle_rounds=4,volumetric=1", "shuffle,shuffle_rounds=5,shuffle_windows=30"}) {
      const AugmentPolicy pol = AugmentPolicy::parse(spec);
      INFO(spec << " on " << shape.str() << ", seed " << test::run_seed());
      const std::uint64_t seed = test::run_seed() + 3;
      const Tensor got = ops::augment_apply(gpu, xd, ids, Transform::shuffle, pol, seed, 2, 1).to(Device::cpu());
      CHECK_ALLCLOSE(got, ops::augment_apply(cpu, x, ids, Transform::shuffle, pol, seed, 2, 1), 0.0, 0.0);
    }
  }
}

TEST_CASE("augment_two_views: the paper policy without Poisson noise, and one branch, on CUDA equal the CPU view for view") {
  // Poisson noise may differ by a count in rare pixels (libm against CUDA); test_augment_cuda.cpp
  // covers it with that allowance. Everything else of the paper policy must match exactly.
  Context gpu(Device::cuda(0)), cpu(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 22);
  const std::int64_t side = test::on_emulator(64, 2);
  for (const Shape& shape : {Shape{4, 1, side, side, 1}, Shape{2, 8, 24, 24, 1}}) {
    const Tensor x = test::random_uniform(shape, gen);
    const auto ids = sample_ids(shape[0], std::int64_t{1} << 33);
    for (const char* spec : {"paper,poisson_prob=0", "paper,poisson_prob=0,per_slice=1", "genesis,one_branch=1",
                             "rotate+shuffle,one_branch=1,shuffle_rounds=3"}) {
      const AugmentPolicy pol = AugmentPolicy::parse(spec);
      INFO(spec << " on " << shape.str() << ", seed " << test::run_seed());
      const Tensor got = ops::augment_two_views(gpu, x.to(gpu.device()), ids, pol, test::run_seed(), 5, true).to(Device::cpu());
      CHECK_ALLCLOSE(got, ops::augment_two_views(cpu, x, ids, pol, test::run_seed(), 5, true), 0.0, 0.0);
    }
  }
}
