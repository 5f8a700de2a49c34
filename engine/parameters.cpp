// Flat parameter/gradient/buffer blocks and torchvision-style initialisation.
#include "engine/parameters.h"

#include <cmath>

#include "engine/ops/basic.h"
#include "kernels/common/philox.h"

namespace cmt {

namespace {
constexpr std::int64_t kAlign = 64;  // floats: every tensor starts on a 256-byte boundary

std::int64_t align_up(std::int64_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

// Lays out refs consecutively; returns the total length in floats.
std::int64_t layout(const std::vector<ParameterRef>& refs, std::vector<std::int64_t>& offsets) {
  std::int64_t total = 0;
  for (const auto& r : refs) {
    offsets.push_back(total);
    total += align_up(r.spec.shape.numel());
  }
  return std::max<std::int64_t>(total, 1);
}
}  // namespace

ParameterStore::ParameterStore(Context& ctx, Layer& root, const std::string& prefix) {
  root.collect(prefix, param_refs_, buffer_refs_);
  std::vector<std::int64_t> poff, boff;
  const std::int64_t ptotal = layout(param_refs_, poff);
  const std::int64_t btotal = layout(buffer_refs_, boff);
  params_ = Tensor::empty(Shape{ptotal}, DType::f32, ctx.device());
  grads_ = Tensor::empty(Shape{ptotal}, DType::f32, ctx.device());
  buffers_ = Tensor::empty(Shape{btotal}, DType::f32, ctx.device());
  ops::fill(ctx, params_, 0.0);  // the padding between tensors stays zero forever
  ops::fill(ctx, grads_, 0.0);
  ops::fill(ctx, buffers_, 0.0);
  if (ctx.precision.compute_weight_dtype() == DType::bf16) {
    compute_ = Tensor::empty(Shape{ptotal}, DType::bf16, ctx.device());
    ops::fill(ctx, compute_, 0.0);
  }
  for (std::size_t i = 0; i < param_refs_.size(); ++i) {
    auto& r = param_refs_[i];
    CMT_CHECK(offsets_.count(r.path) == 0, "duplicate parameter name " << r.path);
    offsets_[r.path] = poff[i];
    *r.value = params_.narrow(poff[i], r.spec.shape.numel()).view(r.spec.shape);
    *r.grad = grads_.narrow(poff[i], r.spec.shape.numel()).view(r.spec.shape);
    // Unbound without the block, so that a layer never computes with a copy left by an earlier store.
    if (r.compute) *r.compute = compute_.defined() ? compute_.narrow(poff[i], r.spec.shape.numel()).view(r.spec.shape) : Tensor();
    num_params_ += r.spec.shape.numel();
  }
  for (std::size_t i = 0; i < buffer_refs_.size(); ++i) {
    auto& r = buffer_refs_[i];
    *r.value = buffers_.narrow(boff[i], r.spec.shape.numel()).view(r.spec.shape);
  }
}

std::int64_t ParameterStore::offset_of(const std::string& path) const {
  auto it = offsets_.find(path);
  CMT_CHECK(it != offsets_.end(), "no parameter named '" << path << "'");
  return it->second;
}

void ParameterStore::zero_grads(Context& ctx) { ops::fill(ctx, grads_, 0.0); }

void ParameterStore::refresh_compute(Context& ctx) {
  if (compute_.defined()) ops::cast(ctx, params_, compute_);
}

void ParameterStore::initialize(Context& ctx, std::uint64_t seed) {
  auto init_one = [&](ParameterRef& r, std::uint32_t index) {
    Tensor& t = *r.value;
    const auto& s = r.spec;
    const std::uint32_t stream = static_cast<std::uint32_t>(rng::Op::init) << 20 | index;
    switch (s.init) {
      case Init::zeros: ops::fill(ctx, t, 0.0); break;
      case Init::ones: ops::fill(ctx, t, 1.0); break;
      case Init::kaiming_normal_fan_out:
        ops::normal_(ctx, t, seed, stream, 0.f, std::sqrt(2.0f / static_cast<float>(std::max<std::int64_t>(s.fan_out, 1))));
        break;
      case Init::uniform_fan_out: {
        const float b = 1.0f / std::sqrt(static_cast<float>(std::max<std::int64_t>(s.fan_out, 1)));
        ops::uniform_(ctx, t, seed, stream, -b, b);
        break;
      }
      case Init::normal_001: ops::normal_(ctx, t, seed, stream, 0.f, 0.01f); break;
      case Init::torch_default_linear: {
        const float b = 1.0f / std::sqrt(static_cast<float>(std::max<std::int64_t>(s.fan_in, 1)));
        ops::uniform_(ctx, t, seed, stream, -b, b);
        break;
      }
    }
  };
  std::uint32_t index = 0;
  for (auto& r : param_refs_) init_one(r, index++);
  for (auto& r : buffer_refs_) init_one(r, index++);
  refresh_compute(ctx);
}

}  // namespace cmt
