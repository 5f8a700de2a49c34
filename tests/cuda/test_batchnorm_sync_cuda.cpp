// Synchronised batch norm on CUDA (one rank) against the CPU per-rank op, without a host sync; its
// kernels (moments, merge, backward coefficients) against the CPU reference, f32 and bf16 inputs.
#include "engine/communicator.h"
#include "engine/host_sync.h"
#include "engine/ops/basic.h"
#include "engine/ops/batchnorm.h"
#include "engine/ops/batchnorm_sync.h"
#include "kernels/batchnorm.h"
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
  Tensor y2;
  ops::BatchNormGrads g2;
  {
    NoHostSyncScope no_sync("a synchronised batch norm step");  // no statistic read back on the host
    y2 = ops::batchnorm_sync_forward_train(gpu, *comm, xg, gg, bg, rm2, rv2, 0.1f, 1e-5f, s2);
    g2 = ops::batchnorm_sync_backward(gpu, *comm, dyg, xg, gg, s2, 1e-5f);
  }
  CHECK(s2.count.to(Device::cpu()).to_vector<float>() == std::vector<float>{static_cast<float>(x.numel() / c)});
  CHECK_ALLCLOSE(y2.to(Device::cpu()).to_vector<float>(), y1.to_vector<float>(), 1e-5, 1e-5);
  CHECK_ALLCLOSE(rm2.to(Device::cpu()).to_vector<float>(), rm1.to_vector<float>(), 1e-6, 1e-5);
  CHECK_ALLCLOSE(rv2.to(Device::cpu()).to_vector<float>(), rv1.to_vector<float>(), 1e-6, 1e-5);
  CHECK_ALLCLOSE(g2.dx.to(Device::cpu()).to_vector<float>(), g1.dx.to_vector<float>(), 1e-5, 1e-4);
  CHECK_ALLCLOSE(g2.dgamma.to(Device::cpu()).to_vector<float>(), g1.dgamma.to_vector<float>(), 1e-4, 1e-5);
  CHECK_ALLCLOSE(g2.dbeta.to(Device::cpu()).to_vector<float>(), g1.dbeta.to_vector<float>(), 1e-4, 1e-5);
}

TEST_CASE("sync batch norm kernels on CUDA match the CPU: moments rows, their merge, backward coefficients") {
  Context gpu(Device::cuda(0)), cpu(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 3);
  const auto G = [&](const Tensor& t) { return t.to(gpu.device()); };
  // Moments: one row, several chunks (200 rows: 4 of them, the last short); f32 and bf16.
  const std::int64_t c = 5;
  const std::vector<std::int64_t> ms = {1, 200, 37};
  const std::int64_t w = 2 + 2 * c;
  Tensor rows_cpu = Tensor::empty(Shape{static_cast<std::int64_t>(ms.size()), w}, DType::f32);
  Tensor rows_gpu = Tensor::empty(rows_cpu.shape(), DType::f32, gpu.device());
  for (std::size_t r = 0; r < ms.size(); ++r) {
    CAPTURE(ms[r]);
    Tensor x = test::random_normal(Shape{ms[r], c}, gen, 2.f);
    for (std::int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] += 10.f * static_cast<float>(r + 1);
    const Tensor xg = G(x);
    const std::int64_t off = static_cast<std::int64_t>(r) * w;
    cpu::batchnorm_moments(x.data<float>(), ms[r], c, rows_cpu.data<float>() + off);
    void* ws = gpu.workspace(cuda::batchnorm_workspace_bytes(ms[r], c));
    cuda::batchnorm_moments(xg.data<float>(), ms[r], c, rows_gpu.data<float>() + off, ws, gpu.compute_stream());
    const Tensor xb = ops::cast(cpu, x, DType::bf16), xbg = G(xb);
    Tensor rb_cpu = Tensor::empty(Shape{w}, DType::f32), rb_gpu = Tensor::empty(Shape{w}, DType::f32, gpu.device());
    cpu::batchnorm_moments(xb.data_u16(), ms[r], c, rb_cpu.data<float>());
    cuda::batchnorm_moments(xbg.data_u16(), ms[r], c, rb_gpu.data<float>(), ws, gpu.compute_stream());
    CHECK_ALLCLOSE(rb_gpu, rb_cpu, 1e-4, 1e-5);
  }
  CHECK_ALLCLOSE(rows_gpu, rows_cpu, 1e-4, 1e-5);
  // Merge: the three rows above as three ranks, then with a first count that needs both floats (2^24 + 3).
  for (bool big : {false, true}) {
    CAPTURE(big);
    Tensor rows = rows_cpu;
    if (big) {
      rows = Tensor::from_vector(rows_cpu.to_vector<float>(), rows_cpu.shape());
      rows.data<float>()[0] = 16777216.f;
      rows.data<float>()[1] = 3.f;
    }
    const Tensor rows_g = G(rows);
    Tensor rm = test::random_normal(Shape{c}, gen), rv = Tensor::from_vector(std::vector<float>(c, 1.5f), Shape{c});
    Tensor rm_g = G(rm), rv_g = G(rv);
    std::vector<Tensor> out_c, out_g;
    for (int k = 0; k < 4; ++k) {
      out_c.push_back(Tensor::empty(Shape{k == 3 ? 1 : c}, DType::f32));
      out_g.push_back(Tensor::empty(Shape{k == 3 ? 1 : c}, DType::f32, gpu.device()));
    }
    cpu::batchnorm_merge_moments(rows.data<float>(), 3, c, 0.1f, 1e-5f, rm.data<float>(), rv.data<float>(), out_c[0].data<float>(),
                                 out_c[1].data<float>(), out_c[2].data<float>(), out_c[3].data<float>());
    cuda::batchnorm_merge_moments(rows_g.data<float>(), 3, c, 0.1f, 1e-5f, rm_g.data<float>(), rv_g.data<float>(), out_g[0].data<float>(),
                                  out_g[1].data<float>(), out_g[2].data<float>(), out_g[3].data<float>(), gpu.compute_stream());
    CHECK_ALLCLOSE(rm_g, rm, 1e-7, 1e-6);
    CHECK_ALLCLOSE(rv_g, rv, 1e-7, 1e-6);
    for (int k = 0; k < 4; ++k) CHECK_ALLCLOSE(out_g[k], out_c[k], 1e-7, 1e-6);
    CHECK(out_c[3].to_vector<float>()[0] == (big ? 16777216.f + 240.f : 238.f));
  }
  // Backward coefficients from local and global sums.
  const Tensor dgamma = test::random_normal(Shape{c}, gen), dbeta = test::random_normal(Shape{c}, gen);
  const Tensor sums = test::random_normal(Shape{2 * c}, gen, 3.f), gamma = test::random_normal(Shape{c}, gen);
  const Tensor invstd = Tensor::from_vector(std::vector<float>{0.5f, 1.f, 2.f, 3.f, 0.25f}, Shape{c});
  const Tensor count = Tensor::from_vector(std::vector<float>{90.f}, Shape{1});
  Tensor a = Tensor::empty(Shape{c}, DType::f32), b = Tensor::empty(Shape{c}, DType::f32);
  Tensor ag = Tensor::empty(Shape{c}, DType::f32, gpu.device()), bg = Tensor::empty(Shape{c}, DType::f32, gpu.device());
  cpu::batchnorm_sync_coefficients(dgamma.data<float>(), dbeta.data<float>(), sums.data<float>(), c, 30, count.data<float>(),
                                   gamma.data<float>(), invstd.data<float>(), a.data<float>(), b.data<float>());
  const Tensor dgg = G(dgamma), dbg = G(dbeta), sg = G(sums), cg = G(count), gg = G(gamma), ig = G(invstd);
  cuda::batchnorm_sync_coefficients(dgg.data<float>(), dbg.data<float>(), sg.data<float>(), c, 30, cg.data<float>(), gg.data<float>(),
                                    ig.data<float>(), ag.data<float>(), bg.data<float>(), gpu.compute_stream());
  CHECK_ALLCLOSE(ag, a, 1e-7, 1e-6);
  CHECK_ALLCLOSE(bg, b, 1e-7, 1e-6);
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
