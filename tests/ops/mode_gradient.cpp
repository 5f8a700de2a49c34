// Finite-difference mode: each declared gradient against central differences of the case's own
// forward outputs on the CPU, at a few sampled elements (sums in double; f32 inputs, step 1e-2).
#include <cmath>
#include <cstdio>

#include "ops/compare.h"
#include "ops/modes.h"

namespace cmt::opcase {

bool has_gradients(const OpCase& c) {
  if (c.gradients.empty()) return false;
  for (const Gradient& g : c.gradients)
    if (!c.inputs || g.input.empty()) return false;
  return true;
}

namespace {

double objective(const OpCase& c, const Gradient& g, const Tensors& in) {
  Context cpu(Device::cpu());
  const Tensors out = c.run(cpu, copy_to(in, Device::cpu()));
  const std::vector<float> y = out.at(g.output).to_float_vector();
  std::vector<float> w(y.size(), 1.f);
  if (!g.weight.empty()) w = in.at(g.weight).to_float_vector();
  double s = 0;
  for (std::size_t i = 0; i < y.size(); ++i) s += static_cast<double>(y[i]) * w[i];
  return g.scale * s;
}

}  // namespace

int run_finite_differences(const OpCase& c) {
  std::mt19937_64 gen(case_seed("fd." + c.id()));
  const Tensors in = c.inputs(gen);
  Context cpu(Device::cpu());
  const Tensors out = c.run(cpu, copy_to(in, Device::cpu()));
  bool ok = true;
  for (const Gradient& g : c.gradients) {
    const Tensor& x = in.at(g.input);
    if (x.dtype() != DType::f32) {
      std::printf("FAIL %s: finite differences need f32 input '%s'\n", c.id().c_str(), g.input.c_str());
      return 1;
    }
    const std::vector<float> analytic = out.at(g.grad).to_float_vector();
    const std::int64_t n = x.numel(), samples = std::min<std::int64_t>(n, 12);
    int bad = 0;
    double worst = 0;
    for (std::int64_t k = 0; k < samples; ++k) {
      const std::int64_t i = samples == n ? k : static_cast<std::int64_t>(gen() % static_cast<std::uint64_t>(n));
      const float step = 1e-2f * std::max(1.f, std::fabs(x.data<float>()[i]));
      Tensors plus = copy_to(in, Device::cpu()), minus = copy_to(in, Device::cpu());
      plus[g.input].data<float>()[i] += step;
      minus[g.input].data<float>()[i] -= step;
      const double numeric = (objective(c, g, plus) - objective(c, g, minus)) / (2.0 * step);
      const double a = analytic[static_cast<std::size_t>(i)], err = std::fabs(numeric - a);
      worst = std::max(worst, err / (1.0 + std::fabs(a)));
      if (err > 1e-2 + 2e-2 * std::fabs(a)) {
        if (bad++ == 0) std::printf("  %s[%lld]: analytic %.6g, numeric %.6g\n", g.grad.c_str(), static_cast<long long>(i), a, numeric);
      }
    }
    std::printf("%s d%s/d%s: %lld samples, %d off (tolerance 1e-2 + 2e-2 |g|), worst %.3g\n", bad ? "FAIL" : "ok  ",
                g.output.c_str(), g.input.c_str(), static_cast<long long>(samples), bad, worst);
    ok = ok && bad == 0;
  }
  return ok ? 0 : 1;
}

}  // namespace cmt::opcase
