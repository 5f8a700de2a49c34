// Device memory of the emulated device (see memory.h). Each allocation sits at the end of its own
// mapping, 256-byte aligned as cudaMalloc's, so that its end is at most 255 poisoned bytes from a
// guard page: writes into the slack are found after each launch, anything further faults at once.
#include "emu/memory.h"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>

#include "emu/internal.h"
#include "emu/scheduler.h"

namespace cmt::emu {

namespace {

constexpr std::size_t kPage = 4096;
constexpr std::uint32_t kPoison = 0x7FA5A5A5u;
constexpr std::size_t kFrontCheck = 64;  // poisoned bytes checked before the start

struct Allocation {
  std::uintptr_t map = 0;
  std::size_t pages = 0;  // bytes of readable pages (the guard page follows)
  std::uintptr_t start = 0;
  std::size_t bytes = 0;
  bool live = true;
};

struct Memory {
  std::mutex mutex;
  std::map<std::uintptr_t, Allocation> by_map;  // all allocations ever made, live or freed
  std::set<void*> pinned;
  int depth = 0;  // nesting of execution windows
  bool guard_host = true;
};

Memory& mem() {
  static auto* m = [] {
    auto* x = new Memory;
    const char* env = std::getenv("CMT_EMU_HOST_GUARD");
    x->guard_host = !(env && std::strcmp(env, "0") == 0);
    return x;
  }();
  return *m;
}

void fill_poison(std::uintptr_t p, std::size_t n) {
  auto* b = reinterpret_cast<unsigned char*>(p);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<unsigned char>(kPoison >> (8 * ((p + i) % 4)));
}
bool is_poison(std::uintptr_t p, std::size_t n) {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  for (std::size_t i = 0; i < n; ++i)
    if (b[i] != static_cast<unsigned char>(kPoison >> (8 * ((p + i) % 4)))) return false;
  return true;
}

const Allocation* find_locked(Memory& m, std::uintptr_t a) {
  auto it = m.by_map.upper_bound(a);
  if (it == m.by_map.begin()) return nullptr;
  --it;
  const Allocation& x = it->second;
  return a < x.map + x.pages + kPage ? &x : nullptr;
}

void protect_locked(Memory& m, int prot) {
  if (!m.guard_host) return;
  for (auto& [k, a] : m.by_map)
    if (a.live) mprotect(reinterpret_cast<void*>(a.map), a.pages, prot);
}

}  // namespace

void* device_allocate(std::size_t bytes) {
  Memory& m = mem();
  const std::size_t rounded = (std::max<std::size_t>(bytes, 1) + 255) / 256 * 256;
  const std::size_t pages = (rounded + kFrontCheck + kPage - 1) / kPage * kPage;
  void* p = mmap(nullptr, pages + kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  const auto map = reinterpret_cast<std::uintptr_t>(p);
  mprotect(reinterpret_cast<void*>(map + pages), kPage, PROT_NONE);
  Allocation a{map, pages, map + pages - rounded, bytes, true};
  fill_poison(a.start - kFrontCheck, kFrontCheck);
  fill_poison(a.start, rounded);  // fresh device memory is garbage, not zeros
  std::lock_guard<std::mutex> lock(m.mutex);
  if (m.depth == 0 && m.guard_host) mprotect(p, pages, PROT_NONE);
  m.by_map[map] = a;
  return reinterpret_cast<void*>(a.start);
}

void device_free(void* p) {
  Memory& m = mem();
  std::lock_guard<std::mutex> lock(m.mutex);
  const Allocation* a = find_locked(m, reinterpret_cast<std::uintptr_t>(p));
  if (!a || a->start != reinterpret_cast<std::uintptr_t>(p)) fail_host("cudaFree(%p): not the start of a device allocation", p);
  if (!a->live) fail_host("cudaFree(%p): freed twice", p);
  auto& x = m.by_map[a->map];
  x.live = false;
  // The address range stays reserved and inaccessible: a later access (a graph replaying a freed
  // buffer) faults and is reported as a use after free.
  madvise(reinterpret_cast<void*>(x.map), x.pages, MADV_DONTNEED);
  mprotect(reinterpret_cast<void*>(x.map), x.pages, PROT_NONE);
}

bool is_device_start(const void* p) {
  Memory& m = mem();
  std::lock_guard<std::mutex> lock(m.mutex);
  const Allocation* a = find_locked(m, reinterpret_cast<std::uintptr_t>(p));
  return a && a->live && a->start == reinterpret_cast<std::uintptr_t>(p);
}

bool is_device_range(const void* p, std::size_t bytes) {
  Memory& m = mem();
  std::lock_guard<std::mutex> lock(m.mutex);
  const auto q = reinterpret_cast<std::uintptr_t>(p);
  const Allocation* a = find_locked(m, q);
  return a && a->live && q >= a->start && q + bytes <= a->start + a->bytes;
}

void require_device_range(const void* p, std::size_t bytes, const char* who, const char* what) {
  Memory& m = mem();
  std::unique_lock<std::mutex> lock(m.mutex);
  const auto q = reinterpret_cast<std::uintptr_t>(p);
  const Allocation* a = find_locked(m, q);
  if (a && a->live && q >= a->start && q + bytes <= a->start + a->bytes) return;
  lock.unlock();
  if (!a) fail_host("%s: %s (%p, %zu bytes) is not device memory (a host pointer?)", who, what, p, bytes);
  if (!a->live) fail_host("%s: %s (%p) points into freed device memory", who, what, p);
  fail_host("%s: %s [%p, +%zu bytes) runs outside its device allocation of %zu bytes at %p", who, what, p, bytes, a->bytes,
            reinterpret_cast<void*>(a->start));
}

void* pinned_allocate(std::size_t bytes) {
  void* p = std::aligned_alloc(4096, (std::max<std::size_t>(bytes, 1) + 4095) / 4096 * 4096);
  if (!p) return nullptr;
  Memory& m = mem();
  std::lock_guard<std::mutex> lock(m.mutex);
  m.pinned.insert(p);
  return p;
}

bool pinned_free(void* p) {
  Memory& m = mem();
  {
    std::lock_guard<std::mutex> lock(m.mutex);
    if (m.pinned.erase(p) == 0) return false;
  }
  std::free(p);
  return true;
}

bool is_pinned_host(const void* p) {
  Memory& m = mem();
  std::lock_guard<std::mutex> lock(m.mutex);
  return m.pinned.count(const_cast<void*>(p)) > 0;
}

void begin_execution() {
  Memory& m = mem();
  std::lock_guard<std::mutex> lock(m.mutex);
  if (m.depth++ == 0) protect_locked(m, PROT_READ | PROT_WRITE);
}

void end_execution() {
  Memory& m = mem();
  std::lock_guard<std::mutex> lock(m.mutex);
  if (--m.depth == 0) protect_locked(m, PROT_NONE);
}

bool executing() {
  Memory& m = mem();
  std::lock_guard<std::mutex> lock(m.mutex);
  return m.depth > 0;
}

void check_slack(const std::string& kernel) {
  Memory& m = mem();
  std::lock_guard<std::mutex> lock(m.mutex);
  for (const auto& [k, a] : m.by_map) {
    if (!a.live) continue;
    const std::uintptr_t end = a.start + a.bytes, rounded_end = a.map + a.pages;
    if (!is_poison(end, rounded_end - end))
      fail_host("kernel %s wrote past the end of a device allocation of %zu bytes at %p (into its padding)", kernel.c_str(), a.bytes,
                reinterpret_cast<void*>(a.start));
    if (!is_poison(a.start - kFrontCheck, kFrontCheck))
      fail_host("kernel %s wrote before the start of a device allocation of %zu bytes at %p", kernel.c_str(), a.bytes,
                reinterpret_cast<void*>(a.start));
  }
}

namespace {

void on_fault(int sig, siginfo_t* info, void*) {
  const auto a = reinterpret_cast<std::uintptr_t>(info->si_addr);
  Memory& m = mem();  // no lock: the process is ending
  const Allocation* x = find_locked(m, a);
  char msg[1024];
  const std::string at = where();
  if (x && !x->live) {
    std::snprintf(msg, sizeof msg, "cmt emulator: %s: access to freed device memory at %p (an allocation of %zu bytes at %p, freed)\n",
                  at.c_str(), info->si_addr, x->bytes, reinterpret_cast<void*>(x->start));
  } else if (x && a >= x->map + x->pages) {
    std::snprintf(msg, sizeof msg, "cmt emulator: %s: out-of-bounds access at %p, %zu bytes past the end of a device allocation of %zu bytes at %p\n",
                  at.c_str(), info->si_addr, static_cast<std::size_t>(a - (x->start + x->bytes)), x->bytes, reinterpret_cast<void*>(x->start));
  } else if (x && m.depth == 0) {
    std::snprintf(msg, sizeof msg, "cmt emulator: host access to device memory at %p (inside a device allocation of %zu bytes at %p): "
                  "device memory is not host memory; copy it with cudaMemcpy\n", info->si_addr, x->bytes, reinterpret_cast<void*>(x->start));
  } else if (x) {
    std::snprintf(msg, sizeof msg, "cmt emulator: %s: invalid access at %p near a device allocation of %zu bytes at %p\n", at.c_str(),
                  info->si_addr, x->bytes, reinterpret_cast<void*>(x->start));
  } else {
    std::snprintf(msg, sizeof msg, "cmt emulator: %s: %s at %p (not device memory; a stack overflow in a kernel, a bad pointer, or a host bug)\n",
                  at.c_str(), sig == SIGBUS ? "bus error" : "segmentation fault", info->si_addr);
  }
  if (write(2, msg, std::strlen(msg)) < 0) {
  }
  signal(SIGABRT, SIG_DFL);
  std::abort();
}

}  // namespace

void install_fault_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    static char altstack[64 * 1024];
    stack_t ss{};
    ss.ss_sp = altstack;
    ss.ss_size = sizeof altstack;
    sigaltstack(&ss, nullptr);
    struct sigaction sa{};
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, nullptr);
    sigaction(SIGBUS, &sa, nullptr);
  });
}

}  // namespace cmt::emu
