// Context: the device, its streams and library handles, scratch space, precision and run flags.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/device.h"
#include "engine/precision.h"
#include "engine/tensor.h"
#include "kernels/common/stream.h"

namespace cmt {

class Context {
 public:
  explicit Context(Device device = Device::cpu(), PrecisionPolicy precision = {});
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  Device device() const { return device_; }
  bool is_cuda() const { return device_.is_cuda(); }

  // CUDA resources, created on first use (null on a CPU context).
  cudaStream_t compute_stream();
  cudaStream_t copy_stream();
  // Makes the copy stream wait for the work queued on the compute stream so far (a transfer of a
  // tensor the compute stream writes or reads must not overtake it).
  void copy_after_compute();
  cublasHandle_t cublas();
  cublasLtHandle_t cublaslt();
  cudnnHandle_t cudnn();

  // Scratch memory of at least `bytes`, grown (never shrunk) on demand; valid until the next call.
  void* workspace(std::size_t bytes);
  // The scratch block in force (undefined before the first workspace call). A CUDA Graph holds the
  // blocks its capture addressed (StepGraph), so a later growth never frees memory a replay writes.
  const Tensor& workspace_block() const { return workspace_; }
  // While set, a block replaced by a larger one is appended to `into` instead of being released.
  void keep_replaced_workspaces(std::vector<Tensor>* into) { replaced_workspaces_ = into; }

  void synchronize();               // waits for both streams

  // Copies `bytes` host bytes into dst (on this context's device) in stream order, without waiting:
  // per-step scalars written before a step or a graph replay (the source may be reused at once).
  void upload(const void* host, std::size_t bytes, Tensor& dst);

  // The (epoch, step) of dropout-like layers' random keys in device memory, for steps that are
  // memory-planned or replayed from a CUDA Graph (kernel arguments would be frozen at capture).
  // upload_step_key() writes the current epoch/step there (outside the captured region); until the
  // first upload the key is undefined and the layers use epoch/step directly.
  void upload_step_key();
  const Tensor& step_key() const { return step_key_; }
  void debug_check(const char* what);  // with debug_sync on: synchronises and names `what` on failure

  PrecisionPolicy precision;
  bool training = true;
  // Eval-mode forward that keeps what backward needs (Grad-CAM, models/grad_cam.h): running BN
  // statistics, no dropout, and the layers after the backbone's last stage (pooling, flatten,
  // dropout, linear) keep their inputs so that a class score can be differentiated with respect to
  // that stage's output. Such a backward adds no parameter gradients.
  bool keep_for_backward = false;
  bool keeps_saved() const { return training || keep_for_backward; }
  // Recompute batch norm + activation outputs in the backward pass instead of keeping them
  // (Sequential's BN -> activation -> conv runs): less activation memory, a little more time.
  bool recompute = false;
  // On the CPU, a batch norm followed by ReLU or SiLU in a Sequential applies the activation in its
  // own pass (ops::BnActivation; the same bits, fewer passes over memory). Off: every layer runs alone.
  bool fuse_norm_activation = true;
  bool debug_sync = false;  // synchronise after every op (CMT_DEBUG_SYNC=1 sets it)
  std::uint64_t seed = 0;
  std::uint32_t epoch = 0;  // with seed and step, keys the random draws of dropout-like layers
  std::uint32_t step = 0;

 private:
  void activate() const;  // cudaSetDevice for this context's device

  Device device_;
  cudaStream_t compute_ = nullptr;
  cudaStream_t copy_ = nullptr;
  cudaEvent_t compute_mark_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  cublasLtHandle_t cublaslt_ = nullptr;
  cudnnHandle_t cudnn_ = nullptr;
  Tensor workspace_;
  std::vector<Tensor>* replaced_workspaces_ = nullptr;
  Tensor cublas_workspace_;
  Tensor step_key_;  // u32 x 2 (epoch, step) on the device, stored as i32
};

}  // namespace cmt
