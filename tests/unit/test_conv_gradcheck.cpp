// Convolution gradients against central finite differences, in double precision on tiny shapes.
#include <cmath>
#include <functional>
#include <vector>

#include "engine/ops/conv.h"
#include "kernels/conv.h"
#include "support/testing.h"
#include "unit/test_conv_shapes.h"

using namespace cmt;

namespace {

std::vector<double> gaussian(std::int64_t n, std::mt19937_64& gen) {
  std::normal_distribution<double> dist(0.0, 1.0);
  std::vector<double> v(static_cast<std::size_t>(n));
  for (auto& e : v) e = dist(gen);
  return v;
}

// L(x, w, b) = sum(conv(x, w, b) * g): dL/dx = dgrad(g), dL/dw = wgrad(x, g), dL/db = sum g.
double loss(const ConvDesc& d, const std::vector<double>& x, const std::vector<double>& w, const std::vector<double>& b,
            const std::vector<double>& g) {
  std::vector<double> y(g.size());
  cpu::conv_fprop_direct<double>(d, x.data(), w.data(), b.data(), y.data());
  double s = 0;
  for (std::size_t i = 0; i < y.size(); ++i) s += y[i] * g[i];
  return s;
}

// Central differences for every element of `param` (x, w or b), compared with `analytic`.
void check_param(const ConvDesc& d, std::vector<double>& param, const std::vector<double>& analytic,
                 const std::function<double()>& eval, const char* what) {
  const double h = 1e-3;
  std::int64_t bad = 0;
  double worst = 0;
  for (std::size_t i = 0; i < param.size(); ++i) {
    const double keep = param[i];
    param[i] = keep + h;
    const double up = eval();
    param[i] = keep - h;
    const double down = eval();
    param[i] = keep;
    const double fd = (up - down) / (2 * h);
    const double err = std::fabs(fd - analytic[i]);
    worst = std::max(worst, err);
    if (err > 1e-6 * (1 + std::fabs(analytic[i]))) ++bad;
  }
  INFO(what << " of " << d.str() << ": worst |fd - analytic| " << worst << ", seed " << test::run_seed());
  CHECK(bad == 0);
}

}  // namespace

TEST_CASE("conv dgrad, wgrad and bias gradient match finite differences in double") {
  std::mt19937_64 gen(test::run_seed() + 10);
  const std::vector<test::ConvCase> cases = {
      test::conv_case("3d stride 2 pad 1", {2, 4, 5, 3, 3}, {4, 3, 2, 3, 3}, {2, 2, 1}, {1, 0, 1}),
      test::conv_case("2d dilation 2", {1, 1, 7, 6, 2}, {3, 1, 3, 2, 2}, {1, 1, 2}, {0, 2, 1}, {1, 2, 2}),
      test::conv_case("groups 2 stride 2", {2, 3, 5, 4, 4}, {6, 2, 3, 1, 2}, {1, 2, 1}, {0, 1, 0}, {1, 1, 1}, 2),
      test::conv_case("depthwise x2", {1, 3, 4, 5, 3}, {6, 3, 3, 3, 1}, {2, 1, 2}, {1, 1, 1}, {1, 1, 1}, 3),
      test::conv_case("C1 stem", {2, 5, 5, 5, 1}, {3, 3, 3, 3, 1}, {2, 2, 2}, {1, 1, 1}),
  };
  for (const auto& c : cases) {
    INFO(c.name);
    const ConvDesc d = ops::conv_desc(c.x, c.w, c.p);
    auto x = gaussian(d.x_elems(), gen), w = gaussian(d.w_elems(), gen), b = gaussian(d.K, gen);
    const auto g = gaussian(d.y_elems(), gen);
    std::vector<double> dx(x.size()), dw(w.size()), db(b.size(), 0.0);
    cpu::conv_dgrad_direct<double>(d, g.data(), w.data(), dx.data());
    cpu::conv_wgrad_direct<double>(d, x.data(), g.data(), dw.data());
    for (std::size_t i = 0; i < g.size(); ++i) db[i % b.size()] += g[i];
    auto eval = [&] { return loss(d, x, w, b, g); };
    check_param(d, x, dx, eval, "dx");
    check_param(d, w, dw, eval, "dw");
    check_param(d, b, db, eval, "db");
  }
}

TEST_CASE("conv fast-path gradients match the double-precision reference on a tiny shape") {
  std::mt19937_64 gen(test::run_seed() + 11);
  Context ctx(Device::cpu());
  const auto c = test::conv_case("tiny", {2, 3, 6, 5, 4}, {6, 3, 3, 2, 2}, {1, 2, 1}, {1, 1, 0}, {1, 1, 2}, 2);
  const ConvDesc d = ops::conv_desc(c.x, c.w, c.p);
  Tensor x = test::random_normal(c.x, gen), w = test::random_normal(c.w, gen);
  Tensor dy = test::random_normal(ops::conv_output_shape(c.x, c.w, c.p), gen);
  const auto xv = x.to_vector<float>(), wv = w.to_vector<float>(), gv = dy.to_vector<float>();
  const std::vector<double> xd(xv.begin(), xv.end()), wd(wv.begin(), wv.end()), gd(gv.begin(), gv.end());
  std::vector<double> dx(xd.size()), dw(wd.size());
  cpu::conv_dgrad_direct<double>(d, gd.data(), wd.data(), dx.data());
  cpu::conv_wgrad_direct<double>(d, xd.data(), gd.data(), dw.data());
  CHECK_ALLCLOSE(ops::conv_backward_data(ctx, dy, w, c.x, c.p).to_vector<float>(), std::vector<float>(dx.begin(), dx.end()), 1e-5, 1e-5);
  CHECK_ALLCLOSE(ops::conv_backward_weight(ctx, x, dy, c.w, c.p).to_vector<float>(), std::vector<float>(dw.begin(), dw.end()), 1e-5, 1e-5);
}
