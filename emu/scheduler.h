// The block scheduler of the emulated device: runs a launch's blocks with one fiber per CUDA thread.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <functional>
#include <string>

namespace cmt::emu {

// One kernel launch, as queued on a stream.
struct Launch {
  LaunchSpec spec;
  std::string name;  // the kernel's demangled name
  std::function<void()> body;
  std::uint64_t seq = 0;  // launch number, seeds the thread interleaving
};

// Runs every block of the launch on the calling host thread; returns when all threads have exited.
void run_launch(Launch& launch);

// "<kernel> block (x,y,z) thread (x,y,z)" for the thread running now, or "host" outside kernels.
std::string where();

}  // namespace cmt::emu
