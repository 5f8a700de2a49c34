// CUDA launchers of softmax cross-entropy; same contract as kernels/cpu/cross_entropy.h (loss, weight_sum on device).
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/common/stream.h"

namespace cmt::cuda {

// Labels outside [0, k) give a NaN loss (a device cannot throw; the trainer's NaN check reports it).
std::size_t cross_entropy_workspace_bytes(std::int64_t n);
void cross_entropy_forward(const float* logits, const std::int32_t* labels, const float* weights, float smoothing,
                           std::int64_t n, std::int64_t k, float* probs, float* loss, float* weight_sum,
                           void* workspace, cudaStream_t stream);
void cross_entropy_backward(const float* probs, const std::int32_t* labels, const float* weights, float smoothing,
                            std::int64_t n, std::int64_t k, const float* weight_sum, float dloss, float* dlogits,
                            cudaStream_t stream);

}  // namespace cmt::cuda
