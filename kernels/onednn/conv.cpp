// oneDNN convolutions on channels-last CPU tensors: one cached set of primitives per (pass, shape).
#include "kernels/onednn/conv.h"

#include <dnnl.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include "kernels/common/check.h"

namespace cmt::onednn {

namespace {

using dnnl::memory;
using dims = memory::dims;

dnnl::engine& cpu_engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

// 2D convolutions (D = T = 1) get 4D descriptors, so oneDNN picks its 2D kernels.
bool is_2d(const ConvDesc& d) { return d.D == 1 && d.T == 1 && d.stride[0] == 1 && d.pad[0] == 0; }

// An N,D,H,W,C tensor as oneDNN's logical N,C,(D,)H,W with channels-last strides.
memory::desc activation_desc(const ConvDesc& d, int n, int c, int z, int h, int w) {
  const memory::dim C = c, HWC = memory::dim{h} * w * c;
  if (is_2d(d)) return {{n, c, h, w}, memory::data_type::f32, dims{HWC, 1, memory::dim{w} * C, C}};
  return {{n, c, z, h, w}, memory::data_type::f32, dims{z * HWC, 1, HWC, memory::dim{w} * C, C}};
}
memory::desc x_desc(const ConvDesc& d) { return activation_desc(d, d.N, d.C, d.D, d.H, d.W); }
memory::desc y_desc(const ConvDesc& d) { return activation_desc(d, d.N, d.K, d.Z, d.P, d.Q); }

// The K,T,R,S,C/groups weights: oneDNN's (G,) O, I, (T,) R, S with the matching strides.
memory::desc w_desc(const ConvDesc& d) {
  const memory::dim Cg = d.Cg(), s = Cg, r = memory::dim{d.S} * Cg, t = memory::dim{d.R} * r, o = memory::dim{d.T} * t;
  dims shape, strides;
  if (d.groups > 1) shape.push_back(d.groups), strides.push_back(memory::dim{d.Kg()} * o);
  shape.insert(shape.end(), {d.Kg(), Cg});
  strides.insert(strides.end(), {o, 1});
  if (!is_2d(d)) shape.push_back(d.T), strides.push_back(t);
  shape.insert(shape.end(), {d.R, d.S});
  strides.insert(strides.end(), {r, s});
  return {shape, memory::data_type::f32, strides};
}
memory::desc any_weights(const ConvDesc& d) {
  const memory::desc user = w_desc(d);
  return {user.dims(), memory::data_type::f32, memory::format_tag::any};
}

// Strides, dilations (oneDNN counts the gaps: dil - 1) and paddings of the spatial dimensions. The
// right padding is what the output size needs (PyTorch's floor), never more than the left one.
struct Geometry {
  dims stride, dilate, pad_l, pad_r;
};
Geometry geometry(const ConvDesc& d) {
  Geometry g;
  const int in[3] = {d.D, d.H, d.W}, k[3] = {d.T, d.R, d.S}, out[3] = {d.Z, d.P, d.Q};
  for (int i = is_2d(d) ? 1 : 0; i < 3; ++i) {
    const int needed = (out[i] - 1) * d.stride[i] + d.dil[i] * (k[i] - 1) + 1 - in[i] - d.pad[i];
    g.stride.push_back(d.stride[i]);
    g.dilate.push_back(d.dil[i] - 1);
    g.pad_l.push_back(d.pad[i]);
    g.pad_r.push_back(needed > 0 ? needed : 0);
  }
  return g;
}

dnnl::primitive_attr user_scratchpad() {
  dnnl::primitive_attr a;
  a.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return a;
}

dnnl::convolution_forward::primitive_desc forward_pd(const ConvDesc& d, bool bias) {
  const Geometry g = geometry(d);
  const memory::desc b = bias ? memory::desc({d.K}, memory::data_type::f32, memory::format_tag::a) : memory::desc();
  dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, x_desc(d),
                                       any_weights(d), b, y_desc(d), g.stride, g.dilate, g.pad_l, g.pad_r);
  return {desc, user_scratchpad(), cpu_engine()};
}

// One pass of one shape: its primitive, and the weight reorder between the user's layout and the
// primitive's (none when oneDNN takes the user's layout as it is).
struct Plan {
  dnnl::primitive conv;
  memory::desc scratchpad;
  std::size_t scratchpad_bytes = 0;
  memory::desc weights;  // the primitive's weights (or weight gradient) layout
  bool reordered = false;
  dnnl::reorder weight_reorder;
  std::string impl;

  std::size_t scratch_bytes() const { return round_up(scratchpad_bytes) + (reordered ? weights.get_size() : 0); }
  static std::size_t round_up(std::size_t bytes) { return (bytes + 63) / 64 * 64; }
};

// `from_user`: the reorder goes from the user's weights to the primitive's (fprop, dgrad), else back.
template <typename Primitive, typename Pd>
Plan make_plan(const ConvDesc& d, const Pd& pd, const memory::desc& weights, bool from_user) {
  Plan p;
  p.conv = Primitive(pd);
  p.scratchpad = pd.scratchpad_desc();
  p.scratchpad_bytes = p.scratchpad.get_size();
  p.weights = weights;
  p.impl = pd.impl_info_str();
  const memory::desc user = w_desc(d);
  p.reordered = weights != user;
  if (p.reordered) {
    auto& e = cpu_engine();
    p.weight_reorder = dnnl::reorder(from_user ? dnnl::reorder::primitive_desc(e, user, e, weights)
                                               : dnnl::reorder::primitive_desc(e, weights, e, user));
  }
  return p;
}

Plan plan_for(ConvPass pass, const ConvDesc& d, bool bias) {
  const Geometry g = geometry(d);
  switch (pass) {
    case ConvPass::fprop: {
      const auto pd = forward_pd(d, bias);
      return make_plan<dnnl::convolution_forward>(d, pd, pd.weights_desc(), true);
    }
    case ConvPass::dgrad: {
      dnnl::convolution_backward_data::desc desc(dnnl::algorithm::convolution_direct, x_desc(d), any_weights(d), y_desc(d),
                                                 g.stride, g.dilate, g.pad_l, g.pad_r);
      const dnnl::convolution_backward_data::primitive_desc pd(desc, user_scratchpad(), cpu_engine(), forward_pd(d, false));
      return make_plan<dnnl::convolution_backward_data>(d, pd, pd.weights_desc(), true);
    }
    case ConvPass::wgrad: {
      dnnl::convolution_backward_weights::desc desc(dnnl::algorithm::convolution_direct, x_desc(d), any_weights(d), y_desc(d),
                                                    g.stride, g.dilate, g.pad_l, g.pad_r);
      const dnnl::convolution_backward_weights::primitive_desc pd(desc, user_scratchpad(), cpu_engine(), forward_pd(d, false));
      return make_plan<dnnl::convolution_backward_weights>(d, pd, pd.diff_weights_desc(), false);
    }
  }
  CMT_THROW("onednn conv: unknown pass");
}

std::mutex g_plans_mu;
std::map<std::string, Plan>& plans() {
  static std::map<std::string, Plan> p;
  return p;
}

std::string plan_key(ConvPass pass, const ConvDesc& d, bool bias) {
  return std::string(conv_pass_name(pass)) + " " + d.str() + (bias ? " bias" : "");
}

// The cached plan of (pass, shape); created on first use. Plans are never erased, so the reference
// stays valid outside the lock (execution itself is thread-safe with a user scratchpad).
const Plan& cached_plan(ConvPass pass, const ConvDesc& d, bool bias) {
  const std::string key = plan_key(pass, d, bias);
  std::lock_guard<std::mutex> lock(g_plans_mu);
  auto it = plans().find(key);
  if (it == plans().end()) {
    try {
      it = plans().emplace(key, plan_for(pass, d, bias)).first;
    } catch (const dnnl::error& e) {
      CMT_THROW("onednn conv " << conv_pass_name(pass) << ": no primitive for " << d.str() << ": " << e.what());
    }
  }
  return it->second;
}

memory wrap(const memory::desc& desc, const void* data) {
  return memory(desc, cpu_engine(), const_cast<void*>(data));  // oneDNN takes non-const handles, inputs are only read
}

// Runs one pass: `args` names the activations; the weights (or weight gradient) go through the
// plan's reorder in the scratch when the primitive wants another layout.
void run(ConvPass pass, const ConvDesc& d, bool bias, std::unordered_map<int, memory> args, const float* weights_in,
         float* weights_out, const Scratch& scratch) {
  const Plan& p = cached_plan(pass, d, bias);
  const std::size_t bytes = p.scratch_bytes();
  auto* base = static_cast<char*>(bytes ? scratch(bytes) : nullptr);
  if (p.scratchpad_bytes) args[DNNL_ARG_SCRATCHPAD] = wrap(p.scratchpad, base);
  memory user = wrap(w_desc(d), weights_in ? static_cast<const void*>(weights_in) : weights_out);
  memory inner = p.reordered ? wrap(p.weights, base + Plan::round_up(p.scratchpad_bytes)) : user;
  const int weight_arg = pass == ConvPass::wgrad ? DNNL_ARG_DIFF_WEIGHTS : DNNL_ARG_WEIGHTS;
  args[weight_arg] = inner;
  dnnl::stream s(cpu_engine());
  if (p.reordered && pass != ConvPass::wgrad) p.weight_reorder.execute(s, user, inner);
  p.conv.execute(s, args);
  if (p.reordered && pass == ConvPass::wgrad) p.weight_reorder.execute(s, inner, user);
  s.wait();
}

}  // namespace

void conv_fprop(const ConvDesc& d, const float* x, const float* w, const float* bias, float* y, const Scratch& scratch) {
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, wrap(x_desc(d), x)}, {DNNL_ARG_DST, wrap(y_desc(d), y)}};
  if (bias) args[DNNL_ARG_BIAS] = wrap(memory::desc({d.K}, memory::data_type::f32, memory::format_tag::a), bias);
  run(ConvPass::fprop, d, bias != nullptr, std::move(args), w, nullptr, scratch);
}

void conv_dgrad(const ConvDesc& d, const float* dy, const float* w, float* dx, const Scratch& scratch) {
  run(ConvPass::dgrad, d, false, {{DNNL_ARG_DIFF_DST, wrap(y_desc(d), dy)}, {DNNL_ARG_DIFF_SRC, wrap(x_desc(d), dx)}}, w, nullptr,
      scratch);
}

void conv_wgrad(const ConvDesc& d, const float* x, const float* dy, float* dw, const Scratch& scratch) {
  run(ConvPass::wgrad, d, false, {{DNNL_ARG_SRC, wrap(x_desc(d), x)}, {DNNL_ARG_DIFF_DST, wrap(y_desc(d), dy)}}, nullptr, dw,
      scratch);
}

std::string conv_report() {
  std::ostringstream os;
  std::lock_guard<std::mutex> lock(g_plans_mu);
  for (const auto& [key, p] : plans()) os << key << " -> " << p.impl << (p.reordered ? " (weights reordered)" : "") << "\n";
  return os.str();
}

}  // namespace cmt::onednn
