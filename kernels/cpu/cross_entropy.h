// CPU reference of softmax cross-entropy with class weights and label smoothing (torch's definition).
#pragma once
#include <cstdint>

namespace cmt::cpu {

// logits (n, k), labels [n] in [0, k), weights [k] or null. Writes probs (n, k), the loss and sum_n w[y_n].
// Throws cmt::Error on a label out of range.
void cross_entropy_forward(const float* logits, const std::int32_t* labels, const float* weights, float smoothing,
                           std::int64_t n, std::int64_t k, float* probs, float* loss, float* weight_sum);
// dlogits[n,j] = dloss / W * (A_n p[n,j] - a[n,j]), a[n,j] = (1-ls) w[y_n] [j==y_n] + (ls/k) w[j], A_n = sum_j a[n,j].
void cross_entropy_backward(const float* probs, const std::int32_t* labels, const float* weights, float smoothing,
                            std::int64_t n, std::int64_t k, float weight_sum, float dloss, float* dlogits);

}  // namespace cmt::cpu
