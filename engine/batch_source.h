// BatchSource: how the Trainer sees data. The HDF5 loader in data/ implements it; tests use
// in-memory sources. Batches arrive on the trainer's device.
#pragma once
#include <cstdint>
#include <vector>

#include "engine/tensor.h"

namespace cmt {

struct Batch {
  Tensor images;                         // (N, D, H, W, 1) f32 in [0, 1], on the device (D = 1 for 2D)
  Tensor labels;                         // (N) i32 class indices, on the device
  std::vector<std::int64_t> sample_ids;  // dataset row of each sample (keys the augmentation RNG)
  std::vector<std::int32_t> host_labels; // the labels on the host, for metrics
  int epoch = 0;
};

class BatchSource {
 public:
  virtual ~BatchSource() = default;
  virtual void start_epoch(int epoch) = 0;          // reshuffles (deterministically from the seed)
  virtual bool next(Batch& batch) = 0;              // false at the end of the epoch
  virtual std::int64_t num_samples() const = 0;     // samples this source yields per epoch
  virtual std::int64_t batches_per_epoch() const = 0;
};

}  // namespace cmt
