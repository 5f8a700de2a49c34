// The stream contract of the cuBLAS handles the kernels receive.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "kernels/common/check.h"

namespace cmt::cuda {

// The handle's owner binds it to its stream once and then sets the fixed workspace a CUDA Graph
// capture relies on; cublasSetStream here would put cuBLAS back on its default pool (cuBLAS docs),
// so the kernels only check the binding.
inline void require_handle_stream(cublasHandle_t handle, cudaStream_t stream) {
  cudaStream_t bound = nullptr;
  CUBLAS_CHECK(cublasGetStream(handle, &bound));
  CMT_CHECK(bound == stream, "cuBLAS handle bound to another stream than the one given (its owner sets the stream once)");
}

}  // namespace cmt::cuda
