// Synchronised batch norm on CUDA (one rank) against the CPU per-rank op, f32 and bf16 inputs.
#include "engine/communicator.h"
#include "engine/ops/basic.h"
#include "engine/ops/batchnorm.h"
#include "engine/ops/batchnorm_sync.h"
#include "support/testing.h"

using namespace cmt;

TEST_CASE("sync batch norm on CUDA equals the CPU batch norm") {
  Context gpu(Device::cuda(0)), cpu(Device::cpu());
  std::mt19937_64 gen(test::run_seed());
  auto comm = make_communicator("single", &gpu);
  const Shape s{3, 2, 4, 4, 7};
  const std::int64_t c = s[4];
  const Tensor x = test::random_normal(s, gen, 2.f), dy = test::random_normal(s, gen);
  const Tensor gamma = test::random_normal(Shape{c}, gen), beta = test::random_normal(Shape{c}, gen);
  Tensor rm1 = Tensor::from_vector(std::vector<float>(static_cast<std::size_t>(c), 0.f), Shape{c});
  Tensor rv1 = Tensor::from_vector(std::vector<float>(static_cast<std::size_t>(c), 1.f), Shape{c});
  Tensor rm2 = rm1.to(gpu.device()), rv2 = rv1.to(gpu.device());
  ops::BatchNormSaved s1;
  const Tensor y1 = ops::batchnorm_forward_train(cpu, x, gamma, beta, rm1, rv1, 0.1f, 1e-5f, s1);
  const ops::BatchNormGrads g1 = ops::batchnorm_backward(cpu, dy, x, gamma, s1);
  ops::SyncBatchNormSaved s2;
  const Tensor xg = x.to(gpu.device()), dyg = dy.to(gpu.device()), gg = gamma.to(gpu.device()), bg = beta.to(gpu.device());
  const Tensor y2 = ops::batchnorm_sync_forward_train(gpu, *comm, xg, gg, bg, rm2, rv2, 0.1f, 1e-5f, s2);
  const ops::BatchNormGrads g2 = ops::batchnorm_sync_backward(gpu, *comm, dyg, xg, gg, s2, 1e-5f);
  CHECK_ALLCLOSE(y2.to(Device::cpu()).to_vector<float>(), y1.to_vector<float>(), 1e-5, 1e-5);
  CHECK_ALLCLOSE(rm2.to(Device::cpu()).to_vector<float>(), rm1.to_vector<float>(), 1e-6, 1e-5);
  CHECK_ALLCLOSE(rv2.to(Device::cpu()).to_vector<float>(), rv1.to_vector<float>(), 1e-6, 1e-5);
  CHECK_ALLCLOSE(g2.dx.to(Device::cpu()).to_vector<float>(), g1.dx.to_vector<float>(), 1e-5, 1e-4);
  CHECK_ALLCLOSE(g2.dgamma.to(Device::cpu()).to_vector<float>(), g1.dgamma.to_vector<float>(), 1e-4, 1e-5);
  CHECK_ALLCLOSE(g2.dbeta.to(Device::cpu()).to_vector<float>(), g1.dbeta.to_vector<float>(), 1e-4, 1e-5);
}

#if defined(CMT_WITH_NCCL) && defined(CMT_WITH_MPI)
TEST_CASE("NCCL communicator with one rank: all-reduce, all-gather and broadcast are identities") {
  Context gpu(Device::cuda(0));
  std::mt19937_64 gen(test::run_seed() + 1);
  auto comm = make_communicator("nccl", &gpu);  // MPI singleton init: runs without mpirun
  REQUIRE(comm->size() == 1);
  const Tensor h = test::random_small_ints(Shape{5, 33}, gen);
  Tensor d = h.to(gpu.device());
  comm->all_reduce_sum(gpu, d);
  CHECK_ALLCLOSE(d.to(Device::cpu()).to_vector<float>(), h.to_vector<float>(), 0.0, 0.0);
  const Tensor all = comm->all_gather_rows(gpu, d);
  CHECK(all.shape() == h.shape());
  CHECK_ALLCLOSE(all.to(Device::cpu()).to_vector<float>(), h.to_vector<float>(), 0.0, 0.0);
  comm->broadcast(gpu, d, 0);
  CHECK_ALLCLOSE(d.to(Device::cpu()).to_vector<float>(), h.to_vector<float>(), 0.0, 0.0);
}
#endif
