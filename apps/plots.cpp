// SVG writers (plain text, no dependencies), written atomically.
#include "apps/plots.h"

#include <algorithm>
#include <cmath>

#include <fmt/core.h>

#include "apps/text_file.h"
#include "kernels/common/check.h"

namespace cmt::app {

namespace {

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else out += c;
  }
  return out;
}

// A colour from white (0) to dark blue (1).
std::string blue(double t) {
  t = std::clamp(t, 0.0, 1.0);
  const int r = static_cast<int>(247 - t * 239), g = static_cast<int>(251 - t * 203), b = static_cast<int>(255 - t * 148);
  return fmt::format("rgb({},{},{})", r, g, b);
}

}  // namespace

void write_roc_svg(const std::string& path, const std::vector<metrics::RocPoint>& roc, double auc, const std::string& title) {
  write_roc_curves_svg(path, {{"", roc, auc}}, title);
}

void write_roc_curves_svg(const std::string& path, const std::vector<RocCurve>& curves, const std::string& title) {
  static const char* const colours[] = {"#08306b", "#cb181d", "#238b45", "#6a51a3", "#d94801"};
  const double x0 = 60, y0 = 340, side = 300;
  std::string s = fmt::format(R"svg(<svg xmlns="http://www.w3.org/2000/svg" width="400" height="400" font-family="sans-serif" font-size="12">
<rect width="400" height="400" fill="white"/>
<text x="200" y="20" text-anchor="middle" font-size="14">{}</text>
<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="black"/>
<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#999" stroke-dasharray="4"/>
<text x="200" y="375" text-anchor="middle">false positive rate</text>
<text x="20" y="190" text-anchor="middle" transform="rotate(-90 20 190)">true positive rate</text>
)svg",
                              escape(title), x0, y0 - side, side, side, x0, y0, x0 + side, y0 - side);
  for (int i = 0; i <= 4; ++i) {
    const double v = i / 4.0;
    s += fmt::format(R"svg(<text x="{}" y="{}" text-anchor="middle">{:.2f}</text><text x="{}" y="{}" text-anchor="end">{:.2f}</text>
)svg",
                     x0 + v * side, y0 + 15, v, x0 - 5, y0 - v * side + 4, v);
  }
  for (std::size_t c = 0; c < curves.size(); ++c) {
    const char* colour = colours[c % (sizeof(colours) / sizeof(colours[0]))];
    std::string pts;
    for (const auto& p : curves[c].points) pts += fmt::format("{:.2f},{:.2f} ", x0 + p.fpr * side, y0 - p.tpr * side);
    const std::string label = curves[c].label.empty() ? "" : escape(curves[c].label) + ": ";
    s += fmt::format(R"svg(<polyline points="{}" fill="none" stroke="{}" stroke-width="2"/>
<text x="{}" y="{}" text-anchor="end" fill="{}">{}AUC = {:.4f}</text>
)svg",
                     pts, colour, x0 + side - 10, y0 - 10 - 16.0 * static_cast<double>(curves.size() - 1 - c), colour, label,
                     curves[c].auc);
  }
  s += "</svg>\n";
  write_text_atomic(path, s);
}

void write_confusion_svg(const std::string& path, const std::vector<std::vector<long long>>& counts,
                         const std::vector<std::string>& names, const std::string& title) {
  const int k = static_cast<int>(counts.size());
  const int cell = 70, x0 = 130, y0 = 60;
  const int w = x0 + k * cell + 20, h = y0 + k * cell + 50;
  long long mx = 1;
  for (const auto& row : counts)
    for (long long v : row) mx = std::max(mx, v);
  std::string s =
      fmt::format(R"svg(<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" font-family="sans-serif" font-size="12">
<rect width="{}" height="{}" fill="white"/>
<text x="{}" y="20" text-anchor="middle" font-size="14">{}</text>
<text x="{}" y="{}" text-anchor="middle">predicted</text>
<text x="14" y="{}" text-anchor="middle" transform="rotate(-90 14 {})">true</text>
)svg",
                  w, h, w, h, w / 2, escape(title), x0 + k * cell / 2, y0 + k * cell + 40, y0 + k * cell / 2, y0 + k * cell / 2);
  for (int t = 0; t < k; ++t) {
    const std::string name = t < static_cast<int>(names.size()) ? names[static_cast<std::size_t>(t)] : std::to_string(t);
    s += fmt::format(R"svg(<text x="{}" y="{}" text-anchor="end">{}</text><text x="{}" y="{}" text-anchor="middle">{}</text>
)svg",
                     x0 - 8, y0 + t * cell + cell / 2 + 4, escape(name), x0 + t * cell + cell / 2, y0 + k * cell + 20, escape(name));
    for (int p = 0; p < k; ++p) {
      const long long v = counts[static_cast<std::size_t>(t)][static_cast<std::size_t>(p)];
      const double frac = static_cast<double>(v) / static_cast<double>(mx);
      s += fmt::format(R"svg(<rect x="{}" y="{}" width="{}" height="{}" fill="{}" stroke="white"/><text x="{}" y="{}" text-anchor="middle" fill="{}">{}</text>
)svg",
                       x0 + p * cell, y0 + t * cell, cell, cell, blue(frac), x0 + p * cell + cell / 2, y0 + t * cell + cell / 2 + 4,
                       frac > 0.5 ? "white" : "black", v);
    }
  }
  s += "</svg>\n";
  write_text_atomic(path, s);
}

void write_heatmap_svg(const std::string& path, const std::vector<std::vector<double>>& values,
                       const std::vector<std::string>& row_names, const std::vector<std::string>& col_names,
                       const std::string& title) {
  const int rows = static_cast<int>(values.size()), cols = static_cast<int>(col_names.size());
  const int cell = 64, x0 = 110, y0 = 80;
  const int w = x0 + cols * cell + 20, h = y0 + rows * cell + 20;
  double lo = 0, hi = 0;
  for (const auto& r : values)
    for (double v : r)
      if (std::isfinite(v)) {
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
  const double span = std::max(hi - lo, 1e-12);
  std::string s = fmt::format(R"svg(<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" font-family="sans-serif" font-size="11">
<rect width="{}" height="{}" fill="white"/>
<text x="{}" y="20" text-anchor="middle" font-size="14">{}</text>
)svg",
                              w, h, w, h, w / 2, escape(title));
  for (int c = 0; c < cols; ++c)
    s += fmt::format(R"svg(<text x="{}" y="{}" text-anchor="middle">{}</text>
)svg",
                     x0 + c * cell + cell / 2, y0 - 8, escape(col_names[static_cast<std::size_t>(c)]));
  for (int r = 0; r < rows; ++r) {
    s += fmt::format(R"svg(<text x="{}" y="{}" text-anchor="end">{}</text>
)svg",
                     x0 - 6, y0 + r * cell + cell / 2 + 4, escape(row_names[static_cast<std::size_t>(r)]));
    for (int c = 0; c < cols; ++c) {
      const double v = values[static_cast<std::size_t>(r)][static_cast<std::size_t>(c)];
      const bool ok = std::isfinite(v);
      const double t = ok ? (v - lo) / span : 0;
      s += fmt::format(R"svg(<rect x="{}" y="{}" width="{}" height="{}" fill="{}" stroke="white"/><text x="{}" y="{}" text-anchor="middle" fill="{}">{}</text>
)svg",
                       x0 + c * cell, y0 + r * cell, cell, cell, ok ? blue(t) : "#ccc", x0 + c * cell + cell / 2, y0 + r * cell + cell / 2 + 4,
                       t > 0.5 ? "white" : "black", ok ? fmt::format("{:+.1f}", v) : "-");
    }
  }
  s += "</svg>\n";
  write_text_atomic(path, s);
}

}  // namespace cmt::app
