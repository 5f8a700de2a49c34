// A torchinfo-like per-layer summary of a model: output shape, parameters, MACs, activation bytes.
#pragma once
#include <string>
#include <vector>

#include "engine/layer.h"

namespace cmt::models {

struct SummaryRow {
  std::string path, type;
  Shape output;
  std::int64_t parameters = 0;
  double macs = 0;
  double activation_bytes = 0;  // of the output, f32
  int depth = 0;
};

// Rows for `root` run on `input`: Sequential containers are expanded down to `max_depth`; other
// composite layers (bottlenecks, MBConv blocks) are one row each.
std::vector<SummaryRow> summarize(Layer& root, const Shape& input, int max_depth);
std::int64_t count_parameters(Layer& layer);
std::string format_summary(const std::vector<SummaryRow>& rows, const Shape& input);

}  // namespace cmt::models
