// Per-kernel counters of the emulated device: launches, threads, shared memory, tensor-core work and
// the memory requests the emulator sees a warp make at once (cp.async, ldmatrix).
#pragma once
#include <cstdint>
#include <map>
#include <string>

namespace cmt::emu {

struct KernelCounters {
  std::uint64_t launches = 0, blocks = 0, threads = 0;
  std::uint64_t shared_bytes = 0;      // static shared memory declared, summed over blocks
  std::uint64_t mma = 0, mma_flops = 0;  // warp-level mma.sync instructions and their FLOPs
  std::uint64_t async_requests = 0, async_sectors = 0;    // warp-wide cp.async: global 32-byte sectors
  std::uint64_t async_bytes = 0;  // of them, the bytes the lanes asked for (src-size)
  std::uint64_t shared_requests = 0, shared_wavefronts = 0;  // warp-wide shared accesses (ldmatrix, cp.async dst)
};

void count_launch(const std::string& kernel, std::uint64_t blocks, std::uint64_t threads);
void count_shared_bytes(std::uint64_t bytes);
// A warp-wide request of the running kernel: sectors (global) or wavefronts (shared) it needs.
void count_async_request(std::uint64_t sectors);
void count_shared_request(std::uint64_t wavefronts);
// Adds delta's request counters to the running kernel's (emu/access.cpp builds requests lane by lane).
void count_requests(const KernelCounters& delta);

// Every kernel launched so far in this process, by demangled name.
std::map<std::string, KernelCounters> kernel_counters();
// Writes the counters table to stderr (or the file named by CMT_EMU_COUNTERS) at exit when asked.
void report_counters(const char* path);
// With CMT_EMU_COVERAGE_DIR set, appends the launched kernels' names to <dir>/<pid>.txt at exit
// (emu/coverage.cpp); count_launch arms it.
void record_coverage_at_exit();

}  // namespace cmt::emu
