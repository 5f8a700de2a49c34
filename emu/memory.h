// Device memory of the emulated device: one mapping per allocation, a guard page after it, poisoned
// slack around it, no host access outside execution, and freed allocations never mapped again.
#pragma once
#include <cstddef>
#include <string>

namespace cmt::emu {

void* device_allocate(std::size_t bytes);  // nullptr when the system refuses
void device_free(void* p);                 // fails for a pointer that is not a live allocation
bool is_device_start(const void* p);

void* pinned_allocate(std::size_t bytes);
bool pinned_free(void* p);

// Opens/closes a window in which queued work (and only it) may touch device memory. Nested.
void begin_execution();
void end_execution();

// After a launch: every allocation's poisoned slack must be intact.
void check_slack(const std::string& kernel);

// Installs the fault handler that explains a fault on device memory (host access, out of bounds,
// use after free); called once by the runtime.
void install_fault_handler();

}  // namespace cmt::emu
