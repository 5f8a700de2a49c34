// Bucketed, overlapped gradient all-reduce.
#include "engine/grad_buckets.h"

#include "engine/ops/basic.h"
#include "kernels/common/check.h"

namespace cmt {

GradientBuckets::GradientBuckets(ParameterStore& store, Communicator& comm, std::size_t bucket_bytes) : store_(store), comm_(comm) {
  const auto& refs = store.parameter_refs();
  seen_.assign(refs.size(), 0);
  const std::int64_t limit = std::max<std::int64_t>(1, static_cast<std::int64_t>(bucket_bytes / sizeof(float)));
  // Backward visits parameters roughly in reverse order of the layout: buckets are cut from the end,
  // so the first bucket completes first. Each bucket is a contiguous range of the flat block.
  std::int64_t end = store.grads().numel();
  Bucket current;
  current.end = end;
  for (int i = static_cast<int>(refs.size()) - 1; i >= 0; --i) {
    const std::int64_t begin = store.offset_of(refs[static_cast<std::size_t>(i)].path);
    current.begin = begin;
    ++current.params;
    param_of_[refs[static_cast<std::size_t>(i)].grad->raw()] = {static_cast<int>(buckets_.size()), i};
    if (current.end - current.begin >= limit || i == 0) {
      if (i == 0) current.begin = 0;  // the block's start (and any padding) goes with the last bucket
      buckets_.push_back(std::move(current));
      current = Bucket{};
      current.end = begin;
    }
  }
}

void GradientBuckets::begin_step() {
  std::fill(seen_.begin(), seen_.end(), 0);
  for (auto& b : buckets_) {
    b.ready = 0;
    b.launched = false;
    b.pending.reset();
  }
  launched_early_ = 0;
  set_grad_ready_hook(this);
}

void GradientBuckets::launch(Context& ctx, Bucket& b) {
  Tensor slice = store_.grads().narrow(b.begin, b.end - b.begin);
  b.pending = comm_.all_reduce_sum_async(ctx, slice);
  b.launched = true;
}

void GradientBuckets::grad_ready(Context& ctx, const Tensor& grad) {
  auto it = param_of_.find(grad.raw());
  if (it == param_of_.end()) return;  // not one of this store's parameters
  auto [bucket, param] = it->second;
  // Its bucket may already be on the wire: a second contribution would race with that all-reduce.
  // No layer of cmt shares a parameter, so a second one is a bug in the caller, reported here.
  CMT_CHECK(!seen_[static_cast<std::size_t>(param)],
            "gradient buckets: parameter '" << store_.parameter_refs()[static_cast<std::size_t>(param)].path
                                            << "' received a second gradient in one step after it was marked ready for its "
                                               "all-reduce; parameters shared between layers are not supported in data-parallel training");
  seen_[static_cast<std::size_t>(param)] = 1;
  Bucket& b = buckets_[static_cast<std::size_t>(bucket)];
  // Buckets start in order, so every rank issues its collectives in the same sequence.
  if (++b.ready == b.params) {
    for (auto& earlier : buckets_) {
      if (&earlier == &b) break;
      if (!earlier.launched) return;  // an earlier bucket is still open: wait for it
    }
    launch(ctx, b);
    ++launched_early_;
    // Later buckets that completed out of order can go now.
    for (auto& later : buckets_)
      if (!later.launched && later.ready == later.params) {
        bool earlier_open = false;
        for (auto& e : buckets_) {
          if (&e == &later) break;
          earlier_open = earlier_open || !e.launched;
        }
        if (earlier_open) break;
        launch(ctx, later);
        ++launched_early_;
      }
  }
}

void GradientBuckets::finish(Context& ctx) {
  set_grad_ready_hook(nullptr);
  for (auto& b : buckets_)  // parameters without a gradient this step (frozen layers) still count
    if (!b.launched) launch(ctx, b);
  for (auto& b : buckets_) {
    b.pending->wait(ctx);
    b.pending.reset();
  }
  // The mean over ranks: y += (1/w - 1) y is exact for w a power of two.
  Tensor& g = store_.grads();
  ops::axpy(ctx, static_cast<float>(1.0 / comm_.size() - 1.0), g, g);
}

}  // namespace cmt
