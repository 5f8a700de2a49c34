// Helpers of the MPI test binary: tiny models, an in-memory sharded batch source, comparisons.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "engine/batch_source.h"
#include "engine/communicator.h"
#include "engine/layers/norm.h"
#include "engine/trainer.h"
#include "models/cmt_model.h"

namespace cmt::mpitest {

// VGG-19 at width 0.125, half depth, 32x32 inputs, with (vgg19_bn) or without BatchNorm. (ResNet-50
// at this size is chaotic under float rounding alone: docs/distributed.md.)
inline models::CmtConfig tiny_model(bool bn) {
  models::CmtConfig c;
  c.backbone.spatial_dims = 2;
  c.backbone.name = bn ? "vgg19_bn" : "vgg19";
  c.backbone.width = 0.125;
  c.backbone.depth = 0.5;
  c.backbone.vgg_pool = 1;
  c.latent_dim = 32;
  c.num_classes = 3;
  c.class_weights = {1.f, 2.f, 0.5f};  // uneven per-rank loss denominators: the global mean is tested
  return c;
}
inline std::int64_t side(bool) { return 32; }

// The whole data set (every rank builds the same one): `total` images (total, 1, s, s, 1) in [0, 1].
struct Data {
  Tensor images;
  std::vector<std::int32_t> labels;
};
inline Data make_data(std::int64_t total, std::int64_t s, std::uint64_t seed) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  std::vector<float> v(static_cast<std::size_t>(total * s * s));
  for (auto& x : v) x = u(gen);
  Data d;
  d.images = Tensor::from_vector(v, Shape{total, 1, s, s, 1});
  for (std::int64_t i = 0; i < total; ++i) d.labels.push_back(static_cast<std::int32_t>(gen() % 3));
  return d;
}

// Global batch k is samples [k * B * world, (k + 1) * B * world); rank r reads its r-th slice of B.
// (The HDF5 loader interleaves instead; either way the ranks' union is the one-rank batch.)
class ShardSource final : public BatchSource {
 public:
  ShardSource(const Data& d, std::int64_t per_rank_batch, int rank, int world, Device device = Device::cpu())
      : d_(d), b_(per_rank_batch), rank_(rank), world_(world), device_(device) {}
  void start_epoch(int epoch) override {
    epoch_ = epoch;
    k_ = 0;
  }
  bool next(Batch& batch) override {
    if (k_ >= batches_per_epoch()) return false;
    const std::int64_t first = (k_ * world_ + rank_) * b_;
    const Shape& s = d_.images.shape();
    std::vector<float> all = d_.images.to_vector<float>();
    const std::int64_t per = s[1] * s[2] * s[3] * s[4];
    std::vector<float> mine(all.begin() + first * per, all.begin() + (first + b_) * per);
    batch.images = Tensor::from_vector(mine, Shape{b_, s[1], s[2], s[3], s[4]});
    batch.sample_ids.clear();
    batch.host_labels.clear();
    for (std::int64_t i = first; i < first + b_; ++i) {
      batch.sample_ids.push_back(i);
      batch.host_labels.push_back(d_.labels[static_cast<std::size_t>(i)]);
    }
    batch.labels = Tensor::from_vector(batch.host_labels, Shape{b_});
    if (device_.is_cuda()) {  // batches arrive on the trainer's device
      batch.images = batch.images.to(device_);
      batch.labels = batch.labels.to(device_);
    }
    batch.epoch = epoch_;
    ++k_;
    return true;
  }
  std::int64_t num_samples() const override { return batches_per_epoch() * b_; }
  std::int64_t batches_per_epoch() const override { return d_.images.dim(0) / (b_ * world_); }

 private:
  const Data& d_;
  std::int64_t b_;
  int rank_, world_, epoch_ = 0;
  Device device_;
  std::int64_t k_ = 0;
};

inline TrainerConfig trainer_config(int epochs, Communicator* comm, const std::string& out, std::int64_t max_steps = 0) {
  TrainerConfig t;
  t.epochs = epochs;
  t.max_steps = max_steps;
  t.lr = LrSchedule::parse("constant:lr=0.001");
  // Adam's step is lr * g / (|g| + eps): with the default eps 1e-8 an element whose gradient is at
  // the float noise floor moves by +-lr on a noise sign flip. eps 1e-4 keeps such elements' steps
  // proportional to their gradients (elements with |g| >> 1e-4 step as usual).
  t.adam.eps = 1e-4;
  t.seed = 7;
  t.progress = false;
  t.comm = comm;
  t.bucket_bytes = 4096;  // many small buckets, so gradients are all-reduced while backward still runs
  t.out_dir = out;
  t.checkpoint_every = 0;
  return t;
}

// Largest |a - b| / (atol + rtol |b|); <= 1 passes.
inline double worst(const std::vector<float>& a, const std::vector<float>& b, double atol, double rtol, std::size_t* where) {
  if (a.size() != b.size()) return 1e30;
  double w = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double diff = std::fabs(static_cast<double>(a[i]) - b[i]);
    const double e = diff == 0 ? 0.0 : diff / (atol + rtol * std::fabs(static_cast<double>(b[i])));
    if (!(e <= w)) {  // NaN counts as the worst
      w = std::isnan(e) ? 1e30 : e;
      *where = i;
    }
  }
  return w;
}

// Prints and counts a failed comparison.
inline int expect_close(const char* what, const std::vector<float>& got, const std::vector<float>& want, double atol, double rtol) {
  std::size_t at = 0;
  const double w = worst(got, want, atol, rtol, &at);
  const bool ok = w <= 1.0;
  double num = 0, den = 0;
  for (std::size_t i = 0; i < want.size() && i < got.size(); ++i) {
    num += (static_cast<double>(got[i]) - want[i]) * (static_cast<double>(got[i]) - want[i]);
    den += static_cast<double>(want[i]) * want[i];
  }
  std::printf("%s %s: %zu values, relative L2 error %.3g, worst error %.3g of tolerance", ok ? "ok  " : "FAIL", what, want.size(),
              den > 0 ? std::sqrt(num / den) : std::sqrt(num), w);
  if (!want.empty() && at < want.size() && at < got.size()) std::printf(" (at %zu: %.9g vs %.9g)", at, static_cast<double>(got[at]), static_cast<double>(want[at]));
  std::printf("\n");
  std::fflush(stdout);
  return ok ? 0 : 1;
}

// After Adam steps: Adam divides each element's gradient by its own magnitude, so elements whose
// gradient sits at the float noise floor move by noise-sized fractions of lr. Checked: the relative
// L2 error of the whole vector, and that no element is off by more than max_abs (a fraction of lr).
// (offset in floats, parameter path) of each parameter, in store order.
using ParameterLayout = std::vector<std::pair<std::int64_t, std::string>>;

// The parameter holding element `at`, or "".
inline std::string parameter_at(const ParameterLayout* layout, std::size_t at) {
  std::string name;
  if (layout)
    for (const auto& [offset, path] : *layout)
      if (offset <= static_cast<std::int64_t>(at)) name = path;
  return name;
}

inline int expect_close_adam(const char* what, const std::vector<float>& got, const std::vector<float>& want, double rel_l2, double max_abs,
                             const ParameterLayout* layout = nullptr) {
  double num = 0, den = 0, worst_abs = 0;
  std::size_t at = 0;
  const bool same_size = got.size() == want.size();
  for (std::size_t i = 0; same_size && i < want.size(); ++i) {
    const double d = static_cast<double>(got[i]) - want[i];
    num += d * d;
    den += static_cast<double>(want[i]) * want[i];
    if (!(std::fabs(d) <= worst_abs)) {
      worst_abs = std::isnan(d) ? 1e30 : std::fabs(d);
      at = i;
    }
  }
  const double rel = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
  const bool ok = same_size && rel <= rel_l2 && worst_abs <= max_abs;
  const std::string name = parameter_at(layout, at);
  std::printf("%s %s: %zu values, relative L2 error %.3g (<= %.1g), largest difference %.3g (<= %.1g, at %zu%s%s)\n", ok ? "ok  " : "FAIL",
              what, want.size(), rel, rel_l2, worst_abs, max_abs, at, name.empty() ? "" : ": ", name.c_str());
  if (layout && !ok) {  // the parameters that carry the error, largest share first
    std::vector<std::pair<double, std::string>> shares;
    for (std::size_t k = 0; k < layout->size(); ++k) {
      const std::size_t begin = static_cast<std::size_t>((*layout)[k].first);
      const std::size_t end = k + 1 < layout->size() ? static_cast<std::size_t>((*layout)[k + 1].first) : want.size();
      double e = 0;
      for (std::size_t i = begin; i < end && i < want.size(); ++i) e += (static_cast<double>(got[i]) - want[i]) * (static_cast<double>(got[i]) - want[i]);
      shares.emplace_back(num > 0 ? e / num : 0, (*layout)[k].second);
    }
    std::sort(shares.rbegin(), shares.rend());
    for (std::size_t k = 0; k < shares.size() && k < 5; ++k) std::printf("     %5.1f%% of the squared error: %s\n", 100 * shares[k].first, shares[k].second.c_str());
  }
  std::fflush(stdout);
  return ok ? 0 : 1;
}

}  // namespace cmt::mpitest
