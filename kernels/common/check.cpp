// Builds the messages of cmt::Error for each library's status codes.
#include "check.h"

#include <cstring>

#if defined(CMT_WITH_CUDA)
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#endif
#if defined(CMT_WITH_CUDNN)
#include <cudnn.h>
#endif
#if defined(CMT_WITH_NCCL)
#include <nccl.h>
#endif

namespace cmt::detail {

namespace {
std::string where(const char* file, int line) {
  const char* base = std::strrchr(file, '/');
  return std::string(base ? base + 1 : file) + ":" + std::to_string(line);
}

// out_of_memory: the status is the library's allocation failure, thrown as OutOfMemory so that a search
// for the largest batch sees a workspace that did not fit like any other allocation that did not.
[[noreturn]] void throw_lib(const char* lib, int status, const std::string& text, const char* call,
                            const char* file, int line, bool out_of_memory = false) {
  const std::string msg = std::string(lib) + " error " + std::to_string(status) + " (" + text + ") in `" + call +
                          "` at " + where(file, line);
  if (out_of_memory) throw OutOfMemory(msg);
  throw Error(msg);
}
}  // namespace

void throw_at(const std::string& msg, const char* file, int line) {
  throw Error(msg + " [" + where(file, line) + "]");
}

void throw_out_of_memory(const std::string& msg, const char* file, int line) {
  throw OutOfMemory(msg + " [" + where(file, line) + "]");
}

void throw_cuda(int status, const char* call, const char* file, int line) {
#if defined(CMT_WITH_CUDA)
  const auto err = static_cast<cudaError_t>(status);
  cudaGetLastError();  // clear a sticky non-fatal error so later calls are not blamed for it
  throw_lib("CUDA", status, std::string(cudaGetErrorName(err)) + ": " + cudaGetErrorString(err), call, file, line,
            err == cudaErrorMemoryAllocation);
#else
  throw_lib("CUDA", status, "built without CUDA", call, file, line);
#endif
}

void throw_cublas(int status, const char* call, const char* file, int line) {
#if defined(CMT_WITH_CUDA)
  throw_lib("cuBLAS", status, cublasGetStatusString(static_cast<cublasStatus_t>(status)), call, file, line,
            status == CUBLAS_STATUS_ALLOC_FAILED);
#else
  throw_lib("cuBLAS", status, "built without CUDA", call, file, line);
#endif
}

void throw_cudnn(int status, const char* call, const char* file, int line) {
#if defined(CMT_WITH_CUDNN)
#if CUDNN_MAJOR >= 9
  const bool alloc_failed = status == CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED ||
                            status == CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED;
#else
  const bool alloc_failed = status == CUDNN_STATUS_ALLOC_FAILED;
#endif
  throw_lib("cuDNN", status, cudnnGetErrorString(static_cast<cudnnStatus_t>(status)), call, file, line, alloc_failed);
#else
  throw_lib("cuDNN", status, "built without cuDNN", call, file, line);
#endif
}

void throw_nccl(int status, const char* call, const char* file, int line) {
#if defined(CMT_WITH_NCCL)
  throw_lib("NCCL", status, ncclGetErrorString(static_cast<ncclResult_t>(status)), call, file, line);
#else
  throw_lib("NCCL", status, "built without NCCL", call, file, line);
#endif
}

}  // namespace cmt::detail
