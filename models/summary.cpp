// Model summary table.
#include "models/summary.h"

#include <fmt/core.h>

#include "engine/layers/sequential.h"

namespace cmt::models {

std::int64_t count_parameters(Layer& layer) {
  std::vector<ParameterRef> params, buffers;
  layer.collect("", params, buffers);
  std::int64_t n = 0;
  for (const auto& p : params) n += p.spec.shape.numel();
  return n;
}

namespace {
void walk(Layer& layer, const std::string& path, const Shape& in, int depth, int max_depth, std::vector<SummaryRow>& rows) {
  auto* seq = dynamic_cast<layers::Sequential*>(&layer);
  if (seq && depth < max_depth) {
    Shape s = in;
    for (auto& [name, child] : layer.children()) {
      walk(*child, path.empty() ? name : path + "." + name, s, depth + 1, max_depth, rows);
      s = child->output_shape(s);
    }
    return;
  }
  SummaryRow r;
  r.path = path;
  r.type = layer.type();
  r.output = layer.output_shape(in);
  r.parameters = count_parameters(layer);
  r.macs = layer.forward_macs(in);
  r.activation_bytes = static_cast<double>(r.output.numel()) * 4;
  r.depth = depth;
  rows.push_back(r);
}
}  // namespace

std::vector<SummaryRow> summarize(Layer& root, const Shape& input, int max_depth) {
  std::vector<SummaryRow> rows;
  walk(root, "", input, 0, max_depth, rows);
  return rows;
}

std::string format_summary(const std::vector<SummaryRow>& rows, const Shape& input) {
  std::string s = fmt::format("{:<44} {:<16} {:<26} {:>13} {:>12} {:>12}\n", "layer", "type", "output", "parameters", "MMACs", "act. MiB");
  std::int64_t params = 0;
  double macs = 0, act = 0;
  for (const auto& r : rows) {
    s += fmt::format("{:<44} {:<16} {:<26} {:>13} {:>12.1f} {:>12.2f}\n", r.path, r.type, r.output.str(), r.parameters, r.macs / 1e6,
                     r.activation_bytes / (1 << 20));
    params += r.parameters;
    macs += r.macs;
    act += r.activation_bytes;
  }
  s += fmt::format("input {}: {} parameters ({:.1f} MiB f32), {:.3f} GMACs forward, {:.1f} MiB of layer outputs\n", input.str(), params,
                   static_cast<double>(params) * 4 / (1 << 20), macs / 1e9, act / (1 << 20));
  return s;
}

}  // namespace cmt::models
