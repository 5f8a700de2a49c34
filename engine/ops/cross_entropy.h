// Softmax cross-entropy with integer labels, class weights and label smoothing (torch's F.cross_entropy).
#pragma once
#include "engine/context.h"
#include "engine/tensor.h"

namespace cmt::ops {

struct CrossEntropyResult {
  Tensor loss;   // f32 [1]
  Tensor probs;  // f32 (N,K), softmax of the logits (for metrics and backward)
  Tensor weight_sum;  // f32 [1], sum_n w[y_n] (N when unweighted): the loss's denominator, for backward
};

// logits (N,K) f32, labels (N) i32 in [0,K), class_weights [K] f32 or undefined.
// loss_n = -(1-ls) * w[y_n] * log p[n,y_n] - (ls/K) * sum_k w[k] log p[n,k]; the loss is sum_n loss_n / sum_n w[y_n]
// (the mean over the batch when unweighted), exactly like F.cross_entropy(weight=, label_smoothing=).
CrossEntropyResult cross_entropy_forward(Context& ctx, const Tensor& logits, const Tensor& labels,
                                         const Tensor& class_weights, float label_smoothing);
// dlogits (N,K) for an upstream gradient dloss of the scalar loss.
Tensor cross_entropy_backward(Context& ctx, const CrossEntropyResult& fwd, const Tensor& labels,
                              const Tensor& class_weights, float label_smoothing, float dloss);

}  // namespace cmt::ops
