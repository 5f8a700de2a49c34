// The CUDA implicit-GEMM gathers (kernels/cuda/conv_problems.h) run on the host: the GEMM they
// describe must equal the direct reference, and the 16-byte chunks the tensor-core loader copies
// must be contiguous and aligned wherever a tensor-core variant is offered. Needs no GPU.
#include <vector>

#include "engine/ops/conv.h"
#include "kernels/conv.h"
#include "kernels/cuda/conv_problems.h"
#include "support/testing.h"
#include "unit/test_conv_shapes.h"

using namespace cmt;
using cuda::igemm::DgradProblem;
using cuda::igemm::FpropProblem;
using cuda::igemm::WgradProblem;

namespace {

// C[m, n] = sum over k of A[m, k] B[n, k] per group and split, exactly as the kernels read it.
template <class P>
void emulate(const P& prob, int groups, int splits, std::int64_t k_per_split) {
  for (int split = 0; split < splits; ++split)
    for (int g = 0; g < groups; ++g)
      for (std::int64_t m = 0; m < prob.M(); ++m)
        for (int n = 0; n < prob.N(); ++n) {
          float acc = 0.f;
          const std::int64_t k1 = std::min(prob.Kd(), (split + 1) * k_per_split);
          for (std::int64_t k = split * k_per_split; k < k1; ++k) {
            const std::int64_t ao = prob.a_off(g, m, k), bo = prob.b_off(g, n, k);
            if (ao >= 0 && bo >= 0) acc += prob.a[ao] * prob.b[bo];
          }
          prob.store(g, split, m, n, acc);
        }
}

// Every 16-byte chunk along the operand's contiguous dimension is all-valid and contiguous (and
// aligned) or all-padding: the assumption behind cp.async with zero fill.
template <class Off>
bool chunks_ok(Off&& off, std::int64_t rows, std::int64_t kd, bool k_contiguous, int vec) {
  for (std::int64_t r = 0; r < rows; r += k_contiguous ? 1 : vec)
    for (std::int64_t k = 0; k < kd; k += k_contiguous ? vec : 1) {
      const std::int64_t o = off(r, k);
      if (o >= 0 && o % vec != 0) return false;
      for (int i = 1; i < vec; ++i) {
        const std::int64_t oi = k_contiguous ? off(r, k + i) : off(r + i, k);
        if (oi != (o < 0 ? -1 : o + i)) return false;
      }
    }
  return true;
}

template <class P>
void check_chunks(const P& prob, int groups, int vec, const char* what) {
  INFO(what << " vec " << vec);
  for (int g = 0; g < groups; ++g) {
    CHECK(chunks_ok([&](std::int64_t m, std::int64_t k) { return prob.a_off(g, m, k); }, prob.M(), prob.Kd(), P::kAK, vec));
    CHECK(chunks_ok([&](std::int64_t n, std::int64_t k) { return prob.b_off(g, n, k); }, prob.N(), prob.Kd(), P::kBK, vec));
  }
}

void check_case(const test::ConvCase& c, std::mt19937_64& gen) {
  INFO(c.name);
  const ConvDesc d = ops::conv_desc(c.x, c.w, c.p);
  Tensor x = test::random_small_ints(c.x, gen, 2), w = test::random_small_ints(c.w, gen, 2);
  Tensor b = test::random_small_ints(Shape{d.K}, gen, 3), dy = test::random_small_ints(Shape{d.N, d.Z, d.P, d.Q, d.K}, gen, 2);
  std::vector<float> y(d.y_elems()), dx(d.x_elems()), dw(d.w_elems());
  cpu::conv_fprop_direct<float>(d, x.data<float>(), w.data<float>(), b.data<float>(), y.data());
  cpu::conv_dgrad_direct<float>(d, dy.data<float>(), w.data<float>(), dx.data());
  cpu::conv_wgrad_direct<float>(d, x.data<float>(), dy.data<float>(), dw.data());

  std::vector<float> got(y.size());
  FpropProblem<float> fp{d, x.data<float>(), w.data<float>(), b.data<float>(), got.data()};
  emulate(fp, d.groups, 1, fp.Kd());
  CHECK_ALLCLOSE(got, y, 0.0, 0.0);

  // dgrad reads the weights transposed per group to (Cg, T*R*S*Kg), as the CUDA transpose writes them.
  std::vector<float> wt(w.numel());
  const float* wp = w.data<float>();
  for (int k = 0; k < d.K; ++k)
    for (int tap = 0; tap < d.trs(); ++tap)
      for (int cg = 0; cg < d.Cg(); ++cg)
        wt[(std::int64_t{k / d.Kg()} * d.Cg() + cg) * d.trs() * d.Kg() + std::int64_t{tap} * d.Kg() + k % d.Kg()] =
            wp[(std::int64_t{k} * d.trs() + tap) * d.Cg() + cg];
  got.assign(dx.size(), -1.f);
  DgradProblem<float> dp{d, dy.data<float>(), wt.data(), got.data()};
  emulate(dp, d.groups, 1, dp.Kd());
  CHECK_ALLCLOSE(got, dx, 0.0, 0.0);

  // wgrad with three splits of the reduction, then the fixed-order sum over splits.
  const int splits = 3;
  const std::int64_t kper = ((d.y_positions() + splits - 1) / splits + 63) / 64 * 64;
  std::vector<float> partial(static_cast<std::size_t>(splits) * dw.size(), 0.f);
  WgradProblem<float> wp3{d, dy.data<float>(), x.data<float>(), partial.data()};
  emulate(wp3, d.groups, splits, kper);
  got.assign(dw.size(), 0.f);
  for (int s = 0; s < splits; ++s)
    for (std::size_t i = 0; i < dw.size(); ++i) got[i] += partial[s * dw.size() + i];
  CHECK_ALLCLOSE(got, dw, 0.0, 0.0);

  for (int vec : {4, 8}) {  // f32 and bf16 elements per 16 bytes
    if (d.Cg() % vec == 0) check_chunks(fp, d.groups, vec, "fprop");
    if (d.Kg() % vec == 0) check_chunks(dp, d.groups, vec, "dgrad");
    if (d.Cg() % vec == 0 && d.Kg() % vec == 0) check_chunks(wp3, d.groups, vec, "wgrad");
  }
#if defined(CMT_WITH_CUDA)
  // Tensor-core variants are offered only where the chunk conditions above hold.
  for (ConvMath math : {ConvMath::tf32, ConvMath::bf16}) {
    const int vec = math == ConvMath::bf16 ? 8 : 4;
    const bool ok[3] = {d.Cg() % vec == 0, d.Kg() % vec == 0, d.Cg() % vec == 0 && d.Kg() % vec == 0};
    for (ConvPass pass : {ConvPass::fprop, ConvPass::dgrad, ConvPass::wgrad})
      for (const auto& v : cuda::conv_variants(pass, d, math))
        if (v.kind == cuda::ConvVariant::Kind::tc64 || v.kind == cuda::ConvVariant::Kind::tc128)
          CHECK(ok[static_cast<int>(pass)]);
  }
#endif
}

}  // namespace

TEST_CASE("conv implicit-GEMM gathers reproduce the direct reference and tensor-core chunks are contiguous") {
  std::mt19937_64 gen(test::run_seed() + 20);
  for (const auto& c : test::edge_cases()) check_case(c, gen);
  // A slice of the backbone convs (2D, cheap ones) on top of the edge cases.
  for (const auto& c : test::backbone_cases(false))
    if (c.x[4] * c.w[0] <= 64 * 256) check_case(c, gen);
}
