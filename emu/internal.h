// What the parts of the emulated device share: the work queue of streams, device-memory checks and
// the failure report. Not seen by kernels or the engine.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <functional>
#include <string>

namespace cmt::emu {

// Queues fn on stream (nullptr: the legacy default stream). Work runs in stream order, but only
// when something waits for it (a synchronisation, a blocking copy, an event the host waits on);
// during a capture it is recorded into the graph instead. `what` names the work in reports.
// Returns cudaErrorStreamCaptureUnsupported etc. when the call is illegal in the stream's state.
cudaError_t enqueue(cudaStream_t stream, std::string what, std::function<void()> fn);

// True while queued work executes (kernels, copies, emulated libraries): device memory is
// readable by the host only then.
bool executing();

// Device memory. A device allocation is a separate mapping, inaccessible to the host outside
// execution, with a guard page after it; freed allocations stay unmapped (never reused).
bool is_device_range(const void* p, std::size_t bytes);  // inside one live allocation
bool is_pinned_host(const void* p);                      // from cudaHostAlloc / cudaMallocHost
// Fails (fail_host) unless [p, p + bytes) lies inside one live device allocation.
void require_device_range(const void* p, std::size_t bytes, const char* who, const char* what);

// Stops the process with "cmt emulator: <message>" (host-side misuse; kernels use fail()).
[[noreturn]] void fail_host(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// The stream's state for checks by the emulated libraries.
bool is_capturing(cudaStream_t stream);
bool is_valid_stream(cudaStream_t stream);

}  // namespace cmt::emu
