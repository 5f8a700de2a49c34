// The NT-Xent op family on CUDA against the CPU reference: forward, backward (one and several
// stripes), forward results of the striped pass, simulated multi-rank equivalence, tf32, zero rows.
#include <algorithm>
#include <cmath>

#include "engine/ops/basic.h"
#include "engine/ops/ntxent.h"
#include "kernels/ntxent.h"
#include "support/testing.h"

using namespace cmt;

namespace {

float max_abs(const std::vector<float>& v) {
  float m = 0.f;
  for (float x : v) m = std::max(m, std::fabs(x));
  return m;
}

// Gradients: relative to the largest element, since the entries of dr span several orders of magnitude
// (with a floor for gradients that vanish, such as 2N = 2).
void check_grad(const Tensor& got, const Tensor& want, double rel) {
  const auto w = want.to_vector<float>();
  CHECK_ALLCLOSE(got.to_vector<float>(), w, rel * max_abs(w) + 1e-7, rel * 10);
}

struct Case {
  std::int64_t rows, dim;
  float tau;
};

// A wide row (a flattened VGG feature) on a GPU; on the emulator still many 16-column steps per tile.
constexpr std::int64_t kWideDim = test::on_emulator(4096, 4);
// The small path costs ~rows^2 warp shuffles on the emulator: there fewer rows with the same tails
// past the 64-row tiles and the 4-row groups (the 256-row limit and the large path keep their sizes).
constexpr std::int64_t rows(std::int64_t gpu, std::int64_t emulated) { return test::emulated() ? emulated : gpu; }

}  // namespace

TEST_CASE("cuda ntxent forward and backward match the CPU reference") {
  Context gpu(Device::cuda(0)), cpu(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 60);
  // Sizes stay moderate: these tests also run under compute-sanitizer; bench/ntxent covers large ones.
  for (const Case c : {Case{2, 5, 0.1f}, Case{16, kWideDim, 0.1f}, Case{rows(128, 64), 512, 0.1f}, Case{rows(130, 66), 33, 0.05f},
                       Case{rows(200, 72), 129, 0.2f}, Case{256, 64, 0.1f}, Case{258, 100, 0.1f}, Case{520, 64, 0.1f}}) {
    CAPTURE(c.rows);
    CAPTURE(c.dim);
    Tensor r = test::random_normal(Shape{c.rows, c.dim}, gen);
    Tensor rd = r.to(gpu.device());
    const ops::NtXentResult want = ops::ntxent_forward(cpu, r, c.tau);
    const ops::NtXentResult got = ops::ntxent_forward(gpu, rd, c.tau);
    CHECK_ALLCLOSE(got.row_loss.to_vector<float>(), want.row_loss.to_vector<float>(), 1e-4, 1e-4);
    CHECK_ALLCLOSE(got.pos_sim.to_vector<float>(), want.pos_sim.to_vector<float>(), 1e-5, 1e-4);
    CHECK(ops::item(got.loss) == doctest::Approx(ops::item(want.loss)).epsilon(1e-5));
    check_grad(ops::ntxent_backward(gpu, rd, c.tau, 0.8f), ops::ntxent_backward(cpu, r, c.tau, 0.8f), 1e-4);
  }
}

TEST_CASE("cuda ntxent_forward_backward: the two-launch small path and the large path") {
  Context gpu(Device::cuda(0)), cpu(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 64);
  for (const Case c : {Case{2, 1, 0.1f}, Case{16, kWideDim, 0.1f}, Case{rows(128, 64), 256, 0.05f}, Case{256, 31, 0.1f},
                       Case{600, 80, 0.1f}}) {
    CAPTURE(c.rows);
    CAPTURE(c.dim);
    Tensor r = test::random_normal(Shape{c.rows, c.dim}, gen);
    const ops::NtXentStep got = ops::ntxent_forward_backward(gpu, r.to(gpu.device()), c.tau, 1.5f);
    const ops::NtXentResult want = ops::ntxent_forward(cpu, r, c.tau);
    CHECK_ALLCLOSE(got.result.row_loss.to_vector<float>(), want.row_loss.to_vector<float>(), 1e-4, 1e-4);
    CHECK_ALLCLOSE(got.result.pos_sim.to_vector<float>(), want.pos_sim.to_vector<float>(), 1e-5, 1e-4);
    CHECK(ops::item(got.result.loss) == doctest::Approx(ops::item(want.loss)).epsilon(1e-5));
    check_grad(got.dr, ops::ntxent_backward(cpu, r, c.tau, 1.5f), 1e-4);
  }
}

TEST_CASE("cuda ntxent striped backward: several stripes and the forward results of the same pass") {
  Context gpu(Device::cuda(0)), cpu(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 61);
  const std::int64_t rows = 300, dim = 70;
  const float tau = 0.1f, dloss = 1.f;
  Tensor r = test::random_normal(Shape{rows, dim}, gen);
  Tensor rd = r.to(gpu.device());
  const ops::NtXentResult want = ops::ntxent_forward(cpu, r, tau);
  const ops::NtXentPartialGrads want_g = ops::ntxent_backward_partial(cpu, r, r, 0, tau, dloss);
  NtXentDesc d;
  d.rows_local = d.rows_total = rows;
  d.dim = dim;
  d.tau = tau;
  for (std::int64_t stripe : {std::int64_t{7}, std::int64_t{64}, std::int64_t{97}, rows}) {
    CAPTURE(stripe);
    Tensor dl = Tensor::empty(Shape{rows, dim}, DType::f32, gpu.device());
    Tensor da = Tensor::empty(Shape{rows, dim}, DType::f32, gpu.device());
    Tensor rl = Tensor::empty(Shape{rows}, DType::f32, gpu.device());
    Tensor ps = Tensor::empty(Shape{rows}, DType::f32, gpu.device());
    void* ws = gpu.workspace(cuda::ntxent_backward_workspace_bytes(d, stripe));
    cuda::ntxent_backward(d, rd.data<float>(), rd.data<float>(), dloss, dl.data<float>(), da.data<float>(), ws,
                          gpu.cublas(), false, gpu.compute_stream(), stripe, rl.data<float>(), ps.data<float>());
    CHECK_ALLCLOSE(rl.to_vector<float>(), want.row_loss.to_vector<float>(), 1e-4, 1e-4);
    CHECK_ALLCLOSE(ps.to_vector<float>(), want.pos_sim.to_vector<float>(), 1e-5, 1e-4);
    check_grad(dl, want_g.d_local, 1e-4);
    check_grad(da, want_g.d_all, 1e-4);
  }
}

TEST_CASE("cuda ntxent multi-rank form: simulated ranks sum to the single-rank result") {
  Context gpu(Device::cuda(0)), cpu(Device::cpu());
  std::mt19937_64 gen(test::run_seed() + 62);
  const std::int64_t rows = 256, dim = 96;
  const float tau = 0.1f, dloss = 1.f;
  Tensor r = test::random_normal(Shape{rows, dim}, gen);
  Tensor rd = r.to(gpu.device());
  const float want_loss = ops::item(ops::ntxent_forward(cpu, r, tau).loss);
  const Tensor want_grad = ops::ntxent_backward(cpu, r, tau, dloss);
  for (const std::vector<std::int64_t>& split : {std::vector<std::int64_t>{128, 128}, {64, 64, 64, 64}, {65, 100, 1, 90}}) {
    CAPTURE(split.size());
    Tensor total = Tensor::empty(Shape{rows, dim}, DType::f32, gpu.device());
    ops::fill(gpu, total, 0.0);
    double loss = 0;
    std::int64_t offset = 0;
    for (std::int64_t n : split) {
      const Tensor local = rd.narrow(offset, n);
      // The one-pass form (the trainer's on several ranks) against the separate forward and the CPU.
      const ops::NtXentPartialStep both = ops::ntxent_forward_backward_partial(gpu, local, rd, offset, tau, dloss);
      const ops::NtXentResult fwd = ops::ntxent_forward_partial(gpu, local, rd, offset, tau);
      const ops::NtXentResult want_rows = ops::ntxent_forward_partial(cpu, r.narrow(offset, n), r, offset, tau);
      CHECK_ALLCLOSE(both.result.row_loss.to_vector<float>(), want_rows.row_loss.to_vector<float>(), 1e-4, 1e-4);
      CHECK_ALLCLOSE(both.result.pos_sim.to_vector<float>(), want_rows.pos_sim.to_vector<float>(), 1e-5, 1e-4);
      CHECK(ops::item(both.result.loss) == doctest::Approx(ops::item(fwd.loss)).epsilon(1e-5));
      loss += ops::item(both.result.loss);
      const ops::NtXentPartialGrads& g = both.grads;
      Tensor at = total.narrow(offset, n);
      ops::axpy(gpu, 1.f, g.d_local, at);
      ops::axpy(gpu, 1.f, g.d_all, total);
      offset += n;
    }
    CHECK(loss == doctest::Approx(want_loss).epsilon(1e-5));
    check_grad(total, want_grad, 1e-4);
  }
}

TEST_CASE("cuda ntxent under the tf32 policy, and with a zero row") {
  Context gpu(Device::cuda(0)), cpu(Device::cpu());
  gpu.precision = PrecisionPolicy::parse("tf32");
  std::mt19937_64 gen(test::run_seed() + 63);
  // 2N = 512 takes the striped (cuBLAS) backward, where the tf32 policy applies.
  Tensor r = test::random_normal(Shape{512, 256}, gen);
  std::fill(r.data<float>() + 5 * 256, r.data<float>() + 6 * 256, 0.f);
  Tensor rd = r.to(gpu.device());
  const ops::NtXentResult want = ops::ntxent_forward(cpu, r, 0.1f);
  const ops::NtXentResult got = ops::ntxent_forward(gpu, rd, 0.1f);  // the forward is fp32 SIMT always
  CHECK_ALLCLOSE(got.row_loss.to_vector<float>(), want.row_loss.to_vector<float>(), 1e-4, 1e-4);
  CHECK(got.pos_sim.to_vector<float>()[5] == 0.f);
  // tf32 keeps 10 mantissa bits: similarities carry ~1e-3 relative error, amplified by 1/tau.
  Tensor g = ops::ntxent_backward(gpu, rd, 0.1f, 1.f);
  Tensor w = ops::ntxent_backward(cpu, r, 0.1f, 1.f);
  for (float v : g.to_vector<float>()) REQUIRE(std::isfinite(v));
  // The zero row's gradient is g / eps (huge); compare the ordinary rows relative to their scale.
  check_grad(g.narrow(0, 4), w.narrow(0, 4), 2e-2);
  check_grad(g.narrow(8, 504), w.narrow(8, 504), 2e-2);
}
