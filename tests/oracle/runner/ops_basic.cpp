// Oracle registrations of the basic op family.
#include "engine/ops/basic.h"
#include "registry.h"

namespace cmt::oracle {
namespace {

CMT_ORACLE_OP("axpy", [](Context& ctx, const TensorMap& in, const nlohmann::json& args) {
  Tensor y = input(in, "y");
  Tensor out = Tensor::empty(y.shape(), y.dtype(), y.device());
  ops::copy(ctx, y, out);
  ops::axpy(ctx, args.at("alpha").get<float>(), input(in, "x"), out);
  return TensorMap{{"y", out}};
});

CMT_ORACLE_OP("sum", [](Context& ctx, const TensorMap& in, const nlohmann::json&) {
  return TensorMap{{"sum", ops::sum(ctx, input(in, "x"))}, {"mean", ops::mean(ctx, input(in, "x"))}};
});

CMT_ORACLE_OP("cast_bf16", [](Context& ctx, const TensorMap& in, const nlohmann::json&) {
  Tensor b = ops::cast(ctx, input(in, "x"), DType::bf16);
  return TensorMap{{"bf16", b}, {"back", ops::cast(ctx, b, DType::f32)}};
});

}  // namespace
}  // namespace cmt::oracle
