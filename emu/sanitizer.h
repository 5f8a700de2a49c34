// ThreadSanitizer's fiber and synchronisation hooks, or nothing when the emulator is built without
// it. With them, races between the emulated threads of a block are reported like host races:
// fibers switch without implying order, barriers are release/acquire pairs. The emulator itself is
// not instrumented (its bookkeeping is ordered by the scheduler, not by these edges); only kernels
// and the PTX instructions are, so CMT_EMU_TSAN (not __SANITIZE_THREAD__) selects the hooks.
#pragma once

#if defined(CMT_EMU_TSAN)
#include <sanitizer/tsan_interface.h>
extern "C" {
void AnnotateIgnoreSyncBegin(const char* file, int line);
void AnnotateIgnoreSyncEnd(const char* file, int line);
void __tsan_ignore_thread_begin();
void __tsan_ignore_thread_end();
}
#endif

// For emulator code compiled with the kernels' instrumentation that touches only a lane's own
// registers (the mma arithmetic): checking those accesses costs much and finds nothing.
#define CMT_EMU_REGISTERS_ONLY __attribute__((no_sanitize("thread")))

namespace cmt::emu::sanitizer {

#if defined(CMT_EMU_TSAN)
inline constexpr bool kThread = true;
inline void* current_fiber() { return __tsan_get_current_fiber(); }
inline void* create_fiber() { return __tsan_create_fiber(0); }
inline void switch_to(void* fiber) { __tsan_switch_to_fiber(fiber, __tsan_switch_to_fiber_no_sync); }
inline void release(void* addr) { __tsan_release(addr); }
inline void acquire(void* addr) { __tsan_acquire(addr); }
#else
inline constexpr bool kThread = false;
inline void* current_fiber() { return nullptr; }
inline void* create_fiber() { return nullptr; }
inline void switch_to(void*) {}
inline void release(void*) {}
inline void acquire(void*) {}
#endif

// The emulator's own bookkeeping called from a kernel thread (address checks, counters) takes
// mutexes; to ThreadSanitizer a mutex handed from one emulated thread to the next is a
// happens-before edge that would hide real races between them. Inside this scope the bookkeeping
// is neither synchronisation nor memory access to the sanitizer.
struct Quiet {
  Quiet() {
#if defined(CMT_EMU_TSAN)
    AnnotateIgnoreSyncBegin(__FILE__, __LINE__);
    __tsan_ignore_thread_begin();
#endif
  }
  ~Quiet() {
#if defined(CMT_EMU_TSAN)
    __tsan_ignore_thread_end();
    AnnotateIgnoreSyncEnd(__FILE__, __LINE__);
#endif
  }
  Quiet(const Quiet&) = delete;
  Quiet& operator=(const Quiet&) = delete;
};

}  // namespace cmt::emu::sanitizer
