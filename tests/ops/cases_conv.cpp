// Cases of the convolution family. Op rows: the tensor-level entry points (forward, data, weight and
// bias gradients) on every backend against the direct CPU reference, on the edge cases (also the
// CPU's own fast paths, finite differences and PyTorch). Kernel rows (CUDA): every variant of each
// pass in fp32, tf32 and bf16 through the launchers, exact on small integers (bf16 results against
// the exact result rounded to bf16) on every distinct backbone conv (2D and 3D) and the edge cases,
// and within their rounding on Gaussian inputs.
#include <cmath>

#include "engine/ops/basic.h"
#include "engine/ops/conv.h"
#include "kernels/common/float16.h"
#include "kernels/conv.h"
#include "ops/modes.h"
#include "ops/op_case.h"
#include "unit/test_conv_shapes.h"

namespace cmt::opcase {
namespace {

using test::ConvCase;

nlohmann::json conv_args(const ops::ConvParams& p) {
  return {{"stride", p.stride}, {"padding", p.padding}, {"dilation", p.dilation}, {"groups", p.groups}};
}

Shape y_shape(const ConvDesc& d) { return Shape{d.N, d.Z, d.P, d.Q, d.K}; }

// x, w, bias, dy on the CPU: small integers (exact fp32 sums) or Gaussian.
std::function<Tensors(std::mt19937_64&)> conv_inputs(const ConvCase& c, bool gaussian) {
  return [c, gaussian](std::mt19937_64& gen) {
    const ConvDesc d = ops::conv_desc(c.x, c.w, c.p);
    auto make = [&](const Shape& s, int k) { return gaussian ? normal(s, gen) : small_ints(s, gen, k); };
    return Tensors{{"x", make(c.x, 2)}, {"w", make(c.w, 2)}, {"b", make(Shape{d.K}, 3)}, {"dy", make(y_shape(d), 2)}};
  };
}

// The direct reference of the three passes (and the bias gradient).
Tensors direct_reference(const ConvCase& c, const Tensors& in) {
  const ConvDesc d = ops::conv_desc(c.x, c.w, c.p);
  Tensor y = Tensor::empty(y_shape(d), DType::f32), dx = Tensor::empty(c.x, DType::f32), dw = Tensor::empty(c.w, DType::f32);
  cpu::conv_fprop_direct<float>(d, in.at("x").data<float>(), in.at("w").data<float>(), in.at("b").data<float>(), y.data<float>());
  cpu::conv_dgrad_direct<float>(d, in.at("dy").data<float>(), in.at("w").data<float>(), dx.data<float>());
  cpu::conv_wgrad_direct<float>(d, in.at("x").data<float>(), in.at("dy").data<float>(), dw.data<float>());
  return Tensors{{"y", y}, {"dx", dx}, {"dw", dw}};
}

Tensors op_outputs(Context& ctx, const ConvCase& c, const Tensors& in) {
  ctx.precision.compute = ComputePrecision::fp32;
  return Tensors{{"y", ops::conv_forward(ctx, in.at("x"), in.at("w"), in.at("b"), c.p)},
                 {"dx", ops::conv_backward_data(ctx, in.at("dy"), in.at("w"), c.x, c.p)},
                 {"dw", ops::conv_backward_weight(ctx, in.at("x"), in.at("dy"), c.w, c.p)},
                 {"db", ops::conv_backward_bias(ctx, in.at("dy"))}};
}

// On the emulated device the 3D stem edge case takes a smaller volume: its data gradient pads N = 1
// to a full tensor-core tile and alone took minutes there. Every edge case still runs every variant.
std::vector<ConvCase> edge_cases_here() {
  auto cases = test::edge_cases();
  if (emulated())
    for (auto& c : cases)
      if (c.name == "stem 7x7x7 s2 C1") c.x = Shape{1, 7, 7, 6, 1}, c.w = Shape{8, 7, 7, 7, 1};
  return cases;
}

std::vector<OpCase> conv_op_cases() {
  std::vector<OpCase> rows;
  const auto edges = edge_cases_here();
  for (std::size_t i = 0; i < edges.size(); ++i) {
    const ConvCase c = edges[i];
    const bool small = c.x.numel() <= 2000 && c.w.numel() <= 3000;
    OpCase row{.family = "conv", .name = "op " + c.name, .inputs = conv_inputs(c, false),
               .run = [c](Context& ctx, const Tensors& in) { return op_outputs(ctx, c, in); },
               .reference = [c](const Tensors& in) {
                 Context cpu(Device::cpu());
                 Tensors out = direct_reference(c, in);
                 out["db"] = ops::conv_backward_bias(cpu, in.at("dy"));
                 return out;
               },
               .check = Check::exact(),
               .gradients = small ? std::vector<Gradient>{{"x", "y", "dy", "dx"}, {"w", "y", "dy", "dw"}, {"b", "y", "dy", "db"}} : std::vector<Gradient>{},
               .oracle = "conv",
               .args = conv_args(c.p),
               .backends = {"cpu", "onednn", "cuda"},
               .full_only = emulated() && i % 3 != 0};
    rows.push_back(row);
    // cuDNN may pick FFT/Winograd algorithms, which round; cudnnFind runs every algorithm per new
    // shape (slow under compute-sanitizer), hence every third case.
    if (i % 3 == 0) {
      row.name = "cudnn " + c.name;
      row.check = Check::close(1e-2, 0);
      row.checks = {{"db", Check::exact()}};
      row.gradients.clear();
      row.oracle.clear();
      row.backends = {"cudnn"};
      row.full_only = false;
      rows.push_back(row);
    }
  }
  return rows;
}

#if defined(CMT_WITH_CUDA)

const char* pass_output(ConvPass pass) { return pass == ConvPass::fprop ? "y" : pass == ConvPass::dgrad ? "dx" : "dw"; }

std::string variant_output(ConvPass pass, ConvMath math, const cuda::ConvVariant& v) {
  return text(conv_pass_name(pass), " ", conv_math_name(math), " ", v.name());
}

// Runs one variant of one pass through the launchers on ctx's device; the result widened to f32.
Tensor run_variant(Context& ctx, ConvPass pass, const ConvDesc& d, ConvMath math, const cuda::ConvVariant& v, const Tensors& in) {
  Context cpu(Device::cpu());
  const DType t = math == ConvMath::bf16 ? DType::bf16 : DType::f32;
  auto dev = [&](const char* name) {
    const Tensor host = in.at(name).to(Device::cpu());
    return (t == DType::f32 ? host : ops::cast(cpu, host, t)).to(ctx.device());
  };
  Tensor x = dev("x"), w = dev("w"), b = dev("b"), dy = dev("dy");
  const auto ws_bytes = static_cast<std::int64_t>(std::max<std::size_t>(cuda::conv_workspace_bytes(pass, d, math, v), 1));
  Tensor ws = Tensor::empty(Shape{ws_bytes}, DType::u8, ctx.device());
  Tensor out;
  switch (pass) {
    case ConvPass::fprop:
      out = Tensor::empty(y_shape(d), t, ctx.device());
      cuda::conv_fprop(d, math, v, x.raw(), w.raw(), b.raw(), out.raw(), ws.raw(), ctx.compute_stream());
      break;
    case ConvPass::dgrad:
      out = Tensor::empty(Shape{d.N, d.D, d.H, d.W, d.C}, t, ctx.device());
      cuda::conv_dgrad(d, math, v, dy.raw(), w.raw(), out.raw(), ws.raw(), ctx.compute_stream());
      break;
    case ConvPass::wgrad:
      out = Tensor::empty(Shape{d.K, d.T, d.R, d.S, d.Cg()}, t, ctx.device());
      cuda::conv_wgrad(d, math, v, x.raw(), dy.raw(), out.raw(), ws.raw(), ctx.compute_stream());
      break;
  }
  ctx.synchronize();
  return t == DType::f32 ? out : ops::cast(cpu, out.to(Device::cpu()), DType::f32);
}

Tensor rounded_bf16(const Tensor& f32) {
  Context cpu(Device::cpu());
  return ops::cast(cpu, ops::cast(cpu, f32, DType::bf16), DType::f32);
}

std::vector<cuda::ConvVariant> variants(ConvPass pass, const ConvDesc& d, ConvMath math, bool all) {
  auto v = cuda::conv_variants(pass, d, math);
  if (!all) v.resize(1);
  return v;
}

// Small integers: every sum exact in fp32 (and tf32/bf16 products): any mismatch is a bug.
OpCase exact_kernel_row(const ConvCase& c, bool all_variants, bool full_only) {
  return {.family = "conv", .name = text("kernels exact ", c.name), .inputs = conv_inputs(c, false),
          .run = [c, all_variants](Context& ctx, const Tensors& in) {
            const ConvDesc d = ops::conv_desc(c.x, c.w, c.p);
            Tensors out;
            for (ConvPass pass : {ConvPass::fprop, ConvPass::dgrad, ConvPass::wgrad})
              for (ConvMath math : {ConvMath::fp32, ConvMath::tf32, ConvMath::bf16})
                for (const auto& v : variants(pass, d, math, all_variants || full_sweep()))
                  out[variant_output(pass, math, v)] = run_variant(ctx, pass, d, math, v, in);
            return out;
          },
          .reference = [c, all_variants](const Tensors& in) {
            const ConvDesc d = ops::conv_desc(c.x, c.w, c.p);
            const Tensors want = direct_reference(c, in);
            Tensors out;
            for (ConvPass pass : {ConvPass::fprop, ConvPass::dgrad, ConvPass::wgrad})
              for (ConvMath math : {ConvMath::fp32, ConvMath::tf32, ConvMath::bf16})
                for (const auto& v : variants(pass, d, math, all_variants || full_sweep())) {
                  const Tensor& w = want.at(pass_output(pass));
                  out[variant_output(pass, math, v)] = math == ConvMath::bf16 ? rounded_bf16(w) : w;
                }
            return out;
          },
          .backends = {"cuda"},
          .full_only = full_only};
}

// Gaussian inputs: bf16 against the reference of the same bf16-rounded inputs (only accumulation
// order and the output rounding differ); tf32 rounds inputs to 10 mantissa bits inside the kernel.
OpCase rounding_kernel_row(const ConvCase& c) {
  const ConvDesc d = ops::conv_desc(c.x, c.w, c.p);
  std::map<std::string, Check> checks;
  for (ConvPass pass : {ConvPass::fprop, ConvPass::dgrad, ConvPass::wgrad}) {
    const double len = pass == ConvPass::fprop ? static_cast<double>(d.gemm_k())
                       : pass == ConvPass::dgrad ? static_cast<double>(d.K) * d.trs() / d.groups
                                                 : static_cast<double>(d.y_positions());
    for (ConvMath math : {ConvMath::tf32, ConvMath::bf16}) {
      const double tol = math == ConvMath::bf16 ? 1e-2 : 4e-3;
      for (const auto& v : cuda::conv_variants(pass, d, math)) checks[variant_output(pass, math, v)] = Check::close(tol * std::sqrt(len), tol);
    }
  }
  auto rounded_inputs = [](const Tensors& in, ConvMath math) {
    Tensors r;
    for (const auto& [k, t] : in) r[k] = math == ConvMath::bf16 ? rounded_bf16(t.to(Device::cpu())) : t;
    return r;
  };
  return {.family = "conv", .name = text("kernels rounding ", c.name), .inputs = conv_inputs(c, true),
          .run = [c, rounded_inputs](Context& ctx, const Tensors& in) {
            const ConvDesc dd = ops::conv_desc(c.x, c.w, c.p);
            Tensors out;
            for (ConvMath math : {ConvMath::tf32, ConvMath::bf16}) {
              const Tensors r = rounded_inputs(in, math);
              for (ConvPass pass : {ConvPass::fprop, ConvPass::dgrad, ConvPass::wgrad})
                for (const auto& v : cuda::conv_variants(pass, dd, math)) out[variant_output(pass, math, v)] = run_variant(ctx, pass, dd, math, v, r);
            }
            return out;
          },
          .reference = [c, rounded_inputs](const Tensors& in) {
            const ConvDesc dd = ops::conv_desc(c.x, c.w, c.p);
            Tensors out;
            for (ConvMath math : {ConvMath::tf32, ConvMath::bf16}) {
              const Tensors want = direct_reference(c, rounded_inputs(in, math));
              for (ConvPass pass : {ConvPass::fprop, ConvPass::dgrad, ConvPass::wgrad})
                for (const auto& v : cuda::conv_variants(pass, dd, math)) out[variant_output(pass, math, v)] = want.at(pass_output(pass));
            }
            return out;
          },
          .checks = checks,
          .backends = {"cuda"}};
}

std::vector<OpCase> conv_kernel_cases() {
  std::vector<OpCase> rows;
  // Backbone convs run the variant each shape gets (the heuristic's first choice; every variant with
  // CMT_OPS_FULL=1); on a GPU every 3D conv but two of three only in the full sweep, on the emulated
  // device every 6th 2D and 12th 3D conv.
  for (bool three_d : {false, true}) {
    const std::size_t stride = emulated() ? (three_d ? 12 : 6) : (three_d ? 3 : 1);
    const auto cases = test::backbone_cases(three_d);
    for (std::size_t i = 0; i < cases.size(); ++i) rows.push_back(exact_kernel_row(cases[i], false, i % stride != 0));
  }
  const auto edges = edge_cases_here();
  for (const ConvCase& c : edges) rows.push_back(exact_kernel_row(c, true, false));
  const std::size_t every = emulated() ? 9 : 3;
  for (std::size_t i = 0; i < edges.size(); i += every) rows.push_back(rounding_kernel_row(edges[i]));
  rows.push_back(rounding_kernel_row(test::conv_case("resnet 3x3 256", {2, 1, 9, 9, 256}, {256, 1, 3, 3, 256}, {1, 1, 1}, {0, 1, 1})));
  rows.push_back(rounding_kernel_row(test::conv_case("3d 3x3x3 64 s2", {2, 9, 9, 9, 64}, {128, 3, 3, 3, 64}, {2, 2, 2}, {1, 1, 1})));
  return rows;
}

const Rows conv_kernel_rows(conv_kernel_cases);

#endif

const Rows conv_op_rows(conv_op_cases);

}  // namespace
}  // namespace cmt::opcase
