// The engine's checks: the kernel-level CUDA/cuBLAS/cuDNN/NCCL checks plus HDF5.
#pragma once
#include "kernels/common/check.h"

namespace cmt::detail {
[[noreturn]] void throw_hdf5(const char* call, const char* file, int line);
}

// HDF5 calls return a negative value on failure; the message includes HDF5's own error stack.
#define H5_CHECK(call)                                                            \
  ([&]() {                                                                        \
    auto cmt_h5_ = (call);                                                        \
    if (cmt_h5_ < 0) ::cmt::detail::throw_hdf5(#call, __FILE__, __LINE__);        \
    return cmt_h5_;                                                               \
  }())
