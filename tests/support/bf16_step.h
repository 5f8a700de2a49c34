// One CMT-CNN training step in fp32 and in bf16 from the same weights and views, and the agreement
// criterion of docs/bf16.md; shared by the CPU unit test and the CUDA test.
#pragma once
#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "data/phantom.h"
#include "engine/ops/augment.h"
#include "engine/ops/basic.h"
#include "engine/parameters.h"
#include "engine/profiler.h"
#include "models/cmt_model.h"
#include "support/testing.h"

namespace cmt::test {

// (2N, D, side, side, 1) training views (the genesis policy) of N phantoms: X-rays (dims 2, D = 1) or CT
// volumes (dims 3, D = side, HU window [-1000, 400] scaled to [0, 1]); labels (2N) i32. On the CPU.
inline std::pair<Tensor, Tensor> phantom_views(int dims, std::int64_t n, int side, std::uint64_t seed) {
  data::PhantomOptions po;
  po.seed = seed;
  po.xray_size[0] = po.xray_size[1] = side;
  po.ct_size[0] = po.ct_size[1] = po.ct_size[2] = side;
  Tensor images = Tensor::empty(Shape{n, dims == 3 ? side : 1, side, side, 1}, DType::f32);
  std::vector<std::int64_t> ids;
  std::vector<std::int32_t> labels;
  for (std::int64_t i = 0; i < n; ++i) {
    const int label = data::phantom_label(i);
    data::Volume v = dims == 3 ? data::make_ct_phantom(po, i, label) : data::make_xray_phantom(po, i, label);
    if (dims == 3)
      for (float& x : v.v) x = std::clamp((x + 1000.f) / 1400.f, 0.f, 1.f);
    std::copy(v.v.begin(), v.v.end(), images.data<float>() + i * v.numel());
    ids.push_back(i);
    labels.insert(labels.end(), {label, label});
  }
  Context ctx;
  const Tensor views = ops::augment_two_views(ctx, images, ids, AugmentPolicy::parse("genesis"), seed, 0, /*shift=*/true);
  return {views, Tensor::from_vector(labels, Shape{2 * n})};
}

struct StepRecord {
  HostLosses losses;
  std::vector<float> grads;
  std::vector<ProfileRange> ranges;
};

// One profiled training step on `device` from the weights of `seed` under `precision`.
inline StepRecord one_step(Device device, const models::CmtConfig& config, PrecisionPolicy precision, const Tensor& views,
                           const Tensor& labels, std::uint64_t seed) {
  Context ctx(device, precision);
  models::CmtModel model(config);
  ParameterStore store(ctx, model.root());
  store.initialize(ctx, seed);
  Profiler profiler(ctx);
  profiler.start();
  StepRecord s;
  s.losses = model.train_step(ctx, views.to(device), labels.to(device)).fetch();
  profiler.stop();
  s.ranges = profiler.finish();
  s.grads = store.grads().to_vector<float>();
  return s;
}

inline double relative_error(const std::vector<float>& got, const std::vector<float>& want) {
  double num = 0, den = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    const double d = static_cast<double>(got[i]) - want[i];
    num += d * d;
    den += static_cast<double>(want[i]) * want[i];
  }
  return std::sqrt(num / den);
}

// Tensors a bf16 step rounds in `layer`'s tree: each layer's output and input gradient and each
// parameter's copy (composites counted like leaves: an upper count).
inline int rounding_points(Layer& layer) {
  int n = 2 + static_cast<int>(layer.own_parameters().size());
  for (auto& [name, child] : layer.children()) n += rounding_points(*child);
  return n;
}

// The bf16 step against the fp32 step (docs/bf16.md). The control is fp32 on the views rounded to bf16:
// the model's response to one rounding of its input. A bf16 step rounds at S points; with independent
// errors, each amplified at most like the input's (deeper points pass through fewer layers), its loss
// and gradient errors are at most sqrt(S) times the control's. One rounding of the loss (u |L|) floors
// the loss control, which as a scalar can come out near 0. Also checks that every backbone layer's output
// is bf16 (half the fp32 bytes) and that the bf16 step is not the fp32 step again.
inline void check_bf16_step_agrees(Device device, const models::CmtConfig& config, std::uint64_t seed, std::int64_t samples,
                                   int side) {
  const double u = 1.0 / 256;  // bf16's unit roundoff, 2^-8
  const auto [views, labels] = phantom_views(config.backbone.spatial_dims, samples, side, seed);
  Context host;
  const Tensor rounded = ops::cast(host, ops::cast(host, views, DType::bf16), DType::f32);
  const StepRecord f32 = one_step(device, config, {}, views, labels, seed);
  const StepRecord bf16 = one_step(device, config, PrecisionPolicy{ComputePrecision::bf16}, views, labels, seed);
  const StepRecord control = one_step(device, config, {}, rounded, labels, seed);
  models::CmtModel shape_only(config);
  const int points = rounding_points(*shape_only.root().children().front().second);
  const double k = std::sqrt(static_cast<double>(points));
  const double dl = std::fabs(bf16.losses.total - f32.losses.total);
  const double dl_control = std::max<double>(std::fabs(control.losses.total - f32.losses.total), u * std::fabs(f32.losses.total));
  const double eg = relative_error(bf16.grads, f32.grads), eg_control = relative_error(control.grads, f32.grads);
  INFO(config.backbone.name << " " << config.backbone.spatial_dims << "D on " << device.str() << ": loss fp32 " << f32.losses.total
                            << " bf16 " << bf16.losses.total << " (control " << control.losses.total << "), gradient relative error "
                            << eg << " (control " << eg_control << "), " << points << " rounding points, bound factor " << k);
  CHECK(std::isfinite(bf16.losses.total));
  CHECK(dl <= k * dl_control);
  CHECK(eg <= k * eg_control);
  CHECK(eg > 0);

  REQUIRE(bf16.ranges.size() == f32.ranges.size());
  int backbone_outputs = 0;
  for (std::size_t i = 0; i < f32.ranges.size(); ++i) {
    const ProfileRange &a = f32.ranges[i], &b = bf16.ranges[i];
    if (a.pass != Pass::forward || a.name.rfind("backbone.", 0) != 0) continue;
    INFO(a.name);
    CHECK(2 * b.out_bytes == a.out_bytes);
    ++backbone_outputs;
  }
  CHECK(backbone_outputs > 10);
}

}  // namespace cmt::test
