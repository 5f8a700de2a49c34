// What CUDA this process can use, and why not when it cannot.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "engine/device.h"

namespace cmt {

struct CudaStatus {
  bool compiled = false;   // built with the CUDA backend
  bool available = false;  // at least one usable device
  int device_count = 0;
  std::string reason;      // one line: why not available (empty when available)
};

struct CudaDeviceInfo {
  int index = 0;
  std::string name;
  int cc_major = 0, cc_minor = 0;
  int multiprocessors = 0;
  std::size_t total_memory = 0;
  std::size_t l2_bytes = 0;
};

const CudaStatus& cuda_status();  // probed once, thread-safe
std::vector<CudaDeviceInfo> cuda_devices();

// cuda:0 when a device is usable, else the CPU; says once on stderr why it fell back.
Device default_device();

// Resolves "auto" / "cpu" / "cuda[:i]"; asking for CUDA when none is usable is an error naming why.
Device resolve_device(const std::string& request);

}  // namespace cmt
