// Tensor-level entry points of the NT-Xent loss (SimCLR's contrastive loss, paper section 3.2.2),
// single-rank and multi-rank forms. Definition and conventions: docs/ntxent.md.
#pragma once
#include <cstdint>

#include "engine/context.h"
#include "engine/tensor.h"

namespace cmt::ops {

struct NtXentResult {
  Tensor loss;      // [1] f32: mean of row_loss over the rows of the global batch (R_total)
  Tensor row_loss;  // [R] f32: l_i per row given
  Tensor pos_sim;   // [R] f32: cosine similarity of each row with its partner
};

// r: (2N, d) f32, rows 2k and 2k+1 are the two views of sample k. L = mean of l_i over 2N rows.
NtXentResult ntxent_forward(Context& ctx, const Tensor& r, float tau = 0.1f);
// dL/dr (2N, d) for the loss dloss * L.
Tensor ntxent_backward(Context& ctx, const Tensor& r, float tau, float dloss);

// Forward and backward of one step together (the trainer's usual call): on CUDA, 2N <= 256 takes two
// launches in all; larger batches get the forward results from the backward's own pass.
struct NtXentStep {
  NtXentResult result;
  Tensor dr;  // (2N, d): gradient of dloss * L
};
NtXentStep ntxent_forward_backward(Context& ctx, const Tensor& r, float tau, float dloss);

// Multi-rank form: local (R_local, d) are rows [row_offset, row_offset + R_local) of all (R_total, d),
// the gathered rows of every rank. loss = sum of the local l_i / R_total, so that the sum of `loss`
// over ranks is the single-rank loss.
NtXentResult ntxent_forward_partial(Context& ctx, const Tensor& local, const Tensor& all, std::int64_t row_offset,
                                    float tau);

// d_local (R_local, d): gradient through the local rows as queries (rows of the softmax).
// d_all (R_total, d): gradient through every gathered row as a key (column) of the local rows'
// softmaxes. The caller sums d_all over ranks back to the owners (reduce-scatter) and adds d_local:
// sum over ranks of (d_local at its offset + d_all) equals the single-rank gradient.
struct NtXentPartialGrads {
  Tensor d_local;
  Tensor d_all;
};
NtXentPartialGrads ntxent_backward_partial(Context& ctx, const Tensor& local, const Tensor& all,
                                           std::int64_t row_offset, float tau, float dloss);

// Both of the multi-rank form in one pass over the similarities (the trainer's call on several
// ranks): the forward's results are by-products of the backward's softmax.
struct NtXentPartialStep {
  NtXentResult result;
  NtXentPartialGrads grads;
};
NtXentPartialStep ntxent_forward_backward_partial(Context& ctx, const Tensor& local, const Tensor& all,
                                                  std::int64_t row_offset, float tau, float dloss);

}  // namespace cmt::ops
