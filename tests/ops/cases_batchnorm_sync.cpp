// Cases of synchronised batch norm: the op on one rank (no host sync) against the CPU batch norm,
// and its kernels (moments rows in f32 and bf16, Chan's merge of rows, the backward coefficients)
// against their CPU references.
#include "engine/communicator.h"
#include "engine/host_sync.h"
#include "engine/ops/basic.h"
#include "engine/ops/batchnorm.h"
#include "engine/ops/batchnorm_sync.h"
#include "kernels/batchnorm.h"
#include "ops/op_case.h"

namespace cmt::opcase {
namespace {

Tensor filled(std::int64_t c, float v) { return Tensor::from_vector(std::vector<float>(static_cast<std::size_t>(c), v), Shape{c}); }

OpCase sync_op_row() {
  const Shape s{3, 2, 4, 4, 7};
  return {.family = "batchnorm", .name = "sync one rank 3x2x4x4x7",
          .inputs = [s](std::mt19937_64& gen) {
            return Tensors{{"x", normal(s, gen, 2.f)}, {"dy", normal(s, gen)}, {"gamma", normal(Shape{s[4]}, gen)}, {"beta", normal(Shape{s[4]}, gen)}};
          },
          .run = [s](Context& ctx, const Tensors& in) {
            auto comm = make_communicator("single", &ctx);
            Tensor rm = filled(s[4], 0.f).to(ctx.device()), rv = filled(s[4], 1.f).to(ctx.device());
            ops::SyncBatchNormSaved saved;
            Tensor y;
            ops::BatchNormGrads g;
            {
              NoHostSyncScope no_sync("a synchronised batch norm step");  // no statistic read back on the host
              y = ops::batchnorm_sync_forward_train(ctx, *comm, in.at("x"), in.at("gamma"), in.at("beta"), rm, rv, 0.1f, 1e-5f, saved);
              g = ops::batchnorm_sync_backward(ctx, *comm, in.at("dy"), in.at("x"), in.at("gamma"), saved, 1e-5f);
            }
            return Tensors{{"y", y}, {"running_mean", rm}, {"running_var", rv}, {"count", saved.count}, {"dx", g.dx}, {"dgamma", g.dgamma}, {"dbeta", g.dbeta}};
          },
          .reference = [s](const Tensors& in) {
            Context cpu(Device::cpu());
            Tensor rm = filled(s[4], 0.f), rv = filled(s[4], 1.f);
            ops::BatchNormSaved saved;
            Tensor y = ops::batchnorm_forward_train(cpu, in.at("x"), in.at("gamma"), in.at("beta"), rm, rv, 0.1f, 1e-5f, saved);
            const ops::BatchNormGrads g = ops::batchnorm_backward(cpu, in.at("dy"), in.at("x"), in.at("gamma"), saved);
            return Tensors{{"y", y}, {"running_mean", rm}, {"running_var", rv}, {"count", filled(1, static_cast<float>(s.numel() / s[4]))},
                           {"dx", g.dx}, {"dgamma", g.dgamma}, {"dbeta", g.dbeta}};
          },
          .check = Check::close(1e-6, 1e-5),
          .checks = {{"y", Check::close(1e-5, 1e-5)}, {"count", Check::exact()}, {"dx", Check::close(1e-5, 1e-4)},
                     {"dgamma", Check::close(1e-4, 1e-5)}, {"dbeta", Check::close(1e-4, 1e-5)}},
          .backends = {"cuda"}};
}

constexpr std::int64_t kC = 5;
const std::vector<std::int64_t> kRows = {1, 200, 37};  // one row; several chunks (the last short)
constexpr std::int64_t kWidth = 2 + 2 * kC;

// Moments rows of three inputs (means far apart, f32 and bf16), their merge as three ranks (and with a
// first count that needs both floats: 2^24 + 3), and the backward coefficients.
Tensors kernel_outputs(Context& ctx, const Tensors& in, bool on_cpu) {
  Tensors out;
  Tensor rows = Tensor::empty(Shape{static_cast<std::int64_t>(kRows.size()), kWidth}, DType::f32, ctx.device());
  for (std::size_t r = 0; r < kRows.size(); ++r) {
    const Tensor& x = in.at(text("x", r));
    const Tensor xb = ops::cast(ctx, x, DType::bf16);
    Tensor rb = Tensor::empty(Shape{kWidth}, DType::f32, ctx.device());
    float* row = rows.data<float>() + static_cast<std::int64_t>(r) * kWidth;
    if (on_cpu) {
      cpu::batchnorm_moments(x.data<float>(), kRows[r], kC, row);
      cpu::batchnorm_moments(xb.data_u16(), kRows[r], kC, rb.data<float>());
    } else {
#if defined(CMT_WITH_CUDA)
      void* ws = ctx.workspace(cuda::batchnorm_workspace_bytes(kRows[r], kC));
      cuda::batchnorm_moments(x.data<float>(), kRows[r], kC, row, ws, ctx.compute_stream());
      cuda::batchnorm_moments(xb.data_u16(), kRows[r], kC, rb.data<float>(), ws, ctx.compute_stream());
      ctx.synchronize();
#endif
    }
    out[text("bf16 moments ", kRows[r])] = rb;
  }
  out["moments"] = rows;
  // The merge runs on the CPU reference's rows on both sides, so that it is tested alone.
  const Tensor ref_rows = in.at("rows");
  for (bool big : {false, true}) {
    Tensor merged_rows = ref_rows.to(Device::cpu());
    if (big) merged_rows.data<float>()[0] = 16777216.f, merged_rows.data<float>()[1] = 3.f;
    const Tensor mr = merged_rows.to(ctx.device());
    Tensor rm = clone(in.at("rm")).to(ctx.device()), rv = filled(kC, 1.5f).to(ctx.device());
    std::vector<Tensor> o;
    for (int k = 0; k < 4; ++k) o.push_back(Tensor::empty(Shape{k == 3 ? 1 : kC}, DType::f32, ctx.device()));
    if (on_cpu) {
      cpu::batchnorm_merge_moments(mr.data<float>(), 3, kC, 0.1f, 1e-5f, rm.data<float>(), rv.data<float>(), o[0].data<float>(),
                                   o[1].data<float>(), o[2].data<float>(), o[3].data<float>());
      CMT_CHECK(o[3].data<float>()[0] == (big ? 16777216.f + 240.f : 238.f), "merged count " << o[3].data<float>()[0]);
    } else {
#if defined(CMT_WITH_CUDA)
      cuda::batchnorm_merge_moments(mr.data<float>(), 3, kC, 0.1f, 1e-5f, rm.data<float>(), rv.data<float>(), o[0].data<float>(),
                                    o[1].data<float>(), o[2].data<float>(), o[3].data<float>(), ctx.compute_stream());
      ctx.synchronize();
#endif
    }
    const std::string k = big ? " big count" : "";
    out["merge running_mean" + k] = rm, out["merge running_var" + k] = rv;
    for (int j = 0; j < 4; ++j) out[text("merge out", j, k)] = o[static_cast<std::size_t>(j)];
  }
  auto dev = [&](const char* name) { return in.at(name).to(ctx.device()); };
  const Tensor dgamma = dev("dgamma"), dbeta = dev("dbeta"), sums = dev("sums"), gamma = dev("gamma"), invstd = dev("invstd"), count = dev("count");
  Tensor a = Tensor::empty(Shape{kC}, DType::f32, ctx.device()), b = Tensor::empty(Shape{kC}, DType::f32, ctx.device());
  if (on_cpu) {
    cpu::batchnorm_sync_coefficients(dgamma.data<float>(), dbeta.data<float>(), sums.data<float>(), kC, 30, count.data<float>(),
                                     gamma.data<float>(), invstd.data<float>(), a.data<float>(), b.data<float>());
  } else {
#if defined(CMT_WITH_CUDA)
    cuda::batchnorm_sync_coefficients(dgamma.data<float>(), dbeta.data<float>(), sums.data<float>(), kC, 30, count.data<float>(),
                                      gamma.data<float>(), invstd.data<float>(), a.data<float>(), b.data<float>(), ctx.compute_stream());
    ctx.synchronize();
#endif
  }
  out["coefficient a"] = a, out["coefficient b"] = b;
  return out;
}

OpCase sync_kernel_row() {
  return {.family = "batchnorm", .name = "sync kernels moments merge coefficients",
          .inputs = [](std::mt19937_64& gen) {
            Tensors in;
            Tensor rows = Tensor::empty(Shape{static_cast<std::int64_t>(kRows.size()), kWidth}, DType::f32);
            for (std::size_t r = 0; r < kRows.size(); ++r) {
              Tensor x = normal(Shape{kRows[r], kC}, gen, 2.f);
              for (std::int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] += 10.f * static_cast<float>(r + 1);
              cpu::batchnorm_moments(x.data<float>(), kRows[r], kC, rows.data<float>() + static_cast<std::int64_t>(r) * kWidth);
              in[text("x", r)] = x;
            }
            in["rows"] = rows;
            in["rm"] = normal(Shape{kC}, gen);
            in["dgamma"] = normal(Shape{kC}, gen), in["dbeta"] = normal(Shape{kC}, gen);
            in["sums"] = normal(Shape{2 * kC}, gen, 3.f), in["gamma"] = normal(Shape{kC}, gen);
            in["invstd"] = Tensor::from_vector(std::vector<float>{0.5f, 1.f, 2.f, 3.f, 0.25f}, Shape{kC});
            in["count"] = Tensor::from_vector(std::vector<float>{90.f}, Shape{1});
            return in;
          },
          .run = [](Context& ctx, const Tensors& in) { return kernel_outputs(ctx, in, ctx.device().is_cpu()); },
          .check = Check::close(1e-7, 1e-6),
          .checks = {{"moments", Check::close(1e-4, 1e-5)}, {"bf16 moments 1", Check::close(1e-4, 1e-5)},
                     {"bf16 moments 200", Check::close(1e-4, 1e-5)}, {"bf16 moments 37", Check::close(1e-4, 1e-5)}},
          .backends = {"cuda"}};
}

const Rows batchnorm_sync_rows([] { return std::vector<OpCase>{sync_op_row(), sync_kernel_row()}; });

}  // namespace
}  // namespace cmt::opcase
