// Softmax cross-entropy with class weights and label smoothing (torch's definition).
// cmt::cpu holds the CPU reference, cmt::cuda the CUDA launchers with the same contract. The CUDA part
// needs no CUDA headers (kernels/common/stream.h forward-declares the handle types) and is declared
// only in CUDA builds, the only ones that define it.
#pragma once
#include <cstddef>
#include <cstdint>

// CPU reference.
namespace cmt::cpu {

// logits (n, k), labels [n] in [0, k), weights [k] or null. Writes probs (n, k), the loss and sum_n w[y_n].
// Throws cmt::Error on a label out of range.
void cross_entropy_forward(const float* logits, const std::int32_t* labels, const float* weights, float smoothing,
                           std::int64_t n, std::int64_t k, float* probs, float* loss, float* weight_sum);
// dlogits[n,j] = dloss / W * (A_n p[n,j] - a[n,j]), a[n,j] = (1-ls) w[y_n] [j==y_n] + (ls/k) w[j], A_n = sum_j a[n,j].
void cross_entropy_backward(const float* probs, const std::int32_t* labels, const float* weights, float smoothing,
                            std::int64_t n, std::int64_t k, float weight_sum, float dloss, float* dlogits);

}  // namespace cmt::cpu

#if defined(CMT_WITH_CUDA)
#include "kernels/common/stream.h"

// CUDA launchers. The loss and weight_sum stay on the device.
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
#endif  // CMT_WITH_CUDA
