// Benchmark timing: CUDA events on the device (L2 flushed between runs), steady_clock on the host,
// medians over many runs, and a small JSON report.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/context.h"
#include "engine/runtime_info.h"

namespace cmt::bench {

struct Timing {
  double median_ms = 0, min_ms = 0, p90_ms = 0, max_ms = 0;
  int runs = 0;
};

// Times `fn` on the host (CPU backend): warm-up, then `runs` measured calls.
Timing time_host(const std::function<void()>& fn, int warmup = 2, int runs = 10);

// Times `fn` on ctx's compute stream with CUDA events; flushes L2 before each run.
Timing time_device(Context& ctx, const std::function<void()>& fn, int warmup = 3, int runs = 20);

// Where results go: $OUT/<name>.json when OUT is set, else ./bench-results/<name>.json.
std::string result_path(const std::string& name);

// The report every benchmark writes: machine, versions, then its own rows.
nlohmann::json report_header(Context& ctx, const std::string& bench_name);
void write_report(const nlohmann::json& report, const std::string& name);

}  // namespace cmt::bench
