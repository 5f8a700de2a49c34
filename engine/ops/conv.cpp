// The convolution op family: validation, then the CPU fast path, native CUDA kernels or cuDNN.
#include "engine/ops/conv.h"

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <mutex>
#include <sstream>
#include <tuple>

#include "engine/ops/cpu_widen.h"
#include "engine/ops/validate.h"
#include "kernels/common/check.h"
#include "kernels/conv.h"
#if defined(CMT_WITH_CUDA)
#include <cuda_runtime_api.h>
#endif
#if defined(CMT_WITH_CUDNN)
#include "kernels/cudnn/conv_cudnn.h"
#endif
#if defined(CMT_WITH_ONEDNN)
#include "kernels/onednn/conv.h"
#endif

namespace cmt::ops {

using namespace detail;

namespace {

std::atomic<ConvBackend> g_backend{ConvBackend::native};
// The plan report's lines about CPU tensors (oneDNN's choices, informative only) start with this.
constexpr const char* kCpuPlanPrefix = "cpu onednn ";
// A single sample (N = 1) with fewer output positions (Z*P*Q) than this stays on cmt's own path in the
// automatic CPU choice. Training steps always hold two views per sample (N >= 2), so a run resumed on
// another number of ranks (another per-rank batch) takes the same path for every layer.
constexpr std::int64_t kOnednnMinSinglePositions = 128;
// 3D 1x1x1 convolutions stay on cmt's path (one sgemm on the tensors as they are) below this many
// output positions per sample (8^3), from the per-layer table at two threads (docs/performance.md).
constexpr std::int64_t kOnednnMin3dPointwise = 512;

CpuConvBackend default_cpu_backend() {
  const char* e = std::getenv("CMT_CPU_CONV_BACKEND");
  if (e && *e) return parse_cpu_conv_backend(e);
#if defined(CMT_WITH_ONEDNN)
  return CpuConvBackend::automatic;  // the per-shape rule of cpu_conv_uses_onednn (docs/conv.md)
#else
  return CpuConvBackend::native;
#endif
}
std::atomic<CpuConvBackend>& cpu_backend() {
  static std::atomic<CpuConvBackend> b{default_cpu_backend()};
  return b;
}

// One dtype for every tensor of a conv: the kernels have no mixed-precision variants.
void require_conv_pair(const Context& ctx, const Tensor& a, const Tensor& b, const char* op, const char* an,
                       const char* bn) {
  require_f32_or_bf16(ctx, a, op, an);
  require_f32_or_bf16(ctx, b, op, bn);
  require_same_dtype(a, b, op, an, bn, "one dtype per conv");
}

// The tensors of one pass: its two inputs (x and w, dy and w, x and dy), fprop's bias (else
// undefined) and the result.
struct PassTensors {
  const Tensor& a;
  const Tensor& b;
  const Tensor& bias;
  Tensor& out;
  const char* names[3];  // of a, b, bias
};

#if defined(CMT_WITH_CUDA)
// The CUDA kernels copy 16-byte chunks (cp.async, vector loads): views must keep that alignment.
void require_aligned(const Tensor& t, const char* op, const char* name) {
  CMT_CHECK(!t.defined() || reinterpret_cast<std::uintptr_t>(t.raw()) % 16 == 0,
            op << ": '" << name << "' " << t.describe() << " is not 16-byte aligned (a view at an odd offset?)");
}

ConvMath math_for(const Context& ctx, DType t) {
  if (t == DType::bf16) return ConvMath::bf16;
  return ctx.precision.compute == ComputePrecision::fp32 ? ConvMath::fp32 : ConvMath::tf32;
}

// The per-shape choice, made once per (pass, math, shape) and recorded: the heuristic default (the
// first valid variant), or with CMT_CONV_AUTOTUNE=1 the fastest of all valid variants, timed once on
// the real arguments (like cudnn.benchmark).
struct Plan {
  cuda::ConvVariant variant;
  std::string how;
};
std::mutex g_plan_mu;
std::map<std::string, Plan>& plans() {
  static std::map<std::string, Plan> p;
  return p;
}

bool autotune_enabled() {
  static const bool on = [] {
    const char* e = std::getenv("CMT_CONV_AUTOTUNE");
    return e && std::string(e) == "1";
  }();
  return on;
}

template <typename Run>
Plan choose(Context& ctx, ConvPass pass, const ConvDesc& d, ConvMath math, Run&& run) {
  const auto variants = cuda::conv_variants(pass, d, math);
  CMT_CHECK(!variants.empty(), "conv " << conv_pass_name(pass) << ": no CUDA kernel for " << d.str());
  if (!autotune_enabled() || variants.size() == 1) return {variants.front(), "heuristic"};
  cudaStream_t s = ctx.compute_stream();
  cudaEvent_t start, stop;
  CUDA_CHECK(cudaEventCreate(&start));
  CUDA_CHECK(cudaEventCreate(&stop));
  Plan best{variants.front(), ""};
  float best_ms = -1;
  std::ostringstream how;
  how << "autotuned:";
  for (const auto& v : variants) {
    run(v);  // warm-up
    CUDA_CHECK(cudaEventRecord(start, s));
    for (int i = 0; i < 3; ++i) run(v);
    CUDA_CHECK(cudaEventRecord(stop, s));
    CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0;
    CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    how << " " << v.name() << "=" << ms / 3 << "ms";
    if (best_ms < 0 || ms < best_ms) best_ms = ms, best.variant = v;
  }
  CUDA_CHECK(cudaEventDestroy(start));
  CUDA_CHECK(cudaEventDestroy(stop));
  best.how = how.str();
  return best;
}

[[maybe_unused]] bool use_cudnn() {
#if defined(CMT_WITH_CUDNN)
  return g_backend.load() == ConvBackend::cudnn;
#else
  return false;
#endif
}

template <typename Native, typename Cudnn>
void run_cuda(Context& ctx, ConvPass pass, const ConvDesc& d, DType t, Native&& native, [[maybe_unused]] Cudnn&& dnn) {
  const ConvMath math = math_for(ctx, t);
#if defined(CMT_WITH_CUDNN)
  if (use_cudnn()) {
    dnn(math, cudnn::Scratch([&](std::size_t bytes) { return ctx.workspace(bytes); }));
    return;
  }
#endif
  auto run = [&](const cuda::ConvVariant& v) {
    const std::size_t bytes = cuda::conv_workspace_bytes(pass, d, math, v);
    native(math, v, bytes ? ctx.workspace(bytes) : nullptr);
  };
  const std::string key = std::string(conv_pass_name(pass)) + " " + conv_math_name(math) + " " + d.str();
  std::unique_lock<std::mutex> lock(g_plan_mu);
  auto it = plans().find(key);
  if (it == plans().end()) it = plans().emplace(key, choose(ctx, pass, d, math, run)).first;
  if (it->second.how == "loaded") {  // from conv_load_plan: must be one of this shape's variants
    bool valid = false;
    for (const auto& v : cuda::conv_variants(pass, d, math)) valid = valid || v.kind == it->second.variant.kind;
    CMT_CHECK(valid, "conv plan for '" << key << "' names " << it->second.variant.name() << ", which cannot run this shape");
    it->second.how = "loaded, checked";
  }
  const cuda::ConvVariant v = it->second.variant;
  lock.unlock();
  run(v);
}

void run_pass_cuda(Context& ctx, ConvPass pass, const ConvDesc& d, const PassTensors& t, const char* op) {
  require_aligned(t.a, op, t.names[0]);
  require_aligned(t.b, op, t.names[1]);
  require_aligned(t.bias, op, t.names[2]);
  const void* a = t.a.raw();
  const void* b = t.b.raw();
  const void* bias = t.bias.defined() ? t.bias.raw() : nullptr;
  void* out = t.out.raw();
  run_cuda(
      ctx, pass, d, t.a.dtype(),
      [&](ConvMath m, const cuda::ConvVariant& v, void* ws) {
        if (pass == ConvPass::fprop) cuda::conv_fprop(d, m, v, a, b, bias, out, ws, ctx.compute_stream());
        else if (pass == ConvPass::dgrad) cuda::conv_dgrad(d, m, v, a, b, out, ws, ctx.compute_stream());
        else cuda::conv_wgrad(d, m, v, a, b, out, ws, ctx.compute_stream());
      },
      [&]([[maybe_unused]] ConvMath m, [[maybe_unused]] const auto& scratch) {
#if defined(CMT_WITH_CUDNN)
        if (pass == ConvPass::fprop) cudnn::conv_fprop(ctx.cudnn(), d, m, a, b, bias, out, scratch);
        else if (pass == ConvPass::dgrad) cudnn::conv_dgrad(ctx.cudnn(), d, m, a, b, out, scratch);
        else cudnn::conv_wgrad(ctx.cudnn(), d, m, a, b, out, scratch);
#endif
      });
}
#endif

#if defined(CMT_WITH_ONEDNN)
void run_onednn(Context& ctx, ConvPass pass, const ConvDesc& d, const float* a, const float* b, const float* bias, float* out) {
  const onednn::Scratch scratch = [&](std::size_t bytes) { return ctx.workspace(bytes); };
  if (pass == ConvPass::fprop) onednn::conv_fprop(d, a, b, bias, out, scratch);
  else if (pass == ConvPass::dgrad) onednn::conv_dgrad(d, a, b, out, scratch);
  else onednn::conv_wgrad(d, a, b, out, scratch);
}
#endif

// The CPU paths run in f32: bf16 inputs are widened and the result rounded back once.
void run_pass_cpu([[maybe_unused]] Context& ctx, ConvPass pass, const ConvDesc& d, const PassTensors& t) {
  const Tensor af = widen(t.a), bf = widen(t.b), biasf = widen(t.bias);
  cpu_into(t.out, [&](float* out) {
#if defined(CMT_WITH_ONEDNN)
    if (cpu_conv_uses_onednn(pass, d))
      return run_onednn(ctx, pass, d, af.data<float>(), bf.data<float>(), biasf.defined() ? biasf.data<float>() : nullptr, out);
#endif
    if (pass == ConvPass::fprop)
      cpu::conv_fprop(d, af.data<float>(), bf.data<float>(), biasf.defined() ? biasf.data<float>() : nullptr, out);
    else if (pass == ConvPass::dgrad) cpu::conv_dgrad(d, af.data<float>(), bf.data<float>(), out);
    else cpu::conv_wgrad(d, af.data<float>(), bf.data<float>(), out);
  });
}

void run_pass(Context& ctx, ConvPass pass, const ConvDesc& d, const PassTensors& t, const char* op) {
  CMT_DISPATCH(ctx, op, run_pass_cuda(ctx, pass, d, t, op), run_pass_cpu(ctx, pass, d, t));
}

}  // namespace

void set_conv_backend(ConvBackend b) {
#if !defined(CMT_WITH_CUDNN)
  CMT_CHECK(b != ConvBackend::cudnn, "set_conv_backend: cmt was built without cuDNN (CMT_WITH_CUDNN=OFF)");
#endif
  g_backend.store(b);
}
ConvBackend conv_backend() { return g_backend.load(); }

ConvBackend parse_conv_backend(const std::string& name) {
  if (name == "native") return ConvBackend::native;
  if (name == "cudnn") return ConvBackend::cudnn;
  CMT_THROW("unknown conv backend '" << name << "' (expected native or cudnn)");
}
const char* conv_backend_name(ConvBackend b) { return b == ConvBackend::cudnn ? "cudnn" : "native"; }

void set_cpu_conv_backend(CpuConvBackend b) {
#if !defined(CMT_WITH_ONEDNN)
  CMT_CHECK(b == CpuConvBackend::native, "set_cpu_conv_backend: cmt was built without oneDNN (CMT_WITH_ONEDNN=OFF)");
#endif
  cpu_backend().store(b);
}
CpuConvBackend cpu_conv_backend() { return cpu_backend().load(); }

CpuConvBackend parse_cpu_conv_backend(const std::string& name) {
  if (name == "native") return CpuConvBackend::native;
  if (name == "onednn") return CpuConvBackend::onednn;
  if (name == "auto") return CpuConvBackend::automatic;
  CMT_THROW("unknown CPU conv backend '" << name << "' (expected native, onednn or auto)");
}
const char* cpu_conv_backend_name(CpuConvBackend b) {
  return b == CpuConvBackend::onednn ? "onednn" : b == CpuConvBackend::automatic ? "auto" : "native";
}

bool cpu_conv_uses_onednn([[maybe_unused]] ConvPass pass, [[maybe_unused]] const ConvDesc& d) {
#if defined(CMT_WITH_ONEDNN)
  const CpuConvBackend b = cpu_conv_backend();
  if (b == CpuConvBackend::native) return false;
  // oneDNN 2.6's jit weight gradient returned garbage on the 3D 7x7x7 stride-2 one-channel stem
  // (unit.conv CPU paths ... every 3D backbone conv); cmt's own stem path is made for this pass.
  if (pass == ConvPass::wgrad && d.C == 1) return false;
  if (b == CpuConvBackend::onednn) return true;
  // automatic, from the measurements (docs/performance.md). 2D depthwise: oneDNN (its depthwise
  // kernels beat cmt's loops). 3D depthwise: cmt's own path (its channel-vectorised loops). 1x1
  // convs on few positions: cmt's own sgemm (below). Everything else: oneDNN, unless one image has
  // few output positions (oneDNN reorders the weights per call, which a single small image cannot
  // amortise; a batch can).
  const bool two_d = d.D == 1 && d.T == 1 && d.stride[0] == 1 && d.pad[0] == 0;
  const bool depthwise = d.groups > 1 && d.Cg() == 1;
  if (depthwise) return two_d;
  const std::int64_t positions = std::int64_t{d.Z} * d.P * d.Q;
  if (d.trs() == 1 && d.groups == 1) {  // 1x1(x1), any stride: a GEMM on the positions' rows
    // A few rows (the deepest 3D maps, 1^3 and 2^3, which also look 2D): cmt's one sgemm has less
    // overhead. 3D below 8^3: likewise; from 8^3 oneDNN's kernels win.
    if (positions <= 8) return false;
    if (!two_d) return positions >= kOnednnMin3dPointwise;
  }
  return d.N > 1 || positions >= kOnednnMinSinglePositions;
#else
  return false;
#endif
}

ConvDesc conv_desc(const Shape& x, const Shape& w, const ConvParams& p) {
  CMT_CHECK(x.rank() == 5, "conv: input x must be rank 5 (N,D,H,W,C), got " << x.str());
  CMT_CHECK(w.rank() == 5, "conv: weight w must be rank 5 (K,T,R,S,C/groups), got " << w.str());
  for (int i = 0; i < 5; ++i) {
    CMT_CHECK(x[i] > 0 && x[i] < (std::int64_t{1} << 31), "conv: input x has a bad dimension " << i << " in " << x.str());
    CMT_CHECK(w[i] > 0 && w[i] < (std::int64_t{1} << 31), "conv: weight w has a bad dimension " << i << " in " << w.str());
  }
  CMT_CHECK(p.groups >= 1, "conv: groups must be >= 1, got " << p.groups);
  ConvDesc d;
  d.N = static_cast<int>(x[0]), d.D = static_cast<int>(x[1]), d.H = static_cast<int>(x[2]);
  d.W = static_cast<int>(x[3]), d.C = static_cast<int>(x[4]);
  d.K = static_cast<int>(w[0]), d.T = static_cast<int>(w[1]), d.R = static_cast<int>(w[2]), d.S = static_cast<int>(w[3]);
  d.groups = p.groups;
  CMT_CHECK(d.C % p.groups == 0, "conv: input channels C=" << d.C << " are not divisible by groups=" << p.groups);
  CMT_CHECK(d.K % p.groups == 0, "conv: output channels K=" << d.K << " are not divisible by groups=" << p.groups);
  CMT_CHECK(w[4] == d.C / p.groups, "conv: weight " << w.str() << " has " << w[4] << " input channels but x " << x.str()
                                                    << " with groups=" << p.groups << " needs C/groups=" << d.C / p.groups);
  const char* dims = "DHW";
  const int in[3] = {d.D, d.H, d.W}, k[3] = {d.T, d.R, d.S};
  int out[3];
  for (int i = 0; i < 3; ++i) {
    CMT_CHECK(p.stride[i] >= 1, "conv: stride[" << dims[i] << "] must be >= 1, got " << p.stride[i]);
    CMT_CHECK(p.dilation[i] >= 1, "conv: dilation[" << dims[i] << "] must be >= 1, got " << p.dilation[i]);
    CMT_CHECK(p.padding[i] >= 0, "conv: padding[" << dims[i] << "] must be >= 0, got " << p.padding[i]);
    const std::int64_t span = std::int64_t{in[i]} + 2 * std::int64_t{p.padding[i]} - std::int64_t{p.dilation[i]} * (k[i] - 1) - 1;
    CMT_CHECK(span >= 0, "conv: the " << dims[i] << " window (size " << k[i] << ", dilation " << p.dilation[i]
                                      << ") does not fit the padded input (size " << in[i] << ", padding "
                                      << p.padding[i] << ")");
    out[i] = static_cast<int>(span / p.stride[i] + 1);
    d.stride[i] = p.stride[i], d.pad[i] = p.padding[i], d.dil[i] = p.dilation[i];
  }
  d.Z = out[0], d.P = out[1], d.Q = out[2];
  // The CUDA gathers decompose positions with 32-bit arithmetic.
  CMT_CHECK(d.y_positions() < (std::int64_t{1} << 31) && d.x_positions() < (std::int64_t{1} << 31) &&
                d.gemm_k() < (std::int64_t{1} << 31) && std::int64_t{d.trs()} * d.Kg() < (std::int64_t{1} << 31),
            "conv: more than 2^31 positions or reduction elements: " << d.str());
  return d;
}

Shape conv_output_shape(const Shape& x, const Shape& w, const ConvParams& p) {
  const ConvDesc d = conv_desc(x, w, p);
  return Shape{d.N, d.Z, d.P, d.Q, d.K};
}

Tensor conv_forward(Context& ctx, const Tensor& x, const Tensor& w, const Tensor& bias, const ConvParams& p) {
  require_conv_pair(ctx, x, w, "conv_forward", "x", "w");
  const ConvDesc d = conv_desc(x.shape(), w.shape(), p);
  if (bias.defined()) {
    require_conv_pair(ctx, x, bias, "conv_forward", "x", "bias");
    CMT_CHECK(bias.rank() == 1 && bias.dim(0) == d.K, "conv_forward: bias must be [" << d.K << "], got " << bias.describe());
  }
  Tensor y = Tensor::empty(Shape{d.N, d.Z, d.P, d.Q, d.K}, x.dtype(), x.device());
  run_pass(ctx, ConvPass::fprop, d, {x, w, bias, y, {"x", "w", "bias"}}, "conv_forward");
  return y;
}

Tensor conv_backward_data(Context& ctx, const Tensor& dy, const Tensor& w, const Shape& x_shape, const ConvParams& p) {
  require_conv_pair(ctx, dy, w, "conv_backward_data", "dy", "w");
  const ConvDesc d = conv_desc(x_shape, w.shape(), p);
  const Shape y_shape{d.N, d.Z, d.P, d.Q, d.K};
  CMT_CHECK(dy.shape() == y_shape,
            "conv_backward_data: dy " << dy.describe() << " does not match the conv output "
                                      << y_shape.str() << " of x " << x_shape.str());
  Tensor dx = Tensor::empty(x_shape, dy.dtype(), dy.device());
  run_pass(ctx, ConvPass::dgrad, d, {dy, w, Tensor(), dx, {"dy", "w", "bias"}}, "conv_backward_data");
  return dx;
}

Tensor conv_backward_weight(Context& ctx, const Tensor& x, const Tensor& dy, const Shape& w_shape, const ConvParams& p) {
  require_conv_pair(ctx, x, dy, "conv_backward_weight", "x", "dy");
  const ConvDesc d = conv_desc(x.shape(), w_shape, p);
  const Shape y_shape{d.N, d.Z, d.P, d.Q, d.K};
  CMT_CHECK(dy.shape() == y_shape,
            "conv_backward_weight: dy " << dy.describe() << " does not match the conv output "
                                        << y_shape.str() << " of x " << x.describe());
  Tensor dw = Tensor::empty(w_shape, x.dtype(), x.device());
  run_pass(ctx, ConvPass::wgrad, d, {x, dy, Tensor(), dw, {"x", "dy", "bias"}}, "conv_backward_weight");
  return dw;
}

Tensor conv_backward_bias(Context& ctx, const Tensor& dy) {
  require_f32_or_bf16(ctx, dy, "conv_backward_bias", "dy");
  CMT_CHECK(dy.rank() == 5, "conv_backward_bias: dy must be rank 5 (N,Z,P,Q,K), got " << dy.describe());
  const int K = static_cast<int>(dy.dim(4));
  const std::int64_t rows = dy.numel() / K;
  Tensor db = Tensor::empty(Shape{K}, dy.dtype(), dy.device());
  CMT_DISPATCH(ctx, "conv_backward_bias",
               {
                 void* ws = ctx.workspace(cuda::conv_bias_grad_workspace_bytes(rows, K));
                 cuda::conv_bias_grad(rows, K, dy.dtype() == DType::bf16, dy.raw(), db.raw(), ws, ctx.compute_stream());
               },
               {
                 const Tensor dyf = widen(dy);
                 cpu_into(db, [&](float* out) { cpu::conv_bias_grad(rows, K, dyf.data<float>(), out); });
               });
  return db;
}

void conv_load_plan(const std::string& report) {
#if defined(CMT_WITH_CUDA)
  std::istringstream in(report);
  std::string line;
  std::lock_guard<std::mutex> lock(g_plan_mu);
  while (std::getline(in, line)) {
    if (line.empty() || line.rfind(kCpuPlanPrefix, 0) == 0) continue;  // oneDNN's choices are its own
    const auto arrow = line.find(" -> ");
    CMT_CHECK(arrow != std::string::npos, "conv_load_plan: line without ' -> ': " << line);
    const std::string rest = line.substr(arrow + 4);
    plans()[line.substr(0, arrow)] = Plan{cuda::ConvVariant::parse(rest.substr(0, rest.find(' '))), "loaded"};
  }
#else
  std::istringstream in(report);
  for (std::string line; std::getline(in, line);)
    CMT_CHECK(line.empty() || line.rfind(kCpuPlanPrefix, 0) == 0, "conv_load_plan: cmt was built without CUDA");
#endif
}

std::string conv_plan_report() {
  std::ostringstream os;
#if defined(CMT_WITH_CUDA)
  std::lock_guard<std::mutex> lock(g_plan_mu);
  for (const auto& [key, p] : plans()) os << key << " -> " << p.variant.name() << " (" << p.how << ")\n";
#endif
#if defined(CMT_WITH_ONEDNN)
  std::istringstream onednn_lines(onednn::conv_report());
  for (std::string line; std::getline(onednn_lines, line);) os << kCpuPlanPrefix << line << "\n";
#endif
  return os.str();
}

}  // namespace cmt::ops
