// Oracle registrations of the NT-Xent op family (single-rank and multi-rank forms).
#include "engine/ops/ntxent.h"
#include "registry.h"

namespace cmt::oracle {
namespace {

CMT_ORACLE_OP("ntxent", [](Context& ctx, const TensorMap& in, const nlohmann::json& args) {
  const Tensor& r = input(in, "r");
  const float tau = args.at("tau").get<float>();
  ops::NtXentResult f = ops::ntxent_forward(ctx, r, tau);
  Tensor dr = ops::ntxent_backward(ctx, r, tau, args.value("dloss", 1.f));
  return TensorMap{{"loss", f.loss}, {"row_loss", f.row_loss}, {"pos_sim", f.pos_sim}, {"dr", dr}};
});

CMT_ORACLE_OP("ntxent_partial", [](Context& ctx, const TensorMap& in, const nlohmann::json& args) {
  const float tau = args.at("tau").get<float>();
  const std::int64_t offset = args.at("row_offset").get<std::int64_t>();
  const Tensor& local = input(in, "local");
  const Tensor& all = input(in, "all");
  ops::NtXentResult f = ops::ntxent_forward_partial(ctx, local, all, offset, tau);
  ops::NtXentPartialGrads g = ops::ntxent_backward_partial(ctx, local, all, offset, tau, args.value("dloss", 1.f));
  return TensorMap{{"loss", f.loss}, {"row_loss", f.row_loss}, {"pos_sim", f.pos_sim}, {"d_local", g.d_local},
                   {"d_all", g.d_all}};
});

}  // namespace
}  // namespace cmt::oracle
