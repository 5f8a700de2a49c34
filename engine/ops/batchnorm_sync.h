// Synchronised batch normalisation: batch statistics over the global batch of every rank (small
// per-GPU CT batches need it). Built on the per-rank batchnorm ops plus two small collectives; the
// statistics stay on the device (no host read), so a step with it may run under a NoHostSyncScope.
#pragma once
#include <cstdint>

#include "engine/communicator.h"
#include "engine/ops/batchnorm.h"

namespace cmt::ops {

struct SyncBatchNormSaved {
  BatchNormSaved global;     // global mean and invstd [C] (for the per-rank backward op)
  Tensor var;                // global biased variance [C]
  Tensor count;              // f32 [1] on the device: elements per channel on all ranks
  std::int64_t m_local = 0;  // elements per channel on this rank
};

// x (N,D,H,W,C) f32 or bf16: like batchnorm_forward_train, with the mean and biased variance of the
// concatenation of every rank's x (ranks may hold different N; one value per channel on a rank is
// fine with 2+ ranks). Running stats get the global values.
Tensor batchnorm_sync_forward_train(Context& ctx, Communicator& comm, const Tensor& x, const Tensor& gamma,
                                    const Tensor& beta, Tensor& running_mean, Tensor& running_var, float momentum,
                                    float eps, SyncBatchNormSaved& saved);
// dx is the gradient through the global statistics (sums of dy and dy*xhat all-reduced); dgamma and
// dbeta are this rank's contributions (the trainer's gradient all-reduce sums them).
BatchNormGrads batchnorm_sync_backward(Context& ctx, Communicator& comm, const Tensor& dy, const Tensor& x,
                                       const Tensor& gamma, const SyncBatchNormSaved& saved, float eps);

}  // namespace cmt::ops
