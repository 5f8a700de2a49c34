// Context: streams and library handles created on first use, released with the context.
#include "engine/context.h"

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <cstring>

#include "engine/cuda_runtime.h"
#include "engine/host_sync.h"
#include "kernels/common/check.h"
#include "kernels/cpu/gemm.h"
#if defined(CMT_WITH_CUDA)
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#endif
#if defined(CMT_WITH_CUDNN)
#include <cudnn.h>
#endif

extern "C" void openblas_set_num_threads(int);

namespace cmt {

namespace {
// With CMT_CPU_GEMM=openblas (or without oneDNN) the CPU kernels' GEMMs go to OpenBLAS, whose own
// pthread pool is sized once here (kernels/cpu/gemm.h: 1 thread unless CMT_BLAS_THREADS says otherwise).
void configure_cpu_threads() {
  static std::once_flag once;
  std::call_once(once, [] { openblas_set_num_threads(cpu::gemm_threads()); });
}
}  // namespace

Context::Context(Device device, PrecisionPolicy precision_policy) : precision(precision_policy), device_(device) {
  if (device_.is_cuda()) {
    const CudaStatus& s = cuda_status();
    CMT_CHECK(s.available, "cannot create a context on " << device_.str() << ": " << s.reason);
    CMT_CHECK(device_.index < s.device_count, "no device " << device_.str() << " (" << s.device_count << " found)");
  }
  configure_cpu_threads();
  const char* dbg = std::getenv("CMT_DEBUG_SYNC");
  debug_sync = dbg != nullptr && std::strcmp(dbg, "0") != 0;
}

Context::~Context() {
#if defined(CMT_WITH_CUDA)
  if (!device_.is_cuda()) return;
  // Destructors must not throw: report nothing, release what exists.
  cudaSetDevice(device_.index);
  if (compute_) cudaStreamSynchronize(compute_);
  if (copy_) cudaStreamSynchronize(copy_);
  if (compute_mark_) cudaEventDestroy(compute_mark_);
  workspace_ = Tensor();
#if defined(CMT_WITH_CUDNN)
  if (cudnn_) cudnnDestroy(cudnn_);
#endif
  if (cublaslt_) cublasLtDestroy(cublaslt_);
  if (cublas_) cublasDestroy(cublas_);
  if (compute_) cudaStreamDestroy(compute_);
  if (copy_) cudaStreamDestroy(copy_);
#endif
}

void Context::activate() const {
#if defined(CMT_WITH_CUDA)
  if (device_.is_cuda()) CUDA_CHECK(cudaSetDevice(device_.index));
#endif
}

cudaStream_t Context::compute_stream() {
#if defined(CMT_WITH_CUDA)
  if (device_.is_cuda() && !compute_) {
    activate();
    CUDA_CHECK(cudaStreamCreateWithFlags(&compute_, cudaStreamNonBlocking));
  }
#endif
  return compute_;
}

cudaStream_t Context::copy_stream() {
#if defined(CMT_WITH_CUDA)
  if (device_.is_cuda() && !copy_) {
    activate();
    CUDA_CHECK(cudaStreamCreateWithFlags(&copy_, cudaStreamNonBlocking));
  }
#endif
  return copy_;
}

void Context::copy_after_compute() {
#if defined(CMT_WITH_CUDA)
  if (!device_.is_cuda()) return;
  activate();
  if (!compute_mark_) CUDA_CHECK(cudaEventCreateWithFlags(&compute_mark_, cudaEventDisableTiming));
  CUDA_CHECK(cudaEventRecord(compute_mark_, compute_stream()));
  CUDA_CHECK(cudaStreamWaitEvent(copy_stream(), compute_mark_, 0));
#endif
}

cublasHandle_t Context::cublas() {
#if defined(CMT_WITH_CUDA)
  CMT_CHECK(device_.is_cuda(), "cuBLAS handle requested on a CPU context");
  if (!cublas_) {
    activate();
    CUBLAS_CHECK(cublasCreate(&cublas_));
    CUBLAS_CHECK(cublasSetStream(cublas_, compute_stream()));
    // cuBLAS's own workspace, fixed once: a CUDA Graph captures its address (NVIDIA's advice for
    // graph capture; 32 MiB covers Hopper's kernels).
    constexpr std::int64_t kCublasWorkspace = std::int64_t{32} << 20;
    cublas_workspace_ = Tensor::empty(Shape{kCublasWorkspace}, DType::u8, device_);
    CUBLAS_CHECK(cublasSetWorkspace(cublas_, cublas_workspace_.raw(), static_cast<std::size_t>(kCublasWorkspace)));
  }
  return cublas_;
#else
  CMT_THROW("cuBLAS handle requested: built without CUDA");
#endif
}

cublasLtHandle_t Context::cublaslt() {
#if defined(CMT_WITH_CUDA)
  CMT_CHECK(device_.is_cuda(), "cuBLASLt handle requested on a CPU context");
  if (!cublaslt_) {
    activate();
    CUBLAS_CHECK(cublasLtCreate(&cublaslt_));
  }
  return cublaslt_;
#else
  CMT_THROW("cuBLASLt handle requested: built without CUDA");
#endif
}

cudnnHandle_t Context::cudnn() {
#if defined(CMT_WITH_CUDNN)
  CMT_CHECK(device_.is_cuda(), "cuDNN handle requested on a CPU context");
  if (!cudnn_) {
    activate();
    CUDNN_CHECK(cudnnCreate(&cudnn_));
    CUDNN_CHECK(cudnnSetStream(cudnn_, compute_stream()));
  }
  return cudnn_;
#else
  CMT_THROW("cuDNN handle requested: built without cuDNN (CMT_WITH_CUDNN=OFF)");
#endif
}

void* Context::workspace(std::size_t bytes) {
  if (!workspace_.defined() || workspace_.nbytes() < bytes) {
    // The old block may still be read by queued kernels; the stream-ordered allocator reuses it
    // only for later work on the same stream, so dropping it here is safe, unless a graph being
    // captured addresses it (its replays come later): then the graph keeps it.
    if (replaced_workspaces_ != nullptr && workspace_.defined()) replaced_workspaces_->push_back(workspace_);
    workspace_ = Tensor::empty(Shape{static_cast<std::int64_t>(bytes)}, DType::u8, device_);
  }
  return workspace_.raw();
}

void Context::upload(const void* host, std::size_t bytes, Tensor& dst) {
  CMT_CHECK(dst.defined() && dst.device() == device_ && dst.nbytes() >= bytes,
            "Context::upload: " << bytes << " bytes into " << dst.describe() << " on " << device_.str());
  if (device_.is_cuda()) {
#if defined(CMT_WITH_CUDA)
    // Pageable source: staged before the call returns; stream-ordered before the step's kernels.
    CUDA_CHECK(cudaMemcpyAsync(dst.raw(), host, bytes, cudaMemcpyHostToDevice, compute_stream()));
#endif
  } else {
    std::memcpy(dst.raw(), host, bytes);
  }
}

void Context::upload_step_key() {
  if (!step_key_.defined()) step_key_ = Tensor::empty(Shape{2}, DType::i32, device_);
  const std::uint32_t key[2] = {epoch, step};
  upload(key, sizeof(key), step_key_);
}

void Context::synchronize() {
#if defined(CMT_WITH_CUDA)
  if (!device_.is_cuda()) return;
  note_host_sync("Context::synchronize");
  activate();
  if (compute_) CUDA_CHECK(cudaStreamSynchronize(compute_));
  if (copy_) CUDA_CHECK(cudaStreamSynchronize(copy_));
#endif
}

void Context::debug_check(const char* what) {
  if (!debug_sync || !device_.is_cuda()) return;
#if defined(CMT_WITH_CUDA)
  const cudaError_t err = compute_ ? cudaStreamSynchronize(compute_) : cudaDeviceSynchronize();
  if (err != cudaSuccess) CMT_THROW("CUDA failure after " << what << ": " << cudaGetErrorString(err));
#else
  (void)what;
#endif
}

}  // namespace cmt
