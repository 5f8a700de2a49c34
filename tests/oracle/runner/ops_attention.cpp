// Oracle registration of the attention decoder layer: given weights, one training forward and backward.
#include "engine/ops/basic.h"
#include "engine/parameters.h"
#include "models/attention_map.h"
#include "registry.h"

namespace cmt::oracle {
namespace {

// x (N, D, H, W, C), dy like x, deconv1/deconv2 weight (kd, 2, 2) and bias [1]; args dims, size [d, h, w]
// -> y, dx, "grad:<parameter>", u (the decoder's map) and map (sigmoid of u resized to size).
CMT_ORACLE_OP("attention_decoder", [](Context& ctx, const TensorMap& in, const nlohmann::json& args) {
  layers::AttentionDecoder decoder(args.at("dims").get<int>());
  ParameterStore store(ctx, decoder);
  for (const auto& r : store.parameter_refs()) ops::copy(ctx, input(in, r.path), *r.value);
  store.zero_grads(ctx);
  ctx.training = true;
  decoder.set_keep_map(true);
  TensorMap out;
  out["y"] = decoder.forward(ctx, input(in, "x"));
  out["dx"] = decoder.backward(ctx, input(in, "dy"));
  out["u"] = decoder.last_map();
  const auto size = args.at("size").get<std::vector<std::int64_t>>();
  out["map"] = models::attention_map_of(ctx, decoder.last_map(), size.at(0), size.at(1), size.at(2));
  for (const auto& r : store.parameter_refs()) out["grad:" + r.path] = *r.grad;
  return out;
});

}  // namespace
}  // namespace cmt::oracle
