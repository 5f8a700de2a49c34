// The kernel-side language of the emulated device: CUDA's qualifiers, thread indices, barriers,
// warp collectives, atomics and intrinsics as host C++, plus the launch entry point. Kernels see
// this through emu/include/cuda_runtime.h; each kernel thread runs as a fiber (emu/scheduler.cpp).
#pragma once
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__
#define __launch_bounds__(...)
#define __align__(n) alignas(n)

namespace cmt::emu {

struct Block;
struct Launch;

// One cp.async copy in flight: its bytes were read at issue, they land in shared memory at the
// wait_group that retires their group.
struct PendingCopy {
  void* dst;
  int bytes;
  unsigned char data[16];
};

// The state of one emulated CUDA thread (one fiber).
struct Thread {
  uint3 thread_idx{}, block_idx{};
  dim3 block_dim, grid_dim;
  int linear = 0;  // index within the block, x fastest
  int lane = 0, warp = 0;
  Block* block = nullptr;
  Launch* launch = nullptr;
  std::vector<PendingCopy> cp_open;                // issued since the last commit_group
  std::deque<std::vector<PendingCopy>> cp_groups;  // committed, not yet retired (oldest first)
};

extern thread_local Thread* tl_thread;

// The current kernel thread; a clear failure when called outside a kernel.
Thread& current();
// Stops the process with "cmt emulator: <kernel> block (..) thread (..): <message>".
[[noreturn]] void fail(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// ---- barriers and warp collectives (emu/scheduler.cpp)
enum class BarrierOp { sync, count, and_, or_ };
int block_barrier(BarrierOp op, int value, const char* file, int line);
// Every lane in mask posts `bytes` of its own value; returns when all have posted, with all 32
// lanes' values in out[lane * bytes] (lanes outside the mask left untouched). The calling lane
// must be in the mask, and every lane named must be alive and reach the same collective.
void warp_collective(unsigned mask, const void* mine, std::size_t bytes, void* out, const char* what);
// The same meeting, but the last lane in calls combine once with every lane's input and output
// (nullptr for lanes outside the mask): for warp-wide work (shuffles, mma) without 32 copies.
using WarpCombine = void (*)(const void* const* in, void* const* out);
void warp_combine(unsigned mask, const void* mine, std::size_t bytes, void* out, const char* what, WarpCombine combine);

// ---- shared memory (one arena per block, filled with a signalling-NaN pattern at block start)
// The block's array declared at file:line (one per declaration site, as a CUDA __shared__ variable).
void* shared_static(std::size_t bytes, std::size_t align, const char* file, int line);
void* shared_dynamic();
template <class T>
T* shared_array(const char* file, int line) { return static_cast<T*>(shared_static(sizeof(T), alignof(T), file, line)); }

// ---- launches (emu/launch.cpp)
struct LaunchSpec {
  const void* kernel;
  dim3 grid, block;
  std::size_t smem;
  cudaStream_t stream;
};
// Validates the launch configuration (the H100's limits) and queues it on the stream.
void submit_launch(const LaunchSpec& spec, std::function<void()> body);

template <class... P, class... A>
void launch(void (*kernel)(P...), dim3 grid, dim3 block, std::size_t smem, cudaStream_t stream, A&&... args) {
  static_assert(sizeof...(P) == sizeof...(A), "kernel launched with the wrong number of arguments");
  auto bound = std::make_shared<std::tuple<std::decay_t<P>...>>(std::forward<A>(args)...);
  submit_launch({reinterpret_cast<const void*>(kernel), grid, block, smem, stream},
                [kernel, bound] { std::apply(kernel, *bound); });
}

// ---- PTX instructions (emu/ptx.cpp), written from the PTX ISA's fragment tables
// mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 (a: 4 regs, b: 2 regs, c/d: 4 floats per lane)
void mma_m16n8k8_tf32(float (&d)[4], const std::uint32_t (&a)[4], const std::uint32_t (&b)[2], const float (&c)[4]);
// mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 (a: 4 regs of bf16 pairs, b: 2 regs)
void mma_m16n8k16_bf16(float (&d)[4], const std::uint32_t (&a)[4], const std::uint32_t (&b)[2], const float (&c)[4]);
// ldmatrix.sync.aligned.m8n8.x{1,2,4}[.trans].shared.b16: lane l supplies the row address for
// matrix l / 8, row l % 8; each lane receives count registers.
void ldmatrix(std::uint32_t* regs, int count, bool trans, const void* row_address);
// cp.async.cg.shared.global 16 bytes; src_bytes 0 reads nothing and zero-fills.
void cp_async16(void* smem, const void* gmem, int src_bytes);
void cp_async_commit();
void cp_async_wait(int pending_groups_allowed);
// cvt.rna.tf32.f32: round to nearest, ties away from zero, to 10 mantissa bits.
std::uint32_t cvt_rna_tf32(float v);

// ---- access counters (emu/counters.cpp): called by the instructions above and by launches
void count_mma(std::uint64_t flops);

}  // namespace cmt::emu

#define threadIdx (::cmt::emu::tl_thread->thread_idx)
#define blockIdx (::cmt::emu::tl_thread->block_idx)
#define blockDim (::cmt::emu::tl_thread->block_dim)
#define gridDim (::cmt::emu::tl_thread->grid_dim)
constexpr int warpSize = 32;

#define __syncthreads() ((void)::cmt::emu::block_barrier(::cmt::emu::BarrierOp::sync, 0, __FILE__, __LINE__))
#define __syncthreads_count(p) ::cmt::emu::block_barrier(::cmt::emu::BarrierOp::count, (p) ? 1 : 0, __FILE__, __LINE__)
#define __syncthreads_and(p) ::cmt::emu::block_barrier(::cmt::emu::BarrierOp::and_, (p) ? 1 : 0, __FILE__, __LINE__)
#define __syncthreads_or(p) ::cmt::emu::block_barrier(::cmt::emu::BarrierOp::or_, (p) ? 1 : 0, __FILE__, __LINE__)

inline void __syncwarp(unsigned mask = 0xffffffffu) {
  ::cmt::emu::warp_collective(mask, nullptr, 0, nullptr, "__syncwarp");
}

// Code that touches only values handed between lanes, not memory of the kernel: not checked by
// ThreadSanitizer (the lanes' posts are on their own stacks).
#define CMT_EMU_LANES_ONLY __attribute__((no_sanitize("thread"))) __attribute__((noinline))

namespace cmt::emu {
template <class T>
struct ShflPost {
  T value;
  int src;
};
template <class T>
CMT_EMU_LANES_ONLY void shfl_combine(const void* const* in, void* const* out) {
  for (int l = 0; l < 32; ++l)
    if (out[l]) *static_cast<T*>(out[l]) = static_cast<const ShflPost<T>*>(in[static_cast<const ShflPost<T>*>(in[l])->src])->value;
}
template <class T>
T shfl_from(unsigned mask, T v, const char* what, int (*src)(int lane, int arg, int width), int arg, int width) {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 8, "shuffle of an unsupported type");
  const int s = src(tl_thread->lane, arg, width);
  if (!((mask >> s) & 1u)) fail("%s reads lane %d, which is not in the mask 0x%08x", what, s, mask);
  const ShflPost<T> mine{v, s};
  T r;
  warp_combine(mask, &mine, sizeof mine, &r, what, shfl_combine<T>);
  return r;
}
inline int src_idx(int lane, int arg, int width) { return (lane & ~(width - 1)) + (arg & (width - 1)); }
inline int src_xor(int lane, int arg, int width) {
  const int s = lane ^ arg;
  return (s & ~(width - 1)) == (lane & ~(width - 1)) ? s : lane;
}
inline int src_down(int lane, int arg, int width) { return (lane % width) + arg < width ? lane + arg : lane; }
inline int src_up(int lane, int arg, int width) { return (lane % width) - arg >= 0 ? lane - arg : lane; }
CMT_EMU_LANES_ONLY inline void ballot_combine(const void* const* in, void* const* out) {
  unsigned r = 0;
  for (int l = 0; l < 32; ++l)
    if (out[l] && *static_cast<const int*>(in[l])) r |= 1u << l;
  for (int l = 0; l < 32; ++l)
    if (out[l]) *static_cast<unsigned*>(out[l]) = r;
}
}  // namespace cmt::emu

template <class T>
T __shfl_sync(unsigned mask, T v, int src_lane, int width = 32) {
  return ::cmt::emu::shfl_from(mask, v, "__shfl_sync", ::cmt::emu::src_idx, src_lane, width);
}
template <class T>
T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32) {
  return ::cmt::emu::shfl_from(mask, v, "__shfl_xor_sync", ::cmt::emu::src_xor, lane_mask, width);
}
template <class T>
T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
  return ::cmt::emu::shfl_from(mask, v, "__shfl_down_sync", ::cmt::emu::src_down, static_cast<int>(delta), width);
}
template <class T>
T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = 32) {
  return ::cmt::emu::shfl_from(mask, v, "__shfl_up_sync", ::cmt::emu::src_up, static_cast<int>(delta), width);
}
inline unsigned __ballot_sync(unsigned mask, int pred) {
  const int mine = pred != 0;
  unsigned r = 0;
  ::cmt::emu::warp_combine(mask, &mine, sizeof mine, &r, "__ballot_sync", ::cmt::emu::ballot_combine);
  return r;
}
inline int __any_sync(unsigned mask, int pred) { return __ballot_sync(mask, pred) != 0; }
inline int __all_sync(unsigned mask, int pred) { return __ballot_sync(mask, pred) == mask; }
inline unsigned __activemask() { return 0xffffffffu; }

// ---- atomics: relaxed, as CUDA's (they order nothing else, so they hide no race from the sanitizer)
template <class T>
T cmt_emu_atomic_add(T* p, T v) {
  std::atomic_ref<T> a(*p);
  if constexpr (std::is_floating_point_v<T>) {
    T old = a.load(std::memory_order_relaxed);
    while (!a.compare_exchange_weak(old, old + v, std::memory_order_relaxed)) {
    }
    return old;
  } else {
    return a.fetch_add(v, std::memory_order_relaxed);
  }
}
inline float atomicAdd(float* p, float v) { return cmt_emu_atomic_add(p, v); }
inline double atomicAdd(double* p, double v) { return cmt_emu_atomic_add(p, v); }
inline int atomicAdd(int* p, int v) { return cmt_emu_atomic_add(p, v); }
inline unsigned atomicAdd(unsigned* p, unsigned v) { return cmt_emu_atomic_add(p, v); }
inline unsigned long long atomicAdd(unsigned long long* p, unsigned long long v) { return cmt_emu_atomic_add(p, v); }
template <class T>
T atomicMax(T* p, T v) {
  std::atomic_ref<T> a(*p);
  T old = a.load(std::memory_order_relaxed);
  while (old < v && !a.compare_exchange_weak(old, v, std::memory_order_relaxed)) {
  }
  return old;
}
template <class T>
T atomicMin(T* p, T v) {
  std::atomic_ref<T> a(*p);
  T old = a.load(std::memory_order_relaxed);
  while (v < old && !a.compare_exchange_weak(old, v, std::memory_order_relaxed)) {
  }
  return old;
}
template <class T>
T atomicExch(T* p, T v) { return std::atomic_ref<T>(*p).exchange(v, std::memory_order_relaxed); }
template <class T>
T atomicCAS(T* p, T compare, T v) {
  std::atomic_ref<T>(*p).compare_exchange_strong(compare, v, std::memory_order_relaxed);
  return compare;
}

// ---- intrinsics
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __sinf(float x) { return std::sin(x); }
inline float __cosf(float x) { return std::cos(x); }
inline float __powf(float x, float y) { return std::pow(x, y); }
inline float __fdividef(float a, float b) { return a / b; }
inline float __frcp_rn(float x) { return 1.f / x; }
inline float __fsqrt_rn(float x) { return std::sqrt(x); }
inline float rsqrtf(float x) { return 1.f / std::sqrt(x); }
inline double rsqrt(double x) { return 1.0 / std::sqrt(x); }
inline float __saturatef(float x) { return x < 0.f ? 0.f : (x > 1.f ? 1.f : x); }
template <class T>
T __ldg(const T* p) { return *p; }
inline unsigned __float_as_uint(float v) { unsigned r; std::memcpy(&r, &v, 4); return r; }
inline int __float_as_int(float v) { int r; std::memcpy(&r, &v, 4); return r; }
inline float __uint_as_float(unsigned v) { float r; std::memcpy(&r, &v, 4); return r; }
inline float __int_as_float(int v) { float r; std::memcpy(&r, &v, 4); return r; }
inline long long __double_as_longlong(double v) { long long r; std::memcpy(&r, &v, 8); return r; }
inline double __longlong_as_double(long long v) { double r; std::memcpy(&r, &v, 8); return r; }
inline int __popc(unsigned v) { return __builtin_popcount(v); }
inline int __popcll(unsigned long long v) { return __builtin_popcountll(v); }
inline int __clz(int v) { return v == 0 ? 32 : __builtin_clz(static_cast<unsigned>(v)); }
inline int __ffs(int v) { return __builtin_ffs(v); }
inline unsigned __brev(unsigned v) {
  unsigned r = 0;
  for (int i = 0; i < 32; ++i) r |= ((v >> i) & 1u) << (31 - i);
  return r;
}
inline std::size_t __cvta_generic_to_shared(const void* p) { return reinterpret_cast<std::size_t>(p); }
// CUDA declares the classification functions in the global namespace, as C's <math.h> does.
using std::isfinite;
using std::isinf;
using std::isnan;
using std::signbit;

// CUDA's global min/max overloads for device code (integers and floats of mixed types).
template <class A, class B, class = std::enable_if_t<std::is_arithmetic_v<A> && std::is_arithmetic_v<B>>>
constexpr std::common_type_t<A, B> min(A a, B b) {
  using C = std::common_type_t<A, B>;
  return static_cast<C>(a) < static_cast<C>(b) ? static_cast<C>(a) : static_cast<C>(b);
}
template <class A, class B, class = std::enable_if_t<std::is_arithmetic_v<A> && std::is_arithmetic_v<B>>>
constexpr std::common_type_t<A, B> max(A a, B b) {
  using C = std::common_type_t<A, B>;
  return static_cast<C>(a) < static_cast<C>(b) ? static_cast<C>(b) : static_cast<C>(a);
}
