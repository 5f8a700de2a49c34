// Gradient buckets for data parallelism: the flat gradient block is cut into buckets of about
// `bucket_bytes` in backward order; a bucket is all-reduced (asynchronously, on the communicator's
// own stream or MPI request) as soon as every parameter in it has its gradient, overlapping the rest
// of the backward pass. finish() starts what is left, waits for everything and averages over ranks.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "engine/communicator.h"
#include "engine/layer.h"
#include "engine/parameters.h"

namespace cmt {

class GradientBuckets final : public GradReadyHook {
 public:
  GradientBuckets(ParameterStore& store, Communicator& comm, std::size_t bucket_bytes = std::size_t{25} << 20);

  void begin_step();                                          // installs itself as the hook
  void grad_ready(Context& ctx, const Tensor& grad) override;  // called by accumulate_grad
  void finish(Context& ctx);                                  // uninstalls, completes, averages

  std::size_t num_buckets() const { return buckets_.size(); }
  int launched_during_backward() const { return launched_early_; }  // for tests and the profiler

 private:
  struct Bucket {
    std::int64_t begin = 0, end = 0;  // float offsets in the flat block
    int params = 0, ready = 0;
    std::unique_ptr<PendingCollective> pending;
    bool launched = false;
  };
  void launch(Context& ctx, Bucket& b);

  ParameterStore& store_;
  Communicator& comm_;
  std::vector<Bucket> buckets_;
  std::map<const void*, std::pair<int, int>> param_of_;  // grad data pointer -> (bucket, param index)
  std::vector<char> seen_;                               // per parameter, this step
  int launched_early_ = 0;
};

}  // namespace cmt
