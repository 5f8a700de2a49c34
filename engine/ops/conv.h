// Tensor-level convolution: fprop, dgrad, wgrad and bias gradient on N,D,H,W,C activations and
// K,T,R,S,C/groups weights; CPU reference backend, native CUDA kernels or cuDNN.
#pragma once
#include <array>
#include <string>

#include "engine/context.h"
#include "engine/tensor.h"
#include "kernels/conv.h"

namespace cmt::ops {

struct ConvParams {  // per dimension (D, H, W)
  std::array<int, 3> stride{1, 1, 1}, padding{0, 0, 0}, dilation{1, 1, 1};
  int groups = 1;
};

enum class ConvBackend { native, cudnn };
void set_conv_backend(ConvBackend);  // process-wide default for CUDA tensors (CPU ignores it)
ConvBackend conv_backend();
ConvBackend parse_conv_backend(const std::string& name);  // "native" | "cudnn"
const char* conv_backend_name(ConvBackend);

// The path of CPU tensors, process-wide: `native` is cmt's own fast path (vol2col + GEMM,
// depthwise loops), `onednn` oneDNN's primitives for every pass (but the one-channel stem's weight
// gradient), `automatic` ("auto", the default in builds with oneDNN) oneDNN where it was measured
// faster (cpu_conv_uses_onednn). CMT_CPU_CONV_BACKEND=native|onednn|auto overrides the default at
// start. The direct reference stays the oracle of both paths in the tests.
enum class CpuConvBackend { native, onednn, automatic };
void set_cpu_conv_backend(CpuConvBackend);
CpuConvBackend cpu_conv_backend();
CpuConvBackend parse_cpu_conv_backend(const std::string& name);  // "native" | "onednn" | "auto"
const char* cpu_conv_backend_name(CpuConvBackend);
// Whether a pass of CPU tensors runs on oneDNN under the current CPU backend.
bool cpu_conv_uses_onednn(ConvPass pass, const ConvDesc& d);

// Validates the shapes and parameters (clear errors naming the argument) and returns the output
// shape (N,Z,P,Q,K). x: (N,D,H,W,C), w: (K,T,R,S,C/groups).
Shape conv_output_shape(const Shape& x, const Shape& w, const ConvParams& p);
ConvDesc conv_desc(const Shape& x, const Shape& w, const ConvParams& p);  // validated descriptor

Tensor conv_forward(Context& ctx, const Tensor& x /*N,D,H,W,C*/, const Tensor& w /*K,T,R,S,C/groups*/,
                    const Tensor& bias /*[K] or undefined*/, const ConvParams& p);  // -> (N,Z,P,Q,K)
Tensor conv_backward_data(Context& ctx, const Tensor& dy /*N,Z,P,Q,K*/, const Tensor& w /*K,T,R,S,C/groups*/,
                          const Shape& x_shape, const ConvParams& p);  // -> dx (N,D,H,W,C)
Tensor conv_backward_weight(Context& ctx, const Tensor& x /*N,D,H,W,C*/, const Tensor& dy /*N,Z,P,Q,K*/,
                            const Shape& w_shape, const ConvParams& p);  // -> dw (K,T,R,S,C/groups)
Tensor conv_backward_bias(Context& ctx, const Tensor& dy /*N,Z,P,Q,K*/);  // -> [K], sum over N,Z,P,Q

// Dtypes: all tensors of a call share one, f32 or bf16. bf16 computes with fp32 accumulation and
// rounds the result to bf16 once (CPU: widened to f32 and back; CUDA: bf16 tensor cores). f32 on
// CUDA is exact fp32 with ctx.precision.compute == fp32, tf32 tensor-core math otherwise.

// The per-shape kernel choices made so far on CUDA (native backend), one line each:
// "<pass> <math> <descriptor> -> <variant> (heuristic | autotuned: timings)". Print it to make a run
// reproducible. The choice is heuristic unless CMT_CONV_AUTOTUNE=1 (then timed once per shape).
// With oneDNN, its implementation per (pass, shape) of CPU tensors follows: "cpu onednn <pass>
// <descriptor> -> <oneDNN implementation>" (informative: conv_load_plan skips these lines).
std::string conv_plan_report();
// Replays a recorded report (e.g. of an autotuned run): its choices are used instead of choosing;
// each is checked against the shape's valid variants on first use.
void conv_load_plan(const std::string& report);

}  // namespace cmt::ops
