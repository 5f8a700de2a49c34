// Per-kernel counters of the emulated device (see counters.h).
#include "emu/counters.h"

#include <cuda_runtime.h>

#include <cstdio>
#include <mutex>
#include <regex>

#include "emu/sanitizer.h"
#include "emu/scheduler.h"

namespace cmt::emu {

namespace {
std::mutex& mutex() {
  static std::mutex m;
  return m;
}
std::map<std::string, KernelCounters>& table() {
  static auto* t = new std::map<std::string, KernelCounters>;
  return *t;
}
KernelCounters& running() {
  // Called from inside a kernel: the running launch names the row.
  return table()[current().launch->name];
}
// Without namespaces and return type, what tells kernels apart (template arguments) fits the column.
std::string shown_name(const std::string& name) {
  static const std::regex qualifier(R"((\(anonymous namespace\)|[A-Za-z_]\w*)::)");
  std::string s = std::regex_replace(name.rfind("void ", 0) == 0 ? name.substr(5) : name, qualifier, "");
  return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}
}  // namespace

void count_launch(const std::string& kernel, std::uint64_t blocks, std::uint64_t threads) {
  std::lock_guard<std::mutex> lock(mutex());
  record_coverage_at_exit();
  KernelCounters& c = table()[kernel];
  ++c.launches;
  c.blocks += blocks;
  c.threads += threads;
}
void count_shared_bytes(std::uint64_t bytes) {
  sanitizer::Quiet quiet;  // called from kernel threads
  std::lock_guard<std::mutex> lock(mutex());
  running().shared_bytes += bytes;
}
void count_mma(std::uint64_t flops) {
  sanitizer::Quiet quiet;  // called from kernel threads
  std::lock_guard<std::mutex> lock(mutex());
  KernelCounters& c = running();
  ++c.mma;
  c.mma_flops += flops;
}
void count_async_request(std::uint64_t sectors) {
  sanitizer::Quiet quiet;  // called from kernel threads
  std::lock_guard<std::mutex> lock(mutex());
  KernelCounters& c = running();
  ++c.async_requests;
  c.async_sectors += sectors;
}
void count_shared_request(std::uint64_t wavefronts) {
  sanitizer::Quiet quiet;  // called from kernel threads
  std::lock_guard<std::mutex> lock(mutex());
  KernelCounters& c = running();
  ++c.shared_requests;
  c.shared_wavefronts += wavefronts;
}

void count_requests(const KernelCounters& delta) {
  std::lock_guard<std::mutex> lock(mutex());
  KernelCounters& c = running();
  c.async_requests += delta.async_requests;
  c.async_sectors += delta.async_sectors;
  c.async_bytes += delta.async_bytes;
  c.shared_requests += delta.shared_requests;
  c.shared_wavefronts += delta.shared_wavefronts;
}

std::map<std::string, KernelCounters> kernel_counters() {
  std::lock_guard<std::mutex> lock(mutex());
  return table();
}

void report_counters(const char* path) {
  const auto t = kernel_counters();
  FILE* f = path && *path ? std::fopen(path, "w") : stderr;
  if (!f) return;
  std::fprintf(f, "%-60s %8s %10s %12s %10s %12s %10s %10s %12s\n", "kernel (emulated device)", "launches", "blocks", "threads", "mma",
               "sectors/req", "sector use", "shm req", "wavefr/req");
  for (const auto& [name, c] : t) {
    const std::string shown = shown_name(name);
    // sector use: the share of the fetched sectors' bytes the lanes asked for (100%: coalesced).
    std::fprintf(f, "%-60s %8llu %10llu %12llu %10llu %12.2f %9.0f%% %10llu %12.2f\n", shown.c_str(), (unsigned long long)c.launches,
                 (unsigned long long)c.blocks, (unsigned long long)c.threads, (unsigned long long)c.mma,
                 c.async_requests ? double(c.async_sectors) / double(c.async_requests) : 0.0,
                 c.async_sectors ? 100.0 * double(c.async_bytes) / (32.0 * double(c.async_sectors)) : 0.0, (unsigned long long)c.shared_requests,
                 c.shared_requests ? double(c.shared_wavefronts) / double(c.shared_requests) : 0.0);
  }
  if (f != stderr) std::fclose(f);
}

}  // namespace cmt::emu
