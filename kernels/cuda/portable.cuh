// Kernel launches and shared-memory declarations that compile with nvcc and under the emulated device (emu/).
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <utility>

namespace cmt::cuda {

// kernel<<<grid, block, smem, stream>>>(args...). Does not check for errors: call sites keep CUDA_CHECK_LAUNCH().
template <class... P, class... A>
void launch(void (*kernel)(P...), dim3 grid, dim3 block, std::size_t smem, cudaStream_t stream, A&&... args) {
#if !defined(CMT_EMULATED)
  kernel<<<grid, block, smem, stream>>>(std::forward<A>(args)...);
#else
  ::cmt::emu::launch(kernel, grid, block, smem, stream, std::forward<A>(args)...);
#endif
}

}  // namespace cmt::cuda

// Static shared memory: CMT_SHARED(float, As, [kBK][kBM]); a scalar leaves dims empty. A type with
// commas needs an alias first (the macro splits on them).
// Dynamic shared memory: CMT_DYNAMIC_SHARED(type, name) gives `type* name`-like access, 16-byte aligned.
#if !defined(CMT_EMULATED)
#define CMT_SHARED(type, name, dims) __shared__ type name dims
#define CMT_DYNAMIC_SHARED(type, name) extern __shared__ __align__(16) type name[]
#else
// The emulator gives each declaration (by its place in the source, as CUDA does) one array per block.
#define CMT_SHARED(type, name, dims) auto& name = *::cmt::emu::shared_array<type dims>(__FILE__, __LINE__)
#define CMT_DYNAMIC_SHARED(type, name) type* name = static_cast<type*>(::cmt::emu::shared_dynamic())
#endif
