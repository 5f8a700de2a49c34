// The NCCL communicator with one rank on the device: its collectives are identities. (Synchronised
// batch norm and its kernels against the CPU are rows of tests/ops.)
#include "engine/communicator.h"
#include "support/testing.h"

using namespace cmt;

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
