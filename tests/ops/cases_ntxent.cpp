// Cases of the NT-Xent family: forward and backward, the one-pass forward+backward (small and large
// paths), the striped CUDA backward, simulated ranks summing to the single-rank result, the tf32
// policy with a zero row. Gradients are compared relative to their largest element: the entries of
// dr span several orders of magnitude.
#include "engine/ops/basic.h"
#include "engine/ops/ntxent.h"
#include "kernels/ntxent.h"
#include "ops/op_case.h"

namespace cmt::opcase {
namespace {

struct Size {
  std::int64_t rows, dim;
  float tau;
};

// A wide row (a flattened VGG feature) on a GPU; on the emulator still many 16-column steps per tile.
constexpr std::int64_t kWideDim = on_emulator(4096, 4);
// The small path costs ~rows^2 warp shuffles on the emulator: there fewer rows with the same tails
// past the 64-row tiles and the 4-row groups (the 256-row limit and the large path keep their sizes).
constexpr std::int64_t rows_here(std::int64_t gpu, std::int64_t emulated_rows) { return emulated() ? emulated_rows : gpu; }

// The loss gets an absolute floor of 1e-6: with few rows and tau 0.1 it can round to 0 on one
// backend and to 2.4e-7 on the other (a log of values next to 1), which no relative bound accepts.
const std::map<std::string, Check> kChecks{{"row_loss", Check::close(1e-4, 1e-4)}, {"pos_sim", Check::close(1e-5, 1e-4)},
                                           {"loss", Check::close(1e-6, 1e-5)},      {"dr", Check::scaled(1e-4)}};

std::function<Tensors(std::mt19937_64&)> embeddings(std::int64_t rows, std::int64_t dim) {
  return [=](std::mt19937_64& gen) { return Tensors{{"r", normal(Shape{rows, dim}, gen)}}; };
}

std::string size_name(const char* what, const Size& s) { return text(what, " ", s.rows, "x", s.dim, " tau", s.tau); }

std::vector<OpCase> ntxent_cases() {
  std::vector<OpCase> rows;
  // Sizes stay moderate (these also run under compute-sanitizer); bench/ntxent covers large ones.
  for (const Size s : {Size{2, 5, 0.1f}, Size{16, kWideDim, 0.1f}, Size{rows_here(128, 64), 512, 0.1f}, Size{rows_here(130, 66), 33, 0.05f},
                       Size{rows_here(200, 72), 129, 0.2f}, Size{256, 64, 0.1f}, Size{258, 100, 0.1f}, Size{520, 64, 0.1f}}) {
    const float tau = s.tau;
    rows.push_back({.family = "ntxent", .name = size_name("forward backward", s), .inputs = embeddings(s.rows, s.dim),
                    .run = [tau](Context& ctx, const Tensors& in) {
                      const ops::NtXentResult f = ops::ntxent_forward(ctx, in.at("r"), tau);
                      return Tensors{{"row_loss", f.row_loss}, {"pos_sim", f.pos_sim}, {"loss", f.loss},
                                     {"dr", ops::ntxent_backward(ctx, in.at("r"), tau, 0.8f)}};
                    },
                    .checks = kChecks,
                    .gradients = s.rows * s.dim <= 2000 ? std::vector<Gradient>{{.input = "r", .output = "loss", .grad = "dr", .scale = 0.8}}
                                                        : std::vector<Gradient>{},
                    .oracle = "ntxent",
                    .args = {{"tau", tau}, {"dloss", 0.8}}});
  }
  for (const Size s : {Size{2, 1, 0.1f}, Size{16, kWideDim, 0.1f}, Size{rows_here(128, 64), 256, 0.05f}, Size{256, 31, 0.1f}, Size{600, 80, 0.1f}}) {
    const float tau = s.tau;
    rows.push_back({.family = "ntxent", .name = size_name("one pass", s), .inputs = embeddings(s.rows, s.dim),
                    .run = [tau](Context& ctx, const Tensors& in) {
                      const ops::NtXentStep st = ops::ntxent_forward_backward(ctx, in.at("r"), tau, 1.5f);
                      return Tensors{{"row_loss", st.result.row_loss}, {"pos_sim", st.result.pos_sim}, {"loss", st.result.loss}, {"dr", st.dr}};
                    },
                    .checks = kChecks,
                    .oracle = "ntxent",
                    .args = {{"tau", tau}, {"dloss", 1.5}}});
  }
  // The striped backward kernel itself, with stripes that do not divide the rows; it also writes the
  // forward results of the same pass.
  const std::vector<std::int64_t> stripes{7, 64, 97, 300};
  rows.push_back({.family = "ntxent", .name = "striped backward 300x70 stripes 7 64 97 300", .inputs = embeddings(300, 70),
                  .run = [stripes](Context& ctx, const Tensors& in) {
                    Tensors out;
#if defined(CMT_WITH_CUDA)
                    const Tensor& r = in.at("r");
                    NtXentDesc d;
                    d.rows_local = d.rows_total = 300;
                    d.dim = 70;
                    d.tau = 0.1f;
                    for (std::int64_t stripe : stripes) {
                      Tensor dl = Tensor::empty(Shape{300, 70}, DType::f32, ctx.device()), da = Tensor::empty(Shape{300, 70}, DType::f32, ctx.device());
                      Tensor rl = Tensor::empty(Shape{300}, DType::f32, ctx.device()), ps = Tensor::empty(Shape{300}, DType::f32, ctx.device());
                      void* ws = ctx.workspace(cuda::ntxent_backward_workspace_bytes(d, stripe));
                      cuda::ntxent_backward(d, r.data<float>(), r.data<float>(), 1.f, dl.data<float>(), da.data<float>(), ws, ctx.cublas(), false,
                                            ctx.compute_stream(), stripe, rl.data<float>(), ps.data<float>());
                      ctx.synchronize();
                      const std::string k = text(" stripe ", stripe);
                      out["row_loss" + k] = rl, out["pos_sim" + k] = ps, out["d_local" + k] = dl, out["d_all" + k] = da;
                    }
#endif
                    (void)ctx, (void)in;
                    return out;
                  },
                  .reference = [stripes](const Tensors& in) {
                    Context cpu(Device::cpu());
                    const ops::NtXentResult f = ops::ntxent_forward(cpu, in.at("r"), 0.1f);
                    const ops::NtXentPartialGrads g = ops::ntxent_backward_partial(cpu, in.at("r"), in.at("r"), 0, 0.1f, 1.f);
                    Tensors out;
                    for (std::int64_t stripe : stripes) {
                      const std::string k = text(" stripe ", stripe);
                      out["row_loss" + k] = f.row_loss, out["pos_sim" + k] = f.pos_sim, out["d_local" + k] = g.d_local, out["d_all" + k] = g.d_all;
                    }
                    return out;
                  },
                  .check = Check::scaled(1e-4),
                  .backends = {"cuda"}});
  // Simulated ranks (the trainer's one-pass partial form) sum to the single-rank loss and gradient.
  for (const std::vector<std::int64_t>& split : {std::vector<std::int64_t>{128, 128}, {64, 64, 64, 64}, {65, 100, 1, 90}}) {
    std::string name = "ranks";
    for (std::int64_t n : split) name += text(" ", n);
    rows.push_back({.family = "ntxent", .name = name + " sum to one rank 256x96", .inputs = embeddings(256, 96),
                    .run = [split](Context& ctx, const Tensors& in) {
                      const Tensor& r = in.at("r");
                      Tensor total = Tensor::empty(Shape{256, 96}, DType::f32, ctx.device());
                      ops::fill(ctx, total, 0.0);
                      Tensors out;
                      double loss = 0;
                      std::int64_t offset = 0;
                      for (std::int64_t n : split) {
                        const ops::NtXentPartialStep both = ops::ntxent_forward_backward_partial(ctx, r.narrow(offset, n), r, offset, 0.1f, 1.f);
                        out[text("row_loss from ", offset)] = both.result.row_loss;
                        out[text("pos_sim from ", offset)] = both.result.pos_sim;
                        loss += ops::item(both.result.loss);
                        Tensor at = total.narrow(offset, n);
                        ops::axpy(ctx, 1.f, both.grads.d_local, at);
                        ops::axpy(ctx, 1.f, both.grads.d_all, total);
                        offset += n;
                      }
                      out["loss"] = Tensor::from_vector(std::vector<float>{static_cast<float>(loss)}, Shape{1});
                      out["dr"] = total;
                      return out;
                    },
                    .reference = [split](const Tensors& in) {
                      Context cpu(Device::cpu());
                      const Tensor& r = in.at("r");
                      const ops::NtXentResult f = ops::ntxent_forward(cpu, r, 0.1f);
                      Tensors out{{"loss", f.loss}, {"dr", ops::ntxent_backward(cpu, r, 0.1f, 1.f)}};
                      std::int64_t offset = 0;
                      for (std::int64_t n : split) {
                        out[text("row_loss from ", offset)] = f.row_loss.narrow(offset, n);
                        out[text("pos_sim from ", offset)] = f.pos_sim.narrow(offset, n);
                        offset += n;
                      }
                      return out;
                    },
                    .check = Check::close(1e-4, 1e-4),
                    .checks = {{"loss", Check::close(1e-6, 1e-5)}, {"dr", Check::scaled(1e-4)}}});
  }
  // 2N = 512 takes the striped (cuBLAS) backward, where the tf32 policy applies: similarities carry
  // ~1e-3 relative error, amplified by 1/tau. A zero row's gradient is g / eps (huge): the ordinary
  // rows are compared relative to their own scale. The forward is fp32 SIMT always.
  rows.push_back({.family = "ntxent", .name = "tf32 with a zero row 512x256",
                  .inputs = [](std::mt19937_64& gen) {
                    Tensor r = normal(Shape{512, 256}, gen);
                    std::fill(r.data<float>() + 5 * 256, r.data<float>() + 6 * 256, 0.f);
                    return Tensors{{"r", r}};
                  },
                  .run = [](Context& ctx, const Tensors& in) {
                    const ops::NtXentResult f = ops::ntxent_forward(ctx, in.at("r"), 0.1f);
                    const Tensor g = ops::ntxent_backward(ctx, in.at("r"), 0.1f, 1.f);
                    return Tensors{{"row_loss", f.row_loss}, {"pos_sim", f.pos_sim}, {"dr head", g.narrow(0, 4)}, {"dr tail", g.narrow(8, 504)}};
                  },
                  .check = Check::scaled(2e-2),
                  .checks = {{"row_loss", Check::close(1e-4, 1e-4)}, {"pos_sim", Check::close(1e-5, 1e-4)}},
                  .precision = PrecisionPolicy::parse("tf32")});
  return rows;
}

const Rows ntxent_rows(ntxent_cases);

}  // namespace
}  // namespace cmt::opcase
