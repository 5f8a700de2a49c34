// Synchronised batch norm on one process (the single communicator): the same results as the per-rank
// op, and the communicator factory's choices. The 2-rank checks are tests/mpi (CTest mpi.*).
#include "engine/communicator.h"
#include "engine/ops/batchnorm.h"
#include "engine/ops/batchnorm_sync.h"
#include "support/testing.h"

using namespace cmt;

TEST_CASE("sync batch norm on one rank equals batch norm (forward, running stats, backward)") {
  Context ctx(Device::cpu());
  std::mt19937_64 gen(test::run_seed());
  auto comm = make_communicator("single", nullptr);
  for (const Shape& s : {Shape{4, 1, 5, 3, 6}, Shape{2, 3, 2, 2, 5}}) {
    const std::int64_t c = s[4];
    const Tensor x = test::random_normal(s, gen, 2.f), dy = test::random_normal(s, gen);
    const Tensor gamma = test::random_normal(Shape{c}, gen), beta = test::random_normal(Shape{c}, gen);
    Tensor rm1 = test::random_normal(Shape{c}, gen), rv1 = Tensor::from_vector(std::vector<float>(static_cast<std::size_t>(c), 1.5f), Shape{c});
    Tensor rm2 = Tensor::from_vector(rm1.to_vector<float>(), Shape{c}), rv2 = Tensor::from_vector(rv1.to_vector<float>(), Shape{c});
    ops::BatchNormSaved s1;
    const Tensor y1 = ops::batchnorm_forward_train(ctx, x, gamma, beta, rm1, rv1, 0.1f, 1e-5f, s1);
    const ops::BatchNormGrads g1 = ops::batchnorm_backward(ctx, dy, x, gamma, s1);
    ops::SyncBatchNormSaved s2;
    const Tensor y2 = ops::batchnorm_sync_forward_train(ctx, *comm, x, gamma, beta, rm2, rv2, 0.1f, 1e-5f, s2);
    const ops::BatchNormGrads g2 = ops::batchnorm_sync_backward(ctx, *comm, dy, x, gamma, s2, 1e-5f);
    CHECK(s2.m_local == x.numel() / c);
    CHECK(s2.m_global == s2.m_local);
    CHECK_ALLCLOSE(y2.to_vector<float>(), y1.to_vector<float>(), 1e-5, 1e-5);
    CHECK_ALLCLOSE(rm2.to_vector<float>(), rm1.to_vector<float>(), 1e-6, 1e-5);
    CHECK_ALLCLOSE(rv2.to_vector<float>(), rv1.to_vector<float>(), 1e-6, 1e-5);
    CHECK_ALLCLOSE(g2.dx.to_vector<float>(), g1.dx.to_vector<float>(), 1e-5, 1e-4);
    CHECK_ALLCLOSE(g2.dgamma.to_vector<float>(), g1.dgamma.to_vector<float>(), 1e-5, 1e-5);
    CHECK_ALLCLOSE(g2.dbeta.to_vector<float>(), g1.dbeta.to_vector<float>(), 1e-5, 1e-5);
  }
}

TEST_CASE("communicator factory: single by default, clear errors for unknown kinds") {
  auto comm = make_communicator("auto", nullptr);  // CTest runs this without a launcher
  CHECK(comm->name() == "single");
  CHECK(comm->size() == 1);
  CHECK(comm->rank() == 0);
  CHECK(comm->all_reduce_scalar(2.5) == 2.5);
  CHECK_THROWS_WITH_AS(make_communicator("gloo", nullptr), doctest::Contains("unknown communicator 'gloo'"), Error);
  CHECK_THROWS_WITH_AS(make_communicator("nccl", nullptr), doctest::Contains("nccl"), Error);
}
