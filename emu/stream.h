// Streams, events and graphs of the emulated device: lazy, in-order work queues.
#pragma once
#include <cuda_runtime.h>

namespace cmt::emu {

// Runs every queued task of every stream (in a random interleaving that respects stream order,
// event waits and the legacy stream's implicit synchronisation).
void drain_all();
// Runs the stream's queued tasks (and what they wait for).
void drain_stream(cudaStream_t stream);
// True when a graph capture is under way on any stream.
bool any_capture();
// Marks every capture under way as invalidated (after an illegal call) and says why on stderr.
void invalidate_captures(const char* call);

// The runtime's lock: runtime calls and queued work are serialised on it.
void lock_runtime();
void unlock_runtime();
struct RuntimeLock {
  RuntimeLock() { lock_runtime(); }
  ~RuntimeLock() { unlock_runtime(); }
  RuntimeLock(const RuntimeLock&) = delete;
  RuntimeLock& operator=(const RuntimeLock&) = delete;
};

}  // namespace cmt::emu
