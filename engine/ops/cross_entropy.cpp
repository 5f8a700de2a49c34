// Softmax cross-entropy: validation and dispatch.
#include "engine/ops/cross_entropy.h"

#include "engine/ops/validate.h"
#include "kernels/cross_entropy.h"

namespace cmt::ops {

using namespace detail;

namespace {

void check_args(const Context& ctx, const Tensor& logits, const Tensor& labels, const Tensor& weights,
                float smoothing, const char* op) {
  require_f32(ctx, logits, op, "logits");
  require_rank(logits, 2, op, "logits");
  CMT_CHECK(logits.numel() > 0, op << ": 'logits' is empty " << logits.describe());
  require_on(ctx, labels, op, "labels");
  require_dtype(labels, DType::i32, op, "labels");
  CMT_CHECK(labels.rank() == 1 && labels.dim(0) == logits.dim(0),
            op << ": 'labels' must be i32[" << logits.dim(0) << "], got " << labels.describe());
  if (weights.defined()) require_vector(ctx, weights, logits.dim(1), op, "class_weights");
  CMT_CHECK(smoothing >= 0.f && smoothing <= 1.f, op << ": label_smoothing must be in [0, 1], got " << smoothing);
}

}  // namespace

CrossEntropyResult cross_entropy_forward(Context& ctx, const Tensor& logits, const Tensor& labels,
                                         const Tensor& class_weights, float label_smoothing) {
  const char* op = "cross_entropy_forward";
  check_args(ctx, logits, labels, class_weights, label_smoothing, op);
  const std::int64_t n = logits.dim(0), k = logits.dim(1);
  const float* w = class_weights.defined() ? class_weights.data<float>() : nullptr;
  CrossEntropyResult r{Tensor::empty(Shape{1}, DType::f32, logits.device()),
                       Tensor::empty(logits.shape(), DType::f32, logits.device()),
                       Tensor::empty(Shape{1}, DType::f32, logits.device())};
  CMT_DISPATCH(ctx, op,
               cuda::cross_entropy_forward(logits.data<float>(), labels.data<std::int32_t>(), w, label_smoothing, n, k,
                                           r.probs.data<float>(), r.loss.data<float>(), r.weight_sum.data<float>(),
                                           ctx.workspace(cuda::cross_entropy_workspace_bytes(n)), ctx.compute_stream()),
               cpu::cross_entropy_forward(logits.data<float>(), labels.data<std::int32_t>(), w, label_smoothing, n, k,
                                          r.probs.data<float>(), r.loss.data<float>(), r.weight_sum.data<float>()));
  return r;
}

Tensor cross_entropy_backward(Context& ctx, const CrossEntropyResult& fwd, const Tensor& labels,
                              const Tensor& class_weights, float label_smoothing, float dloss) {
  const char* op = "cross_entropy_backward";
  check_args(ctx, fwd.probs, labels, class_weights, label_smoothing, op);
  require_f32(ctx, fwd.weight_sum, op, "fwd.weight_sum");
  const std::int64_t n = fwd.probs.dim(0), k = fwd.probs.dim(1);
  const float* w = class_weights.defined() ? class_weights.data<float>() : nullptr;
  Tensor d = Tensor::empty(fwd.probs.shape(), DType::f32, fwd.probs.device());
  CMT_DISPATCH(ctx, op,
               cuda::cross_entropy_backward(fwd.probs.data<float>(), labels.data<std::int32_t>(), w, label_smoothing, n,
                                            k, fwd.weight_sum.data<float>(), dloss, d.data<float>(), ctx.compute_stream()),
               cpu::cross_entropy_backward(fwd.probs.data<float>(), labels.data<std::int32_t>(), w, label_smoothing, n,
                                           k, fwd.weight_sum.data<float>()[0], dloss, d.data<float>()));
  return d;
}

}  // namespace cmt::ops
