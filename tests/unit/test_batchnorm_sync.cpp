// Synchronised batch norm on one process (the single communicator): the same results as the per-rank
// op without a host sync, the merge of several ranks' moments, and the communicator factory's
// choices. The 2-rank checks are tests/mpi (CTest mpi.*).
#include "engine/communicator.h"
#include "engine/host_sync.h"
#include "engine/ops/batchnorm.h"
#include "engine/ops/batchnorm_sync.h"
#include "kernels/batchnorm.h"
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
    Tensor y2;
    ops::BatchNormGrads g2;
    {
      NoHostSyncScope no_sync("a synchronised batch norm step");  // the statistics stay on the device
      y2 = ops::batchnorm_sync_forward_train(ctx, *comm, x, gamma, beta, rm2, rv2, 0.1f, 1e-5f, s2);
      g2 = ops::batchnorm_sync_backward(ctx, *comm, dy, x, gamma, s2, 1e-5f);
    }
    CHECK(s2.m_local == x.numel() / c);
    CHECK(s2.count.to_vector<float>() == std::vector<float>{static_cast<float>(s2.m_local)});
    CHECK_ALLCLOSE(y2.to_vector<float>(), y1.to_vector<float>(), 1e-5, 1e-5);
    CHECK_ALLCLOSE(rm2.to_vector<float>(), rm1.to_vector<float>(), 1e-6, 1e-5);
    CHECK_ALLCLOSE(rv2.to_vector<float>(), rv1.to_vector<float>(), 1e-6, 1e-5);
    CHECK_ALLCLOSE(g2.dx.to_vector<float>(), g1.dx.to_vector<float>(), 1e-5, 1e-4);
    CHECK_ALLCLOSE(g2.dgamma.to_vector<float>(), g1.dgamma.to_vector<float>(), 1e-5, 1e-5);
    CHECK_ALLCLOSE(g2.dbeta.to_vector<float>(), g1.dbeta.to_vector<float>(), 1e-5, 1e-5);
  }
}

// The merge behind the all-gather: ranks of uneven sizes (one with a single row) whose mean is far
// from zero give the whole batch's statistics (the double two-pass reference).
TEST_CASE("sync batch norm moments of uneven ranks merge to the whole batch's statistics") {
  std::mt19937_64 gen(test::run_seed() + 7);
  const std::int64_t c = 5;
  const std::vector<std::int64_t> split = {7, 1, 30, 2};
  std::int64_t m = 0;
  for (std::int64_t n : split) m += n;
  Tensor x = test::random_normal(Shape{m, c}, gen, 3.f);
  for (std::int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] += 1000.f * static_cast<float>(1 + i % c);
  std::vector<float> rows(split.size() * static_cast<std::size_t>(2 + 2 * c));
  std::int64_t first = 0;
  for (std::size_t r = 0; r < split.size(); ++r) {
    cpu::batchnorm_moments(x.data<float>() + first * c, split[r], c, rows.data() + r * static_cast<std::size_t>(2 + 2 * c));
    first += split[r];
  }
  std::vector<float> rm1(c, 0.5f), rv1(c, 2.f), rm2 = rm1, rv2 = rv1, mean1(c), inv1(c), mean2(c), var2(c), inv2(c), count(1);
  cpu::batchnorm_train_stats(x.data<float>(), m, c, 0.1f, 1e-5f, rm1.data(), rv1.data(), mean1.data(), inv1.data());
  cpu::batchnorm_merge_moments(rows.data(), static_cast<std::int64_t>(split.size()), c, 0.1f, 1e-5f, rm2.data(), rv2.data(), mean2.data(),
                               var2.data(), inv2.data(), count.data());
  CHECK(count[0] == static_cast<float>(m));
  CHECK_ALLCLOSE(mean2, mean1, 0.0, 3e-7);  // an ulp or two
  // Each rank's mean travels as f32 (an ulp of ~5000 against a spread of 3): a few 1e-6 relative.
  CHECK_ALLCLOSE(inv2, inv1, 0.0, 3e-5);
  CHECK_ALLCLOSE(rm2, rm1, 0.0, 3e-7);
  CHECK_ALLCLOSE(rv2, rv1, 0.0, 3e-5);
  std::vector<float> var_from_inv(c);
  for (std::int64_t j = 0; j < c; ++j) var_from_inv[j] = 1.f / (inv1[j] * inv1[j]) - 1e-5f;
  CHECK_ALLCLOSE(var2, var_from_inv, 1e-4, 3e-5);
  // Counts past 2^24 travel as two floats: (2^24 + 3) values of 1 and 5 values of 4, M2 = 0 each.
  const float big = 16777216.f;
  const std::vector<float> two = {big, 3.f, 1.f, 0.f, 0.f, 5.f, 4.f, 0.f};
  float mean = 0, var = 0, inv = 0, rm = 0, rv = 0;
  cpu::batchnorm_merge_moments(two.data(), 2, 1, 1.f, 1e-5f, &rm, &rv, &mean, &var, &inv, count.data());
  const double n = 16777219.0, want_mean = (n + 20.0) / (n + 5.0), want_m2 = 9.0 * n * 5.0 / (n + 5.0);
  CHECK(mean == doctest::Approx(want_mean).epsilon(1e-7));
  CHECK(var == doctest::Approx(want_m2 / (n + 5.0)).epsilon(1e-6));
  CHECK(rv == doctest::Approx(want_m2 / (n + 4.0)).epsilon(1e-6));
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
