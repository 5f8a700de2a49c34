// The prefetching loader: one producer thread per epoch, a ring of host slots, async device copies.
#include "data/loader.h"

#include <algorithm>
#include <cstring>

#include "engine/allocator.h"
#include "kernels/common/philox.h"
#if defined(CMT_WITH_CUDA)
#include <cuda_runtime_api.h>
#endif

namespace cmt::data {

std::vector<std::int64_t> epoch_order(const std::vector<std::int64_t>& indices, const LoaderConfig& cfg, int epoch) {
  std::vector<std::int64_t> order = indices;
  if (cfg.shuffle) {  // Fisher-Yates on the Philox stream of (seed, epoch): the same on every rank
    const rng::Stream s = rng::Stream::make(cfg.seed, static_cast<std::uint32_t>(epoch), 0, static_cast<std::uint32_t>(rng::Op::shuffle));
    for (std::size_t i = order.size(); i > 1; --i)
      std::swap(order[i - 1], order[rng::uniform_int(s.word(i), static_cast<std::uint32_t>(i))]);
  }
  const std::size_t per_rank = order.size() / static_cast<std::size_t>(cfg.world_size);
  std::vector<std::int64_t> mine;
  for (std::size_t i = 0; i < per_rank; ++i) mine.push_back(order[i * cfg.world_size + cfg.rank]);
  return mine;
}

Loader::Loader(const Dataset& dataset, std::vector<std::int64_t> indices, LoaderConfig cfg, Context& ctx)
    : dataset_(dataset), indices_(std::move(indices)), cfg_(cfg), ctx_(ctx) {
  CMT_CHECK(cfg_.batch_size > 0, "Loader: batch_size must be positive, got " << cfg_.batch_size);
  CMT_CHECK(cfg_.world_size >= 1 && cfg_.rank >= 0 && cfg_.rank < cfg_.world_size,
            "Loader: rank " << cfg_.rank << " outside world size " << cfg_.world_size);
  CMT_CHECK(cfg_.prefetch >= 1, "Loader: prefetch must be at least 1");
  for (std::int64_t i : indices_)
    CMT_CHECK(i >= 0 && i < dataset_.size(), dataset_.path() << ": loader index " << i << " out of range");
  per_sample_ = dataset_.sample_shape().numel();
  all_labels_ = dataset_.labels();
  const std::size_t image_bytes = static_cast<std::size_t>(cfg_.batch_size * per_sample_) * sizeof(float);
  const std::size_t label_bytes = static_cast<std::size_t>(cfg_.batch_size) * sizeof(std::int32_t);
  CachingAllocator& alloc = ctx_.is_cuda() ? pinned_allocator() : host_allocator();
  slots_.resize(static_cast<std::size_t>(cfg_.prefetch));
  for (auto& s : slots_) {
    s.images = static_cast<float*>(alloc.allocate(image_bytes));
    s.labels = static_cast<std::int32_t*>(alloc.allocate(label_bytes));
#if defined(CMT_WITH_CUDA)
    if (ctx_.is_cuda()) {
      cudaEvent_t ev;
      CUDA_CHECK(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming));
      s.event = ev;
    }
#endif
  }
  start_epoch(0);
}

Loader::~Loader() {
  stop_worker();
  const std::size_t image_bytes = static_cast<std::size_t>(cfg_.batch_size * per_sample_) * sizeof(float);
  const std::size_t label_bytes = static_cast<std::size_t>(cfg_.batch_size) * sizeof(std::int32_t);
  CachingAllocator& alloc = ctx_.is_cuda() ? pinned_allocator() : host_allocator();
  for (auto& s : slots_) {
#if defined(CMT_WITH_CUDA)
    if (s.event) {
      cudaEventSynchronize(static_cast<cudaEvent_t>(s.event));
      cudaEventDestroy(static_cast<cudaEvent_t>(s.event));
    }
#endif
    alloc.deallocate(s.images, image_bytes);
    alloc.deallocate(s.labels, label_bytes);
  }
}

std::int64_t Loader::num_samples() const {
  const std::int64_t per_rank = static_cast<std::int64_t>(indices_.size()) / cfg_.world_size;
  return cfg_.drop_last ? (per_rank / cfg_.batch_size) * cfg_.batch_size : per_rank;
}

std::int64_t Loader::batches_per_epoch() const {
  const std::int64_t per_rank = static_cast<std::int64_t>(indices_.size()) / cfg_.world_size;
  return cfg_.drop_last ? per_rank / cfg_.batch_size : (per_rank + cfg_.batch_size - 1) / cfg_.batch_size;
}

void Loader::stop_worker() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void Loader::start_epoch(int epoch) {
  stop_worker();
  epoch_ = epoch;
  consumed_ = 0;
  const std::vector<std::int64_t> order = epoch_order(indices_, cfg_, epoch);
  plan_.clear();
  for (std::size_t at = 0; at < order.size(); at += static_cast<std::size_t>(cfg_.batch_size)) {
    const std::size_t end = std::min(order.size(), at + static_cast<std::size_t>(cfg_.batch_size));
    if (cfg_.drop_last && end - at < static_cast<std::size_t>(cfg_.batch_size)) break;
    plan_.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(at), order.begin() + static_cast<std::ptrdiff_t>(end));
  }
  free_.clear();
  ready_.clear();
  for (int i = 0; i < static_cast<int>(slots_.size()); ++i) free_.push_back(i);
  stop_ = false;
  error_ = nullptr;
  worker_ = std::thread([this] { produce(0); });
}

void Loader::produce(std::int64_t) {
  try {
    for (std::size_t b = 0; b < plan_.size(); ++b) {
      int slot_id;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait(lock, [&] { return stop_ || !free_.empty(); });
        if (stop_) return;
        slot_id = free_.front();
        free_.pop_front();
      }
      Slot& s = slots_[static_cast<std::size_t>(slot_id)];
#if defined(CMT_WITH_CUDA)
      if (s.event) CUDA_CHECK(cudaEventSynchronize(static_cast<cudaEvent_t>(s.event)));  // the last copy out is done
#endif
      s.ids = plan_[b];
      s.batch_index = static_cast<std::int64_t>(b);
      for (std::size_t k = 0; k < s.ids.size(); ++k) {
        dataset_.read_sample(s.ids[k], s.images + static_cast<std::int64_t>(k) * per_sample_);
        s.labels[k] = all_labels_[static_cast<std::size_t>(s.ids[k])];
      }
      {
        std::lock_guard<std::mutex> lock(mutex_);
        ready_.push_back(slot_id);
      }
      cv_.notify_all();
    }
  } catch (...) {
    std::lock_guard<std::mutex> lock(mutex_);
    error_ = std::current_exception();
    cv_.notify_all();
  }
}

bool Loader::next(cmt::Batch& batch) {
  if (consumed_ >= static_cast<std::int64_t>(plan_.size())) return false;
  int slot_id;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] { return !ready_.empty() || error_; });
    if (ready_.empty() && error_) std::rethrow_exception(error_);
    slot_id = ready_.front();
    ready_.pop_front();
  }
  Slot& s = slots_[static_cast<std::size_t>(slot_id)];
  const Shape ss = dataset_.sample_shape();
  const std::int64_t n = static_cast<std::int64_t>(s.ids.size());
  batch.images = Tensor::empty(Shape{n, ss[0], ss[1], ss[2], 1}, DType::f32, ctx_.device());
  batch.labels = Tensor::empty(Shape{n}, DType::i32, ctx_.device());
  batch.sample_ids = s.ids;
  batch.host_labels.assign(s.labels, s.labels + n);
  batch.epoch = epoch_;
  if (ctx_.is_cuda()) {
#if defined(CMT_WITH_CUDA)
    // The copy stream waits for work already queued on compute (the caching allocator may hand back
    // a block that compute still reads), copies, and compute waits for the copy.
    cudaEvent_t ev = static_cast<cudaEvent_t>(s.event);
    CUDA_CHECK(cudaEventRecord(ev, ctx_.compute_stream()));
    CUDA_CHECK(cudaStreamWaitEvent(ctx_.copy_stream(), ev, 0));
    CUDA_CHECK(cudaMemcpyAsync(batch.images.raw(), s.images, batch.images.nbytes(), cudaMemcpyHostToDevice, ctx_.copy_stream()));
    CUDA_CHECK(cudaMemcpyAsync(batch.labels.raw(), s.labels, batch.labels.nbytes(), cudaMemcpyHostToDevice, ctx_.copy_stream()));
    CUDA_CHECK(cudaEventRecord(ev, ctx_.copy_stream()));
    CUDA_CHECK(cudaStreamWaitEvent(ctx_.compute_stream(), ev, 0));
#endif
  } else {
    std::memcpy(batch.images.raw(), s.images, batch.images.nbytes());
    std::memcpy(batch.labels.raw(), s.labels, batch.labels.nbytes());
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    free_.push_back(slot_id);  // the producer waits on the slot's event before refilling it
  }
  cv_.notify_all();
  ++consumed_;
  return true;
}

}  // namespace cmt::data
