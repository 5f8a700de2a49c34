// Convolution on the CPU: both CPU paths (cmt's fast path, oneDNN) against the direct reference on
// every backbone conv (2D, 3D) and the edge cases, the op entry points, and bad descriptors.
#include <omp.h>

#include <vector>

#include "engine/ops/basic.h"
#include "engine/ops/conv.h"
#include "kernels/conv.h"
#include "support/testing.h"
#include "unit/test_conv_shapes.h"

using namespace cmt;

namespace {

struct Refs {
  Tensor y, dx, dw, db;
};

// The direct reference of all four passes on x, w, bias and an upstream gradient dy.
Refs direct(const ConvDesc& d, const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& dy) {
  Refs r;
  r.y = Tensor::empty(dy.shape(), DType::f32);
  r.dx = Tensor::empty(x.shape(), DType::f32);
  r.dw = Tensor::empty(w.shape(), DType::f32);
  cpu::conv_fprop_direct<float>(d, x.data<float>(), w.data<float>(), b.data<float>(), r.y.data<float>());
  cpu::conv_dgrad_direct<float>(d, dy.data<float>(), w.data<float>(), r.dx.data<float>());
  cpu::conv_wgrad_direct<float>(d, x.data<float>(), dy.data<float>(), r.dw.data<float>());
  return r;
}

// The CPU conv paths: cmt's own fast path and, when built with it, oneDNN.
std::vector<ops::CpuConvBackend> cpu_backends() {
#if defined(CMT_WITH_ONEDNN)
  return {ops::CpuConvBackend::native, ops::CpuConvBackend::onednn};
#else
  return {ops::CpuConvBackend::native};
#endif
}

// Selects one CPU conv path for a scope and restores the previous one.
struct CpuBackendScope {
  ops::CpuConvBackend saved = ops::cpu_conv_backend();
  explicit CpuBackendScope(ops::CpuConvBackend b) { ops::set_cpu_conv_backend(b); }
  ~CpuBackendScope() { ops::set_cpu_conv_backend(saved); }
};

// Small-integer inputs: every sum is an integer below 2^24, so each CPU path must match exactly.
void check_fast_path(const test::ConvCase& c, std::mt19937_64& gen) {
  INFO(c.name << " x " << c.x.str() << " w " << c.w.str());
  Context ctx(Device::cpu());
  const ConvDesc d = ops::conv_desc(c.x, c.w, c.p);
  Tensor x = test::random_small_ints(c.x, gen, 2);
  Tensor w = test::random_small_ints(c.w, gen, 2);
  Tensor b = test::random_small_ints(Shape{d.K}, gen, 3);
  Tensor dy = test::random_small_ints(ops::conv_output_shape(c.x, c.w, c.p), gen, 2);
  const Refs want = direct(d, x, w, b, dy);
  for (const auto backend : cpu_backends()) {
    INFO("CPU conv backend " << std::string(ops::cpu_conv_backend_name(backend)));
    CpuBackendScope scope(backend);
    CHECK_ALLCLOSE(ops::conv_forward(ctx, x, w, b, c.p), want.y, 0.0, 0.0);
    CHECK_ALLCLOSE(ops::conv_backward_data(ctx, dy, w, c.x, c.p), want.dx, 0.0, 0.0);
    CHECK_ALLCLOSE(ops::conv_backward_weight(ctx, x, dy, c.w, c.p), want.dw, 0.0, 0.0);
  }
}

}  // namespace

TEST_CASE("conv CPU paths equal the direct reference on every 2D backbone conv") {
  std::mt19937_64 gen(test::run_seed());
  const auto cases = test::backbone_cases(false);
  CHECK(cases.size() > 40);
  for (const auto& c : cases) check_fast_path(c, gen);
}

TEST_CASE("conv CPU paths equal the direct reference on every 3D backbone conv") {
  std::mt19937_64 gen(test::run_seed() + 1);
  for (const auto& c : test::backbone_cases(true)) check_fast_path(c, gen);
}

TEST_CASE("conv CPU paths equal the direct reference on the edge cases") {
  std::mt19937_64 gen(test::run_seed() + 2);
  for (const auto& c : test::edge_cases()) check_fast_path(c, gen);
}

TEST_CASE("conv CPU stem weight gradient (C = 1) equals the direct reference on 1, 2 and 3 threads") {
  std::mt19937_64 gen(test::run_seed() + 4);
  for (const auto& c : test::edge_cases()) {
    if (c.x[4] != 1 || c.w[4] != 1) continue;  // the one-channel stems
    INFO(c.name);
    const ConvDesc d = ops::conv_desc(c.x, c.w, c.p);
    Tensor x = test::random_small_ints(c.x, gen, 2);
    Tensor dy = test::random_small_ints(ops::conv_output_shape(c.x, c.w, c.p), gen, 2);
    Tensor want = Tensor::empty(c.w, DType::f32), got = Tensor::empty(c.w, DType::f32);
    cpu::conv_wgrad_direct<float>(d, x.data<float>(), dy.data<float>(), want.data<float>());
    // Small integers: every order of the sums gives the same bits. Three threads leave some without lines.
    for (int threads : {1, 2, 3}) {
      CAPTURE(threads);
      const int before = omp_get_max_threads();
      omp_set_num_threads(threads);
      cpu::conv_wgrad_stem(d, x.data<float>(), dy.data<float>(), got.data<float>());
      omp_set_num_threads(before);
      CHECK_ALLCLOSE(got, want, 0.0, 0.0);
    }
  }
}

TEST_CASE("conv CPU paths with Gaussian inputs and no bias stay within fp32 rounding") {
  std::mt19937_64 gen(test::run_seed() + 3);
  Context ctx(Device::cpu());
  for (const auto& c : test::edge_cases()) {
    INFO(c.name);
    const ConvDesc d = ops::conv_desc(c.x, c.w, c.p);
    Tensor x = test::random_normal(c.x, gen), w = test::random_normal(c.w, gen);
    Tensor dy = test::random_normal(ops::conv_output_shape(c.x, c.w, c.p), gen);
    Tensor y = Tensor::empty(dy.shape(), DType::f32);
    cpu::conv_fprop_direct<float>(d, x.data<float>(), w.data<float>(), nullptr, y.data<float>());
    const double tol = 1e-5 * static_cast<double>(d.gemm_k());
    for (const auto backend : cpu_backends()) {
      CpuBackendScope scope(backend);
      CHECK_ALLCLOSE(ops::conv_forward(ctx, x, w, Tensor(), c.p), y, tol, 1e-5);
    }
  }
}

TEST_CASE("conv bias gradient sums dy over N, D, H, W") {
  std::mt19937_64 gen(test::run_seed() + 4);
  Context ctx(Device::cpu());
  Tensor dy = test::random_small_ints(Shape{3, 4, 5, 6, 17}, gen, 5);
  std::vector<float> want(17, 0.f);
  const auto v = dy.to_vector<float>();
  for (std::size_t i = 0; i < v.size(); ++i) want[i % 17] += v[i];
  CHECK_ALLCLOSE(ops::conv_backward_bias(ctx, dy).to_vector<float>(), want, 0.0, 0.0);
}

TEST_CASE("conv output shape and descriptor") {
  ops::ConvParams p;
  p.stride = {1, 2, 2};
  p.padding = {0, 3, 3};
  CHECK(ops::conv_output_shape(Shape{4, 1, 513, 512, 1}, Shape{64, 1, 7, 7, 1}, p) == (Shape{4, 1, 257, 256, 64}));
  p.stride = {2, 2, 2};
  p.padding = {1, 1, 1};
  p.dilation = {2, 2, 2};
  CHECK(ops::conv_output_shape(Shape{1, 9, 10, 11, 8}, Shape{8, 3, 3, 3, 8}, p) == (Shape{1, 4, 4, 5, 8}));
  const ConvDesc d = ops::conv_desc(Shape{2, 8, 8, 8, 4}, Shape{6, 3, 3, 3, 4}, ops::ConvParams{});
  CHECK(d.flops() == doctest::Approx(2.0 * 2 * 6 * 6 * 6 * 6 * 27 * 4));
}

TEST_CASE("conv bad descriptors throw clear errors") {
  Context ctx(Device::cpu());
  const Shape x{2, 4, 6, 6, 8}, w{16, 3, 3, 3, 8};
  ops::ConvParams p;
  p.padding = {1, -1, 1};
  CHECK_THROWS_WITH_AS(ops::conv_output_shape(x, w, p), doctest::Contains("padding[H] must be >= 0"), cmt::Error);
  p = {};
  p.stride = {1, 0, 1};
  CHECK_THROWS_WITH_AS(ops::conv_output_shape(x, w, p), doctest::Contains("stride[H] must be >= 1"), cmt::Error);
  p = {};
  p.dilation = {0, 1, 1};
  CHECK_THROWS_WITH_AS(ops::conv_output_shape(x, w, p), doctest::Contains("dilation[D] must be >= 1"), cmt::Error);
  p = {};
  p.groups = 3;
  CHECK_THROWS_WITH_AS(ops::conv_output_shape(x, Shape{15, 3, 3, 3, 2}, p), doctest::Contains("not divisible by groups=3"), cmt::Error);
  p.groups = 2;
  CHECK_THROWS_WITH_AS(ops::conv_output_shape(x, Shape{15, 3, 3, 3, 4}, p), doctest::Contains("K=15"), cmt::Error);
  CHECK_THROWS_WITH_AS(ops::conv_output_shape(x, Shape{16, 3, 3, 3, 8}, p), doctest::Contains("needs C/groups=4"), cmt::Error);
  p = {};
  CHECK_THROWS_WITH_AS(ops::conv_output_shape(x, Shape{16, 5, 3, 3, 8}, p), doctest::Contains("does not fit"), cmt::Error);
  CHECK_THROWS_WITH_AS(ops::conv_output_shape(Shape{2, 6, 6, 8}, w, p), doctest::Contains("rank 5"), cmt::Error);
  CHECK_THROWS_WITH_AS(ops::conv_output_shape(Shape{0, 4, 6, 6, 8}, w, p), doctest::Contains("bad dimension"), cmt::Error);
  Tensor tx = Tensor::empty(x, DType::f32), tw = Tensor::empty(w, DType::f32);
  CHECK_THROWS_WITH_AS(ops::conv_forward(ctx, tx, tw, Tensor::empty(Shape{15}, DType::f32), p),
                       doctest::Contains("bias must be [16]"), cmt::Error);
  CHECK_THROWS_WITH_AS(ops::conv_forward(ctx, tx, Tensor::empty(w, DType::i32), Tensor(), p), doctest::Contains("'w' must be f32"),
                       cmt::Error);
  CHECK_THROWS_WITH_AS(ops::conv_forward(ctx, Tensor(), tw, Tensor(), p), doctest::Contains("undefined"), cmt::Error);
  Tensor bad_dy = Tensor::empty(Shape{2, 2, 4, 5, 16}, DType::f32);
  CHECK_THROWS_WITH_AS(ops::conv_backward_data(ctx, bad_dy, tw, x, p), doctest::Contains("does not match the conv output"),
                       cmt::Error);
  CHECK_THROWS_WITH_AS(ops::conv_backward_weight(ctx, tx, bad_dy, w, p), doctest::Contains("does not match the conv output"),
                       cmt::Error);
  CHECK_THROWS_WITH_AS(ops::parse_conv_backend("fast"), doctest::Contains("unknown conv backend"), cmt::Error);
}

TEST_CASE("conv bf16 tensors on the CPU: f32 math, one rounding of the result") {
  std::mt19937_64 gen(test::run_seed() + 5);
  Context ctx(Device::cpu());
  for (const auto& c : {test::edge_cases()[0], test::edge_cases()[11], test::edge_cases()[4]}) {
    INFO(c.name);
    const ConvDesc d = ops::conv_desc(c.x, c.w, c.p);
    // Small integers are exact in bf16 and every f32 sum is exact: only the final rounding differs.
    Tensor x = test::random_small_ints(c.x, gen, 2), w = test::random_small_ints(c.w, gen, 2);
    Tensor b = test::random_small_ints(Shape{d.K}, gen, 3), dy = test::random_small_ints(Shape{d.N, d.Z, d.P, d.Q, d.K}, gen, 2);
    auto bf = [&](const Tensor& t) { return ops::cast(ctx, t, DType::bf16); };
    auto rounded = [&](const Tensor& t) { return ops::cast(ctx, bf(t), DType::f32); };
    Tensor y = ops::conv_forward(ctx, bf(x), bf(w), bf(b), c.p);
    CHECK(y.dtype() == DType::bf16);
    CHECK_ALLCLOSE(y, rounded(ops::conv_forward(ctx, x, w, b, c.p)), 0.0, 0.0);
    CHECK_ALLCLOSE(ops::conv_backward_data(ctx, bf(dy), bf(w), c.x, c.p), rounded(ops::conv_backward_data(ctx, dy, w, c.x, c.p)), 0.0, 0.0);
    CHECK_ALLCLOSE(ops::conv_backward_weight(ctx, bf(x), bf(dy), c.w, c.p), rounded(ops::conv_backward_weight(ctx, x, dy, c.w, c.p)), 0.0, 0.0);
    CHECK_ALLCLOSE(ops::conv_backward_bias(ctx, bf(dy)), rounded(ops::conv_backward_bias(ctx, dy)), 0.0, 0.0);
  }
}

#if defined(CMT_WITH_CUDA)
TEST_CASE("conv plan: a recorded report loads back and prints the same choices") {
  const std::string report = "fprop tf32 x[1,1,8,8,16] w[16,1,3,3,16] y[1,1,8,8,16] stride(1,1,1) pad(0,1,1) dil(1,1,1) groups 1 -> tc64x64 (autotuned: x)\n"
                             "wgrad bf16 x[2,4,4,4,8] w[8,3,3,3,8] y[2,4,4,4,8] stride(1,1,1) pad(1,1,1) dil(1,1,1) groups 1 -> tc128x128/split7 (heuristic)\n";
  ops::conv_load_plan(report);
  const std::string got = ops::conv_plan_report();
  CHECK(got.find("groups 1 -> tc64x64 (loaded)") != std::string::npos);
  CHECK(got.find("-> tc128x128/split7 (loaded)") != std::string::npos);
  CHECK_THROWS_WITH_AS(ops::conv_load_plan("fprop fp32 x -> warp9000\n"), doctest::Contains("unknown conv variant"), cmt::Error);
}
#endif

#if defined(CMT_WITH_ONEDNN)
TEST_CASE("conv automatic CPU choice: oneDNN for batches and large images, cmt's own loops where they win") {
  CpuBackendScope scope(ops::CpuConvBackend::automatic);
  const auto desc = [](Shape x, Shape w, int stride, int pad, int groups) {
    ops::ConvParams p;
    const bool three_d = x[1] > 1;
    p.stride = {three_d ? stride : 1, stride, stride};
    p.padding = {three_d ? pad : 0, pad, pad};
    p.groups = groups;
    return ops::conv_desc(x, w, p);
  };
  using P = ConvPass;
  // A 3x3 conv on 4x4 maps: one image has too few positions to amortise oneDNN's weight reorder, a batch has not.
  CHECK_FALSE(ops::cpu_conv_uses_onednn(P::fprop, desc({1, 1, 4, 4, 128}, {128, 1, 3, 3, 128}, 1, 1, 1)));
  CHECK(ops::cpu_conv_uses_onednn(P::fprop, desc({2, 1, 4, 4, 128}, {128, 1, 3, 3, 128}, 1, 1, 1)));
  CHECK(ops::cpu_conv_uses_onednn(P::dgrad, desc({1, 1, 64, 64, 16}, {32, 1, 3, 3, 16}, 1, 1, 1)));
  // Depthwise: oneDNN in 2D, cmt's own loops in 3D.
  CHECK(ops::cpu_conv_uses_onednn(P::fprop, desc({8, 1, 16, 16, 48}, {48, 1, 3, 3, 1}, 1, 1, 48)));
  CHECK_FALSE(ops::cpu_conv_uses_onednn(P::fprop, desc({8, 8, 8, 8, 48}, {48, 3, 3, 3, 1}, 1, 1, 48)));
  // 1x1 convs: cmt's one sgemm on a few positions (3D below 8^3, also strided; the 1^3 maps look 2D), oneDNN above.
  CHECK(ops::cpu_conv_uses_onednn(P::wgrad, desc({8, 8, 8, 8, 48}, {96, 1, 1, 1, 48}, 1, 0, 1)));
  CHECK_FALSE(ops::cpu_conv_uses_onednn(P::wgrad, desc({8, 4, 4, 4, 48}, {96, 1, 1, 1, 48}, 1, 0, 1)));
  CHECK_FALSE(ops::cpu_conv_uses_onednn(P::fprop, desc({8, 8, 8, 8, 48}, {96, 1, 1, 1, 48}, 2, 0, 1)));
  CHECK_FALSE(ops::cpu_conv_uses_onednn(P::dgrad, desc({8, 1, 1, 1, 512}, {128, 1, 1, 1, 512}, 1, 0, 1)));
  CHECK(ops::cpu_conv_uses_onednn(P::dgrad, desc({8, 1, 4, 4, 512}, {128, 1, 1, 1, 512}, 1, 0, 1)));
  // The one-channel stem's weight gradient is always cmt's own.
  CHECK_FALSE(ops::cpu_conv_uses_onednn(P::wgrad, desc({8, 32, 32, 32, 1}, {16, 7, 7, 7, 1}, 2, 3, 1)));
  CHECK(ops::cpu_conv_uses_onednn(P::fprop, desc({8, 32, 32, 32, 1}, {16, 7, 7, 7, 1}, 2, 3, 1)));
}
#endif
