// The block scheduler: every CUDA thread of a block is a fiber (Boost.Context); a fiber runs until
// it exits or waits at a barrier or warp collective. Barriers and collectives are checked strictly:
// a barrier reached at different places, a collective naming an exited or absent lane, or a block
// where nobody can move, stops the process with the kernel, block and thread.
#include "emu/scheduler.h"

#include <sys/mman.h>

#include <boost/context/detail/fcontext.hpp>
#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "emu/counters.h"
#include "emu/internal.h"
#include "emu/sanitizer.h"

namespace cmt::emu {

namespace ctx = boost::context::detail;

thread_local Thread* tl_thread = nullptr;

namespace {

constexpr std::size_t kStackBytes = 256 * 1024;
constexpr std::size_t kPage = 4096;
constexpr std::size_t kMaxShared = 227 * 1024;    // opt-in shared memory per block on an H100
constexpr std::size_t kStaticShared = 48 * 1024;  // static shared memory per block
constexpr std::size_t kCanary = 64;               // poisoned gap after each shared region
constexpr std::size_t kMaxStaticArrays = 64;      // shared array declarations per kernel
constexpr std::uint32_t kPoison = 0x7FA5A5A5u;    // a signalling NaN, as float and as bf16 pair

enum class State { ready, barrier, collective, done };

struct Fiber {
  void* stack = nullptr;  // mapping: guard page, then the stack
  ctx::fcontext_t context = nullptr;
  void* tsan = nullptr;
  Thread* thread = nullptr;
  State state = State::ready;
  // at a barrier
  const char* file = nullptr;
  int line = 0;
  BarrierOp op = BarrierOp::sync;
  int value = 0, result = 0;
  // in a collective
  unsigned mask = 0;
  const char* what = nullptr;
  const void* mine = nullptr;
  void* out = nullptr;
  std::size_t bytes = 0;
};

struct Collective {
  bool active = false;
  unsigned mask = 0, arrived = 0;
  const char* what = nullptr;
  std::size_t bytes = 0;
  int warp = 0;
};

// Copies without memcpy: ThreadSanitizer intercepts memcpy even here, and the values a collective
// hands over are not memory accesses of the lanes.
void copy_bytes(void* dst, const void* src, std::size_t n) {
  auto* d = static_cast<volatile unsigned char*>(dst);
  const auto* s = static_cast<const volatile unsigned char*>(src);
  for (std::size_t i = 0; i < n; ++i) d[i] = s[i];
}

void poison(void* p, std::size_t bytes) {
  auto* b = static_cast<unsigned char*>(p);
  for (std::size_t i = 0; i < bytes; ++i) b[i] = static_cast<unsigned char>(kPoison >> (8 * (i % 4)));
}
bool poisoned(const void* p, std::size_t bytes) {
  const auto* b = static_cast<const unsigned char*>(p);
  for (std::size_t i = 0; i < bytes; ++i)
    if (b[i] != static_cast<unsigned char>(kPoison >> (8 * (i % 4)))) return false;
  return true;
}

void fiber_main(ctx::transfer_t t);

// Everything one host thread needs to run blocks: fibers, the shared-memory arena, the scheduler's
// own context while a fiber runs.
struct Worker {
  std::vector<Fiber*> fibers;
  std::vector<Thread> threads;
  ctx::fcontext_t scheduler = nullptr;
  void* host_tsan = nullptr;
  Fiber* fiber(std::size_t i) {
    while (fibers.size() <= i) {
      auto* f = new Fiber;
      void* m = mmap(nullptr, kStackBytes + kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
      if (m == MAP_FAILED) fail_host("cannot map a fiber stack");
      mprotect(m, kPage, PROT_NONE);  // stack overflow hits the guard
      f->stack = m;
      f->context = ctx::make_fcontext(static_cast<unsigned char*>(m) + kPage + kStackBytes, kStackBytes, fiber_main);
      f->tsan = sanitizer::create_fiber();
      fibers.push_back(f);
    }
    return fibers[i];
  }
};

thread_local Worker* tl_worker = nullptr;
Worker& worker() {
  if (!tl_worker) tl_worker = new Worker;  // lives as long as the host thread's process
  return *tl_worker;
}

std::size_t shared_mapping_bytes(std::size_t bytes) { return (bytes + kCanary + kPage - 1) / kPage * kPage; }

// The block being run on this host thread.
struct BlockRun {
  Launch* launch = nullptr;
  int nthreads = 0;
  std::vector<Fiber*> fibers;
  // Pending collectives. Emulator bookkeeping never allocates while a fiber runs: ThreadSanitizer
  // would charge the allocation to that emulated thread. Hence the reserved capacity.
  std::vector<Collective> collectives;
  std::vector<int> warp_sync;
  int live = 0;
  int at_barrier = 0;
  // Shared memory: a fresh heap block per array and block, so that ThreadSanitizer forgets the
  // accesses of earlier blocks to the same addresses.
  struct SharedArray {
    int sync;  // released after the mapping is made, acquired by each thread that uses it
    unsigned char* data;
    std::size_t bytes;
    const char* file;
    int line;
  };
  std::vector<SharedArray> statics;
  std::size_t static_bytes = 0;
  unsigned char* dynamic = nullptr;
  int dynamic_sync = 0;
  // Barrier edges: arrivals release, resumed threads acquire. Two objects used in turn by barrier
  // generation: a thread resumed late from barrier g cannot see releases of the phase after g+1.
  std::unique_ptr<int[]> barrier_sync = std::make_unique<int[]>(2);
  unsigned barrier_gen = 0;
  ~BlockRun() {
    for (SharedArray& a : statics) munmap(a.data, shared_mapping_bytes(a.bytes));
    if (dynamic) munmap(dynamic, shared_mapping_bytes(launch->spec.smem));
  }
};

thread_local BlockRun* tl_block = nullptr;

// A fresh mapping per shared array and block: unmapping makes ThreadSanitizer forget the accesses
// of earlier blocks to the same addresses (a free would be checked against them). It is made in
// the scheduler's name, and the declaring fiber is ordered after it.
unsigned char* shared_block(std::size_t bytes, int* sync);

unsigned char* shared_block(std::size_t bytes, int* sync) {
  Worker& w = worker();
  Fiber* f = tl_block && tl_thread ? tl_block->fibers[static_cast<std::size_t>(tl_thread->linear)] : nullptr;
  if (f) sanitizer::switch_to(w.host_tsan);
  void* p = mmap(nullptr, shared_mapping_bytes(bytes), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) fail_host("cannot map %zu bytes of shared memory", bytes);
  sanitizer::release(sync);  // every thread using the array acquires it
  if (f) sanitizer::switch_to(f->tsan);
  return static_cast<unsigned char*>(p);
}

// Switches from a fiber back to the scheduler.
void yield_to_scheduler() {
  Worker& w = worker();
  sanitizer::switch_to(w.host_tsan);
  ctx::transfer_t t = ctx::jump_fcontext(w.scheduler, nullptr);
  w.scheduler = t.fctx;
}

void fiber_main(ctx::transfer_t t) {
  Fiber* f = static_cast<Fiber*>(t.data);
  worker().scheduler = t.fctx;
  for (;;) {
    sanitizer::acquire(&f->thread->launch->seq);  // after the host's work before the launch
    f->thread->launch->body();
    f->thread->cp_open.clear();  // copies never waited for are dropped, by the fiber that made them
    f->thread->cp_groups.clear();
    sanitizer::release(f->thread->launch);  // the launcher acquires at the end
    f->state = State::done;
    yield_to_scheduler();
  }
}

void resume(Fiber* f) {
  Worker& w = worker();
  tl_thread = f->thread;
  sanitizer::switch_to(f->tsan);
  ctx::transfer_t t = ctx::jump_fcontext(f->context, f);
  f->context = t.fctx;
  tl_thread = nullptr;
  (void)w;
}

Fiber* current_fiber() {
  BlockRun* b = tl_block;
  if (!b || !tl_thread) fail_host("a device-side call outside a kernel");
  return b->fibers[static_cast<std::size_t>(tl_thread->linear)];
}

std::string thread_name(const BlockRun& b, int i) {
  const Thread& t = *b.fibers[static_cast<std::size_t>(i)]->thread;
  char s[96];
  std::snprintf(s, sizeof s, "thread (%u,%u,%u)", t.thread_idx.x, t.thread_idx.y, t.thread_idx.z);
  return s;
}

[[noreturn]] void deadlock(BlockRun& b) {
  std::string detail;
  int shown = 0;
  for (int i = 0; i < b.nthreads && shown < 6; ++i) {
    const Fiber* f = b.fibers[static_cast<std::size_t>(i)];
    if (f->state == State::barrier) {
      detail += "\n  " + thread_name(b, i) + " waits at __syncthreads (" + f->file + ":" + std::to_string(f->line) + ")";
      ++shown;
    } else if (f->state == State::collective) {
      char m[16];
      std::snprintf(m, sizeof m, "0x%08x", f->mask);
      detail += "\n  " + thread_name(b, i) + " waits in " + f->what + " with mask " + m;
      ++shown;
    }
  }
  tl_thread = nullptr;
  fail_host("kernel %s block (%u,%u,%u): deadlock: no thread can move (a barrier or warp collective that some "
            "live threads never reach)%s",
            b.launch->name.c_str(), b.fibers[0]->thread->block_idx.x, b.fibers[0]->thread->block_idx.y,
            b.fibers[0]->thread->block_idx.z, detail.c_str());
}

void release_barrier(BlockRun& b) {
  const Fiber* first = nullptr;
  int count = 0, all = 1, any = 0;
  for (Fiber* f : b.fibers) {
    if (f->state != State::barrier) continue;
    if (!first) first = f;
    if (f->line != first->line || std::strcmp(f->file, first->file) != 0 || f->op != first->op) {
      tl_thread = f->thread;
      fail("divergent barrier: this thread waits at %s:%d while %s waits at %s:%d", f->file, f->line,
           thread_name(b, first->thread->linear).c_str(), first->file, first->line);
    }
    count += f->value;
    all &= f->value;
    any |= f->value;
  }
  const int result = first->op == BarrierOp::count ? count : first->op == BarrierOp::and_ ? all : any;
  for (Fiber* f : b.fibers)
    if (f->state == State::barrier) f->state = State::ready, f->result = result;
  b.at_barrier = 0;
  ++b.barrier_gen;
}

void check_shared_canaries(BlockRun& b) {
  for (const auto& a : b.statics)
    if (!poisoned(a.data + a.bytes, kCanary)) {
      tl_thread = nullptr;
      fail_host("kernel %s block (%u,%u,%u): a write past the end of the shared array of %zu bytes declared at %s:%d",
                b.launch->name.c_str(), b.fibers[0]->thread->block_idx.x, b.fibers[0]->thread->block_idx.y, b.fibers[0]->thread->block_idx.z,
                a.bytes, a.file, a.line);
    }
  if (b.launch->spec.smem > 0 && !poisoned(b.dynamic + b.launch->spec.smem, kCanary)) {
    tl_thread = nullptr;
    fail_host("kernel %s block (%u,%u,%u): a write past the end of the %zu bytes of dynamic shared memory",
              b.launch->name.c_str(), b.fibers[0]->thread->block_idx.x, b.fibers[0]->thread->block_idx.y,
              b.fibers[0]->thread->block_idx.z, b.launch->spec.smem);
  }
}

void run_block(Launch& L, uint3 bidx, std::mt19937& rng) {
  Worker& w = worker();
  const dim3 bd = L.spec.block;
  (void)kMaxShared;
  BlockRun b;
  b.launch = &L;
  b.nthreads = static_cast<int>(bd.x * bd.y * bd.z);
  b.live = b.nthreads;
  b.fibers.resize(static_cast<std::size_t>(b.nthreads));

  if (L.spec.smem > 0) {
    b.dynamic = shared_block(L.spec.smem, &b.dynamic_sync);
    poison(b.dynamic, L.spec.smem + kCanary);
  }
  b.collectives.reserve(static_cast<std::size_t>(b.nthreads));  // at most one pending per lane
  b.statics.reserve(kMaxStaticArrays);  // shared_static runs in a fiber: it must not allocate
  b.warp_sync.assign(static_cast<std::size_t>((b.nthreads + 31) / 32), 0);
  for (int i = 0; i < b.nthreads; ++i) {
    Thread& t = w.threads[static_cast<std::size_t>(i)];
    // Fields one by one: the cp.async containers belong to fiber i (it allocated them).
    t.thread_idx = {static_cast<unsigned>(i) % bd.x, (static_cast<unsigned>(i) / bd.x) % bd.y, static_cast<unsigned>(i) / (bd.x * bd.y)};
    t.block_idx = bidx;
    t.block_dim = bd;
    t.grid_dim = L.spec.grid;
    t.linear = i;
    t.lane = i % 32;
    t.warp = i / 32;
    t.block = reinterpret_cast<Block*>(&b);
    t.launch = &L;
    Fiber* f = w.fiber(static_cast<std::size_t>(i));
    f->thread = &t;
    f->state = State::ready;
    b.fibers[static_cast<std::size_t>(i)] = f;
  }
  tl_block = &b;
  std::vector<int> ready(static_cast<std::size_t>(b.nthreads));
  for (int i = 0; i < b.nthreads; ++i) ready[static_cast<std::size_t>(i)] = i;
  for (;;) {
    // A random order per round: a missing barrier or event shows as wrong data, not luck.
    std::shuffle(ready.begin(), ready.end(), rng);
    for (int i : ready) {
      Fiber* f = b.fibers[static_cast<std::size_t>(i)];
      if (f->state != State::ready) continue;
      resume(f);
      if (f->state == State::done) {
        --b.live;
        // A lane leaving while its warp waits for it in a collective can never be met.
        for (const Collective& c : b.collectives)
          if (c.active && c.warp == f->thread->warp && ((c.mask >> f->thread->lane) & 1u)) {
            tl_thread = f->thread;
            fail("this lane exited while lanes of its warp wait for it in %s (mask 0x%08x)", c.what, c.mask);
          }
      }
    }
    ready.clear();
    for (int i = 0; i < b.nthreads; ++i)
      if (b.fibers[static_cast<std::size_t>(i)]->state == State::ready) ready.push_back(i);
    if (!ready.empty()) continue;
    if (b.live == 0) break;
    if (b.at_barrier == b.live) {
      release_barrier(b);
      for (int i = 0; i < b.nthreads; ++i)
        if (b.fibers[static_cast<std::size_t>(i)]->state == State::ready) ready.push_back(i);
      continue;
    }
    deadlock(b);
  }
  check_shared_canaries(b);
  tl_block = nullptr;
}

}  // namespace

Thread& current() {
  if (!tl_thread) fail_host("a device-side call outside a kernel");
  return *tl_thread;
}

std::string where() {
  if (!tl_thread || !tl_thread->launch) return "host";
  const Thread& t = *tl_thread;
  char s[512];
  std::snprintf(s, sizeof s, "kernel %s block (%u,%u,%u) thread (%u,%u,%u)", t.launch->name.c_str(), t.block_idx.x, t.block_idx.y,
                t.block_idx.z, t.thread_idx.x, t.thread_idx.y, t.thread_idx.z);
  return s;
}

void fail(const char* fmt, ...) {
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  std::fprintf(stderr, "cmt emulator: %s: %s\n", where().c_str(), msg);
  std::fflush(stderr);
  std::abort();
}

int block_barrier(BarrierOp op, int value, const char* file, int line) {
  Fiber* f = current_fiber();
  BlockRun& b = *tl_block;
  f->state = State::barrier;
  f->file = file;
  f->line = line;
  f->op = op;
  f->value = value;
  ++b.at_barrier;
  int* edge = &b.barrier_sync[b.barrier_gen % 2];
  sanitizer::release(edge);
  yield_to_scheduler();
  sanitizer::acquire(edge);
  return f->result;
}

namespace {
void meet(unsigned mask, const void* mine, std::size_t bytes, void* out, const char* what, WarpCombine combine);
}

void warp_collective(unsigned mask, const void* mine, std::size_t bytes, void* out, const char* what) {
  meet(mask, mine, bytes, out, what, nullptr);
}

void warp_combine(unsigned mask, const void* mine, std::size_t bytes, void* out, const char* what, WarpCombine combine) {
  meet(mask, mine, bytes, out, what, combine);
}

namespace {
void meet(unsigned mask, const void* mine, std::size_t bytes, void* out, const char* what, WarpCombine combine) {
  Fiber* f = current_fiber();
  BlockRun& b = *tl_block;
  Thread& t = *f->thread;
  if (!((mask >> t.lane) & 1u)) fail("%s with mask 0x%08x, which does not name the calling lane %d", what, mask, t.lane);
  for (int l = 0; l < 32; ++l) {
    if (!((mask >> l) & 1u)) continue;
    const int i = t.warp * 32 + l;
    if (i >= b.nthreads) fail("%s with mask 0x%08x names lane %d, which does not exist in this block", what, mask, l);
    if (b.fibers[static_cast<std::size_t>(i)]->state == State::done)
      fail("%s with mask 0x%08x names lane %d, which has exited", what, mask, l);
  }
  Collective* c = nullptr;
  for (Collective& x : b.collectives)
    if (x.active && x.warp == t.warp && ((x.mask >> t.lane) & 1u)) c = &x;
  if (c && c->mask != mask) fail("%s with mask 0x%08x while other lanes of this warp wait in %s with mask 0x%08x", what, mask, c->what, c->mask);
  if (c && (std::strcmp(c->what, what) != 0 || c->bytes != bytes))
    fail("lanes of one warp in different collectives: %s here, %s in the others", what, c->what);
  if (!c) {
    // Slots are reused in place: moving elements would call memmove, which ThreadSanitizer checks.
    for (Collective& x : b.collectives)
      if (!x.active) c = &x;
    if (!c) {
      b.collectives.push_back({});  // within the reserved capacity
      c = &b.collectives.back();
    }
    c->active = true, c->mask = mask, c->arrived = 0, c->what = what, c->bytes = bytes, c->warp = t.warp;
  }
  f->mask = mask;
  f->what = what;
  f->mine = mine;
  f->out = out;
  f->bytes = bytes;
  c->arrived |= 1u << t.lane;
  // __syncwarp orders memory among its lanes (shuffles do not).
  const bool is_syncwarp = bytes == 0;
  int* sync = &b.warp_sync[static_cast<std::size_t>(t.warp)];
  if (is_syncwarp) sanitizer::release(sync);
  if (c->arrived != mask) {
    f->state = State::collective;
    yield_to_scheduler();
  } else {
    // The last lane in: hand every lane the values of all lanes (or combine them once), and wake them.
    if (combine) {
      const void* ins[32] = {};
      void* outs[32] = {};
      for (int l = 0; l < 32; ++l)
        if ((mask >> l) & 1u) {
          const Fiber* g = b.fibers[static_cast<std::size_t>(t.warp * 32 + l)];
          ins[l] = g->mine;
          outs[l] = g->out;
        }
      combine(ins, outs);
    }
    for (int l = 0; l < 32; ++l) {
      if (!((mask >> l) & 1u)) continue;
      Fiber* g = b.fibers[static_cast<std::size_t>(t.warp * 32 + l)];
      if (bytes > 0 && !combine)
        for (int s = 0; s < 32; ++s)
          if ((mask >> s) & 1u)
            copy_bytes(static_cast<unsigned char*>(g->out) + static_cast<std::size_t>(s) * bytes,
                       b.fibers[static_cast<std::size_t>(t.warp * 32 + s)]->mine, bytes);
      if (g != f) g->state = State::ready;
    }
    c->active = false;
  }
  if (is_syncwarp) sanitizer::acquire(sync);
}

}  // namespace

void* shared_static(std::size_t bytes, std::size_t align, const char* file, int line) {
  current();
  BlockRun& b = *tl_block;
  for (const BlockRun::SharedArray& a : b.statics)
    if (a.line == line && (a.file == file || std::strcmp(a.file, file) == 0)) {
      if (a.bytes != bytes) fail("the shared array declared at %s:%d has %zu bytes here, %zu in another thread", file, line, bytes, a.bytes);
      sanitizer::acquire(const_cast<int*>(&a.sync));
      return a.data;
    }
  b.static_bytes += bytes;
  if (b.static_bytes > kStaticShared)
    fail("%zu bytes of static shared memory, more than the %zu a block may declare", b.static_bytes, kStaticShared);
  if (b.static_bytes + b.launch->spec.smem > kMaxShared)
    fail("%zu bytes of shared memory (static + dynamic), more than the %zu of an H100 block", b.static_bytes + b.launch->spec.smem, kMaxShared);
  if (align > 128) fail("shared array aligned to %zu bytes: more than the emulator's 128", align);
  if (b.statics.size() == kMaxStaticArrays) fail("more than %zu shared arrays declared in one kernel", kMaxStaticArrays);
  b.statics.push_back({0, nullptr, bytes, file, line});  // within the reserved capacity
  BlockRun::SharedArray& a = b.statics.back();
  unsigned char* p = a.data = shared_block(bytes, &a.sync);
  poison(p, bytes + kCanary);
  sanitizer::acquire(&a.sync);
  count_shared_bytes(bytes);
  return p;
}

void* shared_dynamic() {
  current();
  BlockRun& b = *tl_block;
  if (b.launch->spec.smem == 0) fail("dynamic shared memory used by a kernel launched with 0 bytes of it");
  sanitizer::acquire(&b.dynamic_sync);
  return b.dynamic;
}

void run_launch(Launch& L) {
  Worker& w = worker();
  if (!w.host_tsan) w.host_tsan = sanitizer::current_fiber();
  std::mt19937 rng(static_cast<unsigned>(L.seq * 2654435761u + 17u));
  // Kernels read their Thread (indices): its storage must exist before the edge to the launch.
  const std::size_t block_threads = std::size_t{L.spec.block.x} * L.spec.block.y * L.spec.block.z;
  if (w.threads.size() < block_threads) w.threads.resize(block_threads);
  sanitizer::release(&L.seq);  // the launch is ordered after the host's earlier work (copies)
  const dim3 g = L.spec.grid;
  for (unsigned z = 0; z < g.z; ++z)
    for (unsigned y = 0; y < g.y; ++y)
      for (unsigned x = 0; x < g.x; ++x) run_block(L, {x, y, z}, rng);
  sanitizer::acquire(&L);
}

}  // namespace cmt::emu

// ThreadSanitizer calls this after each report: name the emulated thread that raced (its fiber is
// the current one when the report is made).
extern "C" void __sanitizer_report_error_summary(const char* summary) {
  std::fprintf(stderr, "%s\ncmt emulator: the report above was raised in %s\n", summary, cmt::emu::where().c_str());
}
