// Layer tree traversal and gradient accumulation.
#include "engine/layer.h"

#include "engine/ops/basic.h"

namespace cmt {

void Layer::declare_parameter(ParameterSpec spec, Tensor* value, Tensor* grad, Tensor* compute) {
  params_.emplace_back(std::move(spec), value);
  grads_.push_back(grad);
  computes_.push_back(compute);
}

void Layer::declare_buffer(ParameterSpec spec, Tensor* value) { buffers_.emplace_back(std::move(spec), value); }

void Layer::collect(const std::string& prefix, std::vector<ParameterRef>& params, std::vector<ParameterRef>& buffers) {
  path_ = prefix;
  on_bind(prefix);
  const std::string dot = prefix.empty() ? "" : prefix + ".";
  for (std::size_t i = 0; i < params_.size(); ++i)
    params.push_back({dot + params_[i].first.name, params_[i].first, params_[i].second, grads_[i], computes_[i]});
  for (auto& [spec, value] : buffers_) buffers.push_back({dot + spec.name, spec, value, nullptr});
  for (auto& [name, child] : children_) child->collect(dot + name, params, buffers);
}

void Layer::clear_saved_recursive() {
  clear_saved();
  for (auto& [name, child] : children_) child->clear_saved_recursive();
}

std::uint32_t path_id(const std::string& path) {
  std::uint32_t h = 2166136261u;
  for (unsigned char c : path) {
    h ^= c;
    h *= 16777619u;
  }
  return h;
}

const Tensor& weight_for(DType dtype, const Tensor& master, const Tensor& bf16_copy, const std::string& what) {
  if (dtype != DType::bf16) return master;
  CMT_CHECK(bf16_copy.defined(), (what.empty() ? std::string("layer") : what)
                                     << ": bf16 input but no bf16 weight copy; build the ParameterStore with a bf16-precision context");
  return bf16_copy;
}

namespace {
thread_local GradReadyHook* g_grad_hook = nullptr;
}

void set_grad_ready_hook(GradReadyHook* hook) { g_grad_hook = hook; }

void accumulate_grad(Context& ctx, Tensor& grad, const Tensor& g) {
  CMT_CHECK(grad.numel() == g.numel(), "gradient of " << g.describe() << " does not fit its slot " << grad.describe());
  ops::axpy(ctx, 1.0f, g.view(grad.shape()), grad);  // a bf16 g is widened: the sum is f32
  if (g_grad_hook) g_grad_hook->grad_ready(ctx, grad);
}

}  // namespace cmt
