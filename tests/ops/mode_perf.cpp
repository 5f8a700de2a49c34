// Timing mode: the median of several runs of each case on the CPU and on each device backend that
// can run here (after one warm-up run; the device synchronised around each). Speed is reported,
// never asserted.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>

#include "ops/compare.h"
#include "ops/modes.h"

namespace cmt::opcase {

namespace {

double median_ms(const OpCase& c, const Backend& b, const Tensors& in, int repeats) {
  Context ctx(b.device, c.precision);
  const Tensors on_device = copy_to(in, b.device);
  b.enter();
  std::vector<double> ms;
  for (int r = 0; r <= repeats; ++r) {
    ctx.synchronize();
    const auto t0 = std::chrono::steady_clock::now();
    c.run(ctx, on_device);
    ctx.synchronize();
    if (r > 0) ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  b.leave();
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

int time_cases(const std::string& filter, int repeats, const std::string& json_path) {
  nlohmann::json rows = nlohmann::json::array();
  Backend cpu{"cpu", Device::cpu(), {}, false, [] { return std::string(); }, [] {}, [] {}};
  std::printf("%-60s %-6s %10s\n", "case", "on", "median ms");
  for (const OpCase& c : table()) {
    if (!filter.empty() && c.id().find(filter) == std::string::npos) continue;
    std::mt19937_64 gen(case_seed(c.id()));
    const Tensors in = c.inputs(gen);
    std::vector<const Backend*> on{&cpu};
    for (const Backend& b : backends())
      if (b.name != "cpu" && b.covers(c) && b.unavailable().empty()) on.push_back(&b);
    for (const Backend* b : on) {
      const double ms = median_ms(c, *b, in, repeats);
      std::printf("%-60s %-6s %10.3f\n", c.id().c_str(), b->name.c_str(), ms);
      rows.push_back({{"case", c.id()}, {"backend", b->name}, {"median_ms", ms}, {"repeats", repeats}});
    }
  }
  if (!json_path.empty()) {
    std::ofstream f(json_path);
    f << rows.dump(1) << "\n";
    CMT_CHECK(f.good(), "cannot write " << json_path);
  }
  return rows.empty() ? 1 : 0;
}

}  // namespace cmt::opcase
