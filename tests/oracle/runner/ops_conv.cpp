// Oracle registrations of the convolution op family: all four passes of one conv in one call.
#include "engine/ops/conv.h"
#include "registry.h"

namespace cmt::oracle {
namespace {

std::array<int, 3> triple(const nlohmann::json& args, const char* key, int fallback) {
  if (!args.contains(key)) return {fallback, fallback, fallback};
  return args.at(key).get<std::array<int, 3>>();
}

// Inputs x (N,D,H,W,C), w (K,T,R,S,C/groups), b [K], dy (N,Z,P,Q,K); args stride, padding,
// dilation (3 ints each), groups, backend ("native" | "cudnn").
CMT_ORACLE_OP("conv", [](Context& ctx, const TensorMap& in, const nlohmann::json& args) {
  ops::ConvParams p;
  p.stride = triple(args, "stride", 1);
  p.padding = triple(args, "padding", 0);
  p.dilation = triple(args, "dilation", 1);
  p.groups = args.value("groups", 1);
  ops::set_conv_backend(ops::parse_conv_backend(args.value("backend", std::string("native"))));
  const Tensor& x = input(in, "x");
  const Tensor& w = input(in, "w");
  const Tensor& dy = input(in, "dy");
  return TensorMap{{"y", ops::conv_forward(ctx, x, w, input(in, "b"), p)},
                   {"dx", ops::conv_backward_data(ctx, dy, w, x.shape(), p)},
                   {"dw", ops::conv_backward_weight(ctx, x, dy, w.shape(), p)},
                   {"db", ops::conv_backward_bias(ctx, dy)}};
});

}  // namespace
}  // namespace cmt::oracle
