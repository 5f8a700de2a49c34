// Layer: the unit of the model graph. Explicit forward/backward (no autograd tape); a layer keeps
// what its backward needs from the last training forward. Composite layers hold child layers, so a
// model is a tree of layers whose parameters live in one flat block (engine/parameters.h).
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/context.h"
#include "engine/tensor.h"

namespace cmt {

// How a parameter is initialised (torchvision's schemes).
enum class Init {
  zeros,
  ones,
  kaiming_normal_fan_out,  // conv weights in ResNet/VGG/EfficientNet: N(0, sqrt(2 / fan_out))
  uniform_fan_out,         // EfficientNet's linear: U(-1/sqrt(fan_out), 1/sqrt(fan_out))
  normal_001,              // VGG's linear: N(0, 0.01)
  torch_default_linear,    // nn.Linear's default: kaiming_uniform(a=sqrt 5) -> U(+-1/sqrt(fan_in)); bias the same
};

struct ParameterSpec {
  std::string name;      // relative to the layer ("weight", "bias")
  Shape shape;
  Init init = Init::zeros;
  std::int64_t fan_in = 0, fan_out = 0;  // for the schemes that need them
  bool weight_decay = true;              // false for biases and norm parameters
};

// A parameter or buffer bound into the flat blocks: value/grad/compute are views into them.
struct ParameterRef {
  std::string path;  // "backbone.layer1.0.conv1.weight"
  ParameterSpec spec;
  Tensor* value = nullptr;
  Tensor* grad = nullptr;     // null for buffers
  Tensor* compute = nullptr;  // the layer's slot for the bf16 compute copy; null when it takes none
};

class Layer {
 public:
  virtual ~Layer() = default;
  Layer() = default;
  Layer(const Layer&) = delete;
  Layer& operator=(const Layer&) = delete;

  virtual std::string type() const = 0;
  virtual Shape output_shape(const Shape& in) const = 0;
  // x -> y. In training mode (ctx.training) the layer keeps what backward needs.
  virtual Tensor forward(Context& ctx, const Tensor& x) = 0;
  // dy -> dx; adds this layer's parameter gradients into their grad views.
  virtual Tensor backward(Context& ctx, const Tensor& dy) = 0;
  // Multiply-accumulates of forward for one input of shape `in` (for the profiler and FLOP counts).
  virtual double forward_macs(const Shape& in) const { (void)in; return 0; }
  // Drops the tensors kept for backward (frees activation memory between steps).
  virtual void clear_saved() {}
  // Whether backward must return dx. Off for the layer that sees the network's input: nothing
  // consumes the images' gradient, and for a one-channel stem it is the step's costliest conv.
  // Composite layers pass it on to the child that sees their input; a layer with it off returns an
  // undefined dx.
  virtual void set_input_grad(bool needed) { input_grad_ = needed; }
  bool input_grad() const { return input_grad_; }
  // Called by collect() with the layer's full name path (random layers derive their stream from it).
  virtual void on_bind(const std::string& path) { (void)path; }
  // The name path given by the last collect() ("backbone.layer1.0"); empty before (the profiler's row names).
  const std::string& path() const { return path_; }

  // Own parameters and buffers (not the children's).
  std::vector<std::pair<ParameterSpec, Tensor*>>& own_parameters() { return params_; }
  std::vector<std::pair<ParameterSpec, Tensor*>>& own_buffers() { return buffers_; }
  std::vector<Tensor*>& own_grads() { return grads_; }
  std::vector<std::pair<std::string, Layer*>>& children() { return children_; }

  // Every parameter/buffer of this subtree with its name path, in a fixed order.
  void collect(const std::string& prefix, std::vector<ParameterRef>& params, std::vector<ParameterRef>& buffers);
  void clear_saved_recursive();

 protected:
  // Declares a parameter; `value` and `grad` are bound to views of the flat blocks later, and
  // `compute` (optional) to the parameter's bf16 copy when the store keeps one (bf16 precision).
  void declare_parameter(ParameterSpec spec, Tensor* value, Tensor* grad, Tensor* compute = nullptr);
  void declare_buffer(ParameterSpec spec, Tensor* value);
  // Registers a child under `name` (owned by the caller, usually a unique_ptr member).
  void add_child(std::string name, Layer* child) { children_.emplace_back(std::move(name), child); }

 private:
  std::vector<std::pair<ParameterSpec, Tensor*>> params_;
  std::vector<Tensor*> grads_, computes_;
  std::vector<std::pair<ParameterSpec, Tensor*>> buffers_;
  std::vector<std::pair<std::string, Layer*>> children_;
  std::string path_;
  bool input_grad_ = true;
};

using LayerPtr = std::unique_ptr<Layer>;

// The parameter a layer computes with for an input of dtype `dtype`: the f32 master, or for bf16 input
// its bf16 copy (bound by a ParameterStore built under bf16 precision; otherwise an error naming `what`).
const Tensor& weight_for(DType dtype, const Tensor& master, const Tensor& bf16_copy, const std::string& what);

// A stable 32-bit id of a name path (FNV-1a), for random streams that must not depend on build order.
std::uint32_t path_id(const std::string& path);

// Adds `g` (f32, or bf16 from a bf16 layer: widened) into the f32 gradient view `grad` (same numel),
// then tells the gradient hook (if any) that this parameter's gradient is complete for the step.
void accumulate_grad(Context& ctx, Tensor& grad, const Tensor& g);

// Sees each parameter gradient as soon as its layer's backward has written it: data parallelism
// starts all-reducing a bucket of gradients while the rest of the backward pass runs.
class GradReadyHook {
 public:
  virtual ~GradReadyHook() = default;
  virtual void grad_ready(Context& ctx, const Tensor& grad) = 0;
};
void set_grad_ready_hook(GradReadyHook* hook);  // null: none (the default)

}  // namespace cmt
