// The prefetching loader: a background thread reads samples from the HDF5 dataset into pinned host
// batches (several in flight) that next() copies to the device on the copy stream.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "data/dataset.h"
#include "engine/batch_source.h"
#include "engine/context.h"

namespace cmt::data {

struct LoaderConfig {
  std::int64_t batch_size = 8;
  bool shuffle = true;
  bool drop_last = true;
  std::uint64_t seed = 0;
  int rank = 0, world_size = 1;  // sharding for data parallelism: each rank sees a disjoint slice
  int prefetch = 3;              // batches in flight
};

// The rows (of `indices`) that `rank` reads in `epoch`, in order: a Philox shuffle of all indices
// (identical on every rank), truncated to a multiple of world_size, then every world_size-th.
std::vector<std::int64_t> epoch_order(const std::vector<std::int64_t>& indices, const LoaderConfig& cfg, int epoch);

class Loader : public cmt::BatchSource {
 public:
  Loader(const Dataset& dataset, std::vector<std::int64_t> indices, LoaderConfig cfg, Context& ctx);
  ~Loader() override;
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  void start_epoch(int epoch) override;
  bool next(cmt::Batch& batch) override;
  std::int64_t num_samples() const override;
  std::int64_t batches_per_epoch() const override;

 private:
  struct Slot {
    float* images = nullptr;        // batch * D*H*W, pinned on a CUDA context
    std::int32_t* labels = nullptr;  // batch
    std::vector<std::int64_t> ids;
    std::int64_t batch_index = -1;
    void* event = nullptr;  // cudaEvent_t: the device copy out of this slot has finished
  };
  void stop_worker();
  void produce(std::int64_t generation);

  const Dataset& dataset_;
  std::vector<std::int64_t> indices_;
  LoaderConfig cfg_;
  Context& ctx_;
  std::int64_t per_sample_ = 0;
  std::vector<std::int32_t> all_labels_;
  std::vector<Slot> slots_;
  std::vector<std::vector<std::int64_t>> plan_;  // the batches of the current epoch
  int epoch_ = 0;
  std::int64_t consumed_ = 0;

  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<int> free_, ready_;
  bool stop_ = false;
  std::exception_ptr error_;
  std::thread worker_;
};

}  // namespace cmt::data
