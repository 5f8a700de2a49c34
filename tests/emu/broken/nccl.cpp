// NCCL: a collective handed a host buffer. One rank, so no MPI is needed.
#include <cuda_runtime.h>
#include <nccl.h>

#include <vector>

#include "broken.h"

namespace cmt::emu_broken {

namespace {

CMT_BROKEN_CASE(nccl_host_pointer, "nccl-host-pointer")
void nccl_host_pointer(bool fixed) {
  ncclUniqueId id;
  NCCL_CHECK(ncclGetUniqueId(&id));
  ncclComm_t comm = nullptr;
  NCCL_CHECK(ncclCommInitRank(&comm, 1, id, 0));
  std::vector<float> grads(64);
  for (std::size_t i = 0; i < grads.size(); ++i) grads[i] = 0.25f * static_cast<float>(i);
  if (fixed) {
    DeviceBuffer<float> d_grads(grads);
    NCCL_CHECK(ncclAllReduce(d_grads.get(), d_grads.get(), grads.size(), ncclFloat32, ncclSum, comm, nullptr));
    CUDA_CHECK(cudaDeviceSynchronize());
    expect_equal(d_grads.host(), grads, "one-rank all-reduce");
  } else {
    // Bug: the gradients were never copied to the device.
    NCCL_CHECK(ncclAllReduce(grads.data(), grads.data(), grads.size(), ncclFloat32, ncclSum, comm, nullptr));
    CUDA_CHECK(cudaDeviceSynchronize());
  }
  NCCL_CHECK(ncclCommDestroy(comm));
}

}  // namespace

}  // namespace cmt::emu_broken
