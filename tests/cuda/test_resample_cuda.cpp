// CUDA against the CPU reference for the preprocessing ops (resample, window, min-max).
#include <random>

#include "engine/ops/resample.h"
#include "support/testing.h"

using namespace cmt;

TEST_CASE("resample/window/minmax: CUDA equals CPU") {
  std::mt19937_64 gen(test::run_seed());
  Context cpu;
  Context gpu(Device::cuda(0));
  for (auto [in, out] : {std::pair{Shape{2, 9, 17, 13, 1}, Shape{4, 8, 20}}, std::pair{Shape{1, 1, 64, 48, 3}, Shape{1, 16, 11}},
                         std::pair{Shape{3, 32, 32, 32, 1}, Shape{16, 16, 16}}}) {
    Tensor x = test::random_normal(in, gen);
    for (bool aa : {true, false}) {
      Tensor want = ops::resample(cpu, x, out[0], out[1], out[2], aa);
      Tensor got = ops::resample(gpu, x.to(Device::cuda(0)), out[0], out[1], out[2], aa);
      CHECK_ALLCLOSE(got, want, 1e-5, 1e-5);  // FMA contraction on the device: a few ulps
    }
    Tensor h = test::random_normal(in, gen, 800.f);
    CHECK_ALLCLOSE(ops::hu_window(gpu, h.to(Device::cuda(0)), -1000.f, 400.f), ops::hu_window(cpu, h, -1000.f, 400.f), 1e-6, 1e-6);
    CHECK_ALLCLOSE(ops::minmax_scale(gpu, h.to(Device::cuda(0))), ops::minmax_scale(cpu, h), 1e-6, 1e-5);
  }
}
