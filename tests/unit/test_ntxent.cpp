// The NT-Xent op family on the CPU backend: an independent materialised double-precision loss,
// finite differences, edge cases, simulated multi-rank equivalence and argument validation.
#include <cmath>
#include <vector>

#include "engine/ops/basic.h"
#include "engine/ops/ntxent.h"
#include "kernels/ntxent.h"
#include "support/testing.h"

using namespace cmt;

namespace {

// The loss of docs/ntxent.md written as plainly as possible: full similarity matrix, masked softmax.
struct NaiveLoss {
  double loss = 0;
  std::vector<double> row_loss, pos_sim;
};

NaiveLoss naive_ntxent(const std::vector<double>& r, std::int64_t rows, std::int64_t dim, double tau) {
  std::vector<double> u(r.size());
  for (std::int64_t i = 0; i < rows; ++i) {
    double ss = 0;
    for (std::int64_t c = 0; c < dim; ++c) ss += r[i * dim + c] * r[i * dim + c];
    const double n = std::max(std::sqrt(ss), 1e-8);
    for (std::int64_t c = 0; c < dim; ++c) u[i * dim + c] = r[i * dim + c] / n;
  }
  std::vector<double> sim(rows * rows);
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::int64_t j = 0; j < rows; ++j) {
      double s = 0;
      for (std::int64_t c = 0; c < dim; ++c) s += u[i * dim + c] * u[j * dim + c];
      sim[i * rows + j] = s;
    }
  NaiveLoss out;
  for (std::int64_t i = 0; i < rows; ++i) {
    const std::int64_t p = i % 2 == 0 ? i + 1 : i - 1;
    double denom = 0;
    for (std::int64_t k = 0; k < rows; ++k)
      if (k != i) denom += std::exp(sim[i * rows + k] / tau);
    const double li = -std::log(std::exp(sim[i * rows + p] / tau) / denom);
    out.row_loss.push_back(li);
    out.pos_sim.push_back(sim[i * rows + p]);
    out.loss += li / static_cast<double>(rows);
  }
  return out;
}

std::vector<double> to_double(const Tensor& t) {
  const auto v = t.to_vector<float>();
  return {v.begin(), v.end()};
}

std::vector<float> to_float(const std::vector<double>& v) { return {v.begin(), v.end()}; }

}  // namespace

TEST_CASE("ntxent_forward matches a materialised double-precision loss") {
  Context ctx(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 50);
  struct Case { std::int64_t rows, dim; float tau; };
  for (const Case c : {Case{2, 3, 0.1f}, Case{4, 1, 0.1f}, Case{8, 7, 0.05f}, Case{16, 33, 0.1f}, Case{34, 128, 0.5f}}) {
    CAPTURE(c.rows);
    CAPTURE(c.dim);
    Tensor r = test::random_normal(Shape{c.rows, c.dim}, gen);
    const NaiveLoss want = naive_ntxent(to_double(r), c.rows, c.dim, c.tau);
    ops::NtXentResult got = ops::ntxent_forward(ctx, r, c.tau);
    CHECK(got.loss.shape() == Shape{1});
    CHECK_ALLCLOSE(got.row_loss.to_vector<float>(), to_float(want.row_loss), 1e-5, 1e-5);
    CHECK_ALLCLOSE(got.pos_sim.to_vector<float>(), to_float(want.pos_sim), 1e-6, 1e-6);
    CHECK(ops::item(got.loss) == doctest::Approx(want.loss).epsilon(1e-6));
  }
}

TEST_CASE("ntxent_backward matches central finite differences of the double loss") {
  Context ctx(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 51);
  struct Case { std::int64_t rows, dim; float tau; float dloss; };
  for (const Case c : {Case{2, 3, 0.1f, 1.f}, Case{6, 5, 0.2f, 1.f}, Case{8, 4, 0.05f, 0.7f}}) {
    Tensor r = test::random_normal(Shape{c.rows, c.dim}, gen);
    std::vector<double> x = to_double(r);
    std::vector<float> fd(x.size());
    const double h = 1e-6;
    for (std::size_t e = 0; e < x.size(); ++e) {
      const double keep = x[e];
      x[e] = keep + h;
      const double up = naive_ntxent(x, c.rows, c.dim, c.tau).loss;
      x[e] = keep - h;
      const double down = naive_ntxent(x, c.rows, c.dim, c.tau).loss;
      x[e] = keep;
      fd[e] = static_cast<float>(c.dloss * (up - down) / (2 * h));
    }
    Tensor dr = ops::ntxent_backward(ctx, r, c.tau, c.dloss);
    CHECK(dr.shape() == r.shape());
    CHECK_ALLCLOSE(dr.to_vector<float>(), fd, 2e-6, 1e-4);
  }
}

TEST_CASE("ntxent edge cases: two rows, identical rows, a zero row") {
  Context ctx(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 52);
  // Two rows: the only negative is the partner, so every l_i is exactly 0 and so is the gradient.
  Tensor two = test::random_normal(Shape{2, 9}, gen);
  ops::NtXentResult r2 = ops::ntxent_forward(ctx, two, 0.1f);
  CHECK_ALLCLOSE(r2.row_loss.to_vector<float>(), std::vector<float>(2, 0.f), 1e-6, 0.0);
  CHECK_ALLCLOSE(ops::ntxent_backward(ctx, two, 0.1f, 1.f).to_vector<float>(), std::vector<float>(18, 0.f), 1e-6, 0.0);

  // Identical rows: every similarity is 1, l_i = log(2N - 1), the gradient vanishes.
  Tensor one = test::random_normal(Shape{1, 12}, gen);
  std::vector<float> same;
  for (int i = 0; i < 8; ++i) for (float v : one.to_vector<float>()) same.push_back(v);
  Tensor ident = Tensor::from_vector(same, Shape{8, 12});
  ops::NtXentResult ri = ops::ntxent_forward(ctx, ident, 0.05f);
  CHECK_ALLCLOSE(ri.row_loss.to_vector<float>(), std::vector<float>(8, static_cast<float>(std::log(7.0))), 1e-5, 1e-5);
  CHECK_ALLCLOSE(ri.pos_sim.to_vector<float>(), std::vector<float>(8, 1.f), 1e-6, 0.0);
  CHECK_ALLCLOSE(ops::ntxent_backward(ctx, ident, 0.05f, 1.f).to_vector<float>(), std::vector<float>(96, 0.f), 1e-5, 0.0);

  // A zero row: normalised to zero (eps guard), similarity 0 with everything, finite loss and gradient.
  Tensor r = test::random_normal(Shape{6, 5}, gen);
  std::fill(r.data<float>() + 3 * 5, r.data<float>() + 4 * 5, 0.f);
  const NaiveLoss want = naive_ntxent(to_double(r), 6, 5, 0.1);
  ops::NtXentResult rz = ops::ntxent_forward(ctx, r, 0.1f);
  CHECK_ALLCLOSE(rz.row_loss.to_vector<float>(), to_float(want.row_loss), 1e-5, 1e-5);
  CHECK(rz.pos_sim.to_vector<float>()[3] == 0.f);
  for (float v : ops::ntxent_backward(ctx, r, 0.1f, 1.f).to_vector<float>()) CHECK(std::isfinite(v));
}

TEST_CASE("ntxent multi-rank form: R simulated ranks give the single-rank loss and gradient") {
  Context ctx(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 53);
  const std::int64_t rows = 24, dim = 19;
  const float tau = 0.1f, dloss = 1.3f;
  Tensor all = test::random_normal(Shape{rows, dim}, gen);
  const ops::NtXentResult single = ops::ntxent_forward(ctx, all, tau);
  const std::vector<float> want_grad = ops::ntxent_backward(ctx, all, tau, dloss).to_vector<float>();
  // Equal splits, and an uneven one that separates partners across ranks.
  for (const std::vector<std::int64_t>& split : {std::vector<std::int64_t>{24}, {12, 12}, {6, 6, 6, 6}, {5, 8, 1, 10}}) {
    CAPTURE(split.size());
    double loss = 0;
    std::vector<float> row_loss, pos_sim, grad(static_cast<std::size_t>(rows * dim), 0.f);
    std::int64_t offset = 0;
    for (std::int64_t n : split) {
      Tensor local = Tensor::empty(Shape{n, dim}, DType::f32);
      std::copy(all.data<float>() + offset * dim, all.data<float>() + (offset + n) * dim, local.data<float>());
      const ops::NtXentResult part = ops::ntxent_forward_partial(ctx, local, all, offset, tau);
      CHECK(part.row_loss.shape() == Shape{n});
      loss += ops::item(part.loss);
      for (float v : part.row_loss.to_vector<float>()) row_loss.push_back(v);
      for (float v : part.pos_sim.to_vector<float>()) pos_sim.push_back(v);
      const ops::NtXentPartialGrads g = ops::ntxent_backward_partial(ctx, local, all, offset, tau, dloss);
      const auto dl = g.d_local.to_vector<float>();
      const auto da = g.d_all.to_vector<float>();
      // The one-pass form (the trainer's on several ranks) gives the same rows, loss and gradients.
      const ops::NtXentPartialStep both = ops::ntxent_forward_backward_partial(ctx, local, all, offset, tau, dloss);
      CHECK_ALLCLOSE(both.result.row_loss.to_vector<float>(), part.row_loss.to_vector<float>(), 0.0, 0.0);
      CHECK_ALLCLOSE(both.result.pos_sim.to_vector<float>(), part.pos_sim.to_vector<float>(), 0.0, 0.0);
      CHECK(ops::item(both.result.loss) == doctest::Approx(ops::item(part.loss)).epsilon(1e-7));
      CHECK_ALLCLOSE(both.grads.d_local.to_vector<float>(), dl, 0.0, 0.0);
      CHECK_ALLCLOSE(both.grads.d_all.to_vector<float>(), da, 0.0, 0.0);
      for (std::size_t e = 0; e < dl.size(); ++e) grad[static_cast<std::size_t>(offset * dim) + e] += dl[e];
      for (std::size_t e = 0; e < da.size(); ++e) grad[e] += da[e];  // the all-reduce of the caller
      offset += n;
    }
    CHECK(loss == doctest::Approx(ops::item(single.loss)).epsilon(1e-6));
    CHECK_ALLCLOSE(row_loss, single.row_loss.to_vector<float>(), 0.0, 0.0);
    CHECK_ALLCLOSE(pos_sim, single.pos_sim.to_vector<float>(), 0.0, 0.0);
    CHECK_ALLCLOSE(grad, want_grad, 1e-6, 1e-5);
  }
}

TEST_CASE("ntxent validates its arguments with clear errors") {
  Context ctx(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 54);
  Tensor odd = test::random_normal(Shape{5, 4}, gen);
  Tensor r = test::random_normal(Shape{6, 4}, gen);
  CHECK_THROWS_WITH_AS(ops::ntxent_forward(ctx, odd, 0.1f), doctest::Contains("even"), cmt::Error);
  CHECK_THROWS_WITH_AS(ops::ntxent_forward(ctx, r, 0.f), doctest::Contains("tau"), cmt::Error);
  CHECK_THROWS_WITH_AS(ops::ntxent_forward(ctx, r.view(Shape{24}), 0.1f), doctest::Contains("(rows, d)"), cmt::Error);
  CHECK_THROWS_WITH_AS(ops::ntxent_forward(ctx, Tensor::empty(Shape{6, 4}, DType::i32), 0.1f),
                       doctest::Contains("must be f32"), cmt::Error);
  Tensor local = test::random_normal(Shape{4, 4}, gen);
  CHECK_THROWS_WITH_AS(ops::ntxent_forward_partial(ctx, local, r, 3, 0.1f), doctest::Contains("exceed"), cmt::Error);
  CHECK_THROWS_WITH_AS(ops::ntxent_forward_partial(ctx, test::random_normal(Shape{2, 5}, gen), r, 0, 0.1f),
                       doctest::Contains("same d"), cmt::Error);
  CHECK_THROWS_WITH_AS(ops::ntxent_backward(ctx, r, 0.1f, NAN), doctest::Contains("dloss"), cmt::Error);
}
