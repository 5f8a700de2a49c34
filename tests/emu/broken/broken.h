// Deliberately broken kernels and host code for the emulated device: each case runs its bug (the
// emulator must flag it) or, as `<case>-fixed`, the corrected code (which must run clean and give
// the right numbers). Cases register themselves by name; main.cpp picks one from the command line.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <string>
#include <vector>

#include "kernels/common/check.h"

namespace cmt::emu_broken {

using CaseFn = void (*)(bool fixed);
struct Register {
  Register(const char* name, CaseFn fn);
};
#define CMT_BROKEN_CASE(id, name) \
  void id(bool fixed);            \
  const ::cmt::emu_broken::Register id##_registered(name, id);

// A device copy of a host vector; get() copies it back.
template <class T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(const std::vector<T>& host) : n_(host.size()) {
    CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&p_), n_ * sizeof(T)));
    CUDA_CHECK(cudaMemcpy(p_, host.data(), n_ * sizeof(T), cudaMemcpyHostToDevice));
  }
  explicit DeviceBuffer(std::size_t n, T value = T{}) : DeviceBuffer(std::vector<T>(n, value)) {}
  ~DeviceBuffer() { cudaFree(p_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  T* get() const { return p_; }
  std::vector<T> host() const {
    std::vector<T> h(n_);
    CUDA_CHECK(cudaMemcpy(h.data(), p_, n_ * sizeof(T), cudaMemcpyDeviceToHost));
    return h;
  }

 private:
  T* p_ = nullptr;
  std::size_t n_ = 0;
};

// Throws with "<what>: element i is <got>, expected <want>" at the first mismatch (NaN never matches).
void expect_equal(const std::vector<float>& got, const std::vector<float>& want, const char* what);

}  // namespace cmt::emu_broken
