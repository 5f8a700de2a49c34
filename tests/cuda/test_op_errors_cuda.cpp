// What the CUDA ops refuse and report, beside their results (rows of tests/ops): batch norm on one
// value per channel or on a CPU tensor, and the convolution plan report.
#include "engine/ops/batchnorm.h"
#include "engine/ops/conv.h"
#include "support/testing.h"

using namespace cmt;

TEST_CASE("batchnorm CUDA refuses N*D*H*W == 1 and CPU tensors") {
  Context gpu(Device::cuda(0));
  Tensor x = Tensor::empty(Shape{1, 1, 1, 1, 4}, DType::f32, gpu.device());
  Tensor v = Tensor::empty(Shape{4}, DType::f32, gpu.device());
  ops::BatchNormSaved saved;
  CHECK_THROWS_WITH_AS(ops::batchnorm_forward_train(gpu, x, v, v, v, v, 0.1f, 1e-5f, saved),
                       doctest::Contains("more than 1 value per channel"), Error);
  Tensor xc = Tensor::empty(Shape{2, 1, 1, 1, 4}, DType::f32);
  CHECK_THROWS_WITH_AS(ops::batchnorm_forward_eval(gpu, xc, v, v, v, v, 1e-5f), doctest::Contains("'x' is on cpu"), Error);
}

TEST_CASE("conv CUDA ops: the plan report names the plan each pass took") {
  Context gpu(Device::cuda(0));
  std::mt19937_64 gen(test::run_seed() + 4);
  ops::ConvParams p;
  p.padding = {0, 1, 1};
  const Tensor x = test::random_small_ints(Shape{2, 1, 6, 5, 8}, gen).to(gpu.device());
  const Tensor w = test::random_small_ints(Shape{16, 1, 3, 3, 8}, gen).to(gpu.device());
  const Tensor b = test::random_small_ints(Shape{16}, gen).to(gpu.device());
  gpu.precision.compute = ComputePrecision::fp32;
  ops::conv_forward(gpu, x, w, b, p);
  gpu.synchronize();
  CHECK(ops::conv_plan_report().find("fprop fp32") != std::string::npos);
}
