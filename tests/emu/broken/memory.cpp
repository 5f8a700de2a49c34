// Device memory: a write one past the end, a misaligned vector load, a host dereference of device
// memory, and a CUDA Graph replayed after its buffer was freed.
#include <cuda_runtime.h>

#include <vector>

#include "broken.h"
#include "kernels/cuda/portable.cuh"

namespace cmt::emu_broken {

namespace {

constexpr int kN = 100;  // not a multiple of 64: the allocation's end is inside its 256-byte granule

__global__ void scale_overrun_kernel(const float* in, float* out, int n) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i <= n) out[i] = 2.f * in[i < n ? i : 0];  // bug: <= writes out[n]
}

__global__ void scale_kernel(const float* in, float* out, int n) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) out[i] = 2.f * in[i];
}

std::vector<float> ramp(int n) {
  std::vector<float> v(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = static_cast<float>(i) - 7.f;
  return v;
}

CMT_BROKEN_CASE(global_overrun, "global-overrun")
void global_overrun(bool fixed) {
  const std::vector<float> in = ramp(kN);
  DeviceBuffer<float> d_in(in), d_out(kN);
  cuda::launch(fixed ? scale_kernel : scale_overrun_kernel, dim3(1), dim3(128), 0, nullptr, d_in.get(), d_out.get(), kN);
  CUDA_CHECK_LAUNCH();
  std::vector<float> want(kN);
  for (int i = 0; i < kN; ++i) want[static_cast<std::size_t>(i)] = 2.f * in[static_cast<std::size_t>(i)];
  expect_equal(d_out.host(), want, "scaled copy");
}

// out[4t + j] = in[4t + j] for the row that starts at `row` (one float past a 16-byte boundary).
__global__ void row_vector_load_kernel(const float* row, float* out) {
  const int t = static_cast<int>(threadIdx.x);
  const float4 v = reinterpret_cast<const float4*>(row)[t];  // bug: row is only 4-byte aligned
  out[4 * t] = v.x;
  out[4 * t + 1] = v.y;
  out[4 * t + 2] = v.z;
  out[4 * t + 3] = v.w;
}

__global__ void row_scalar_load_kernel(const float* row, float* out) {
  const int t = static_cast<int>(threadIdx.x);
  for (int j = 0; j < 4; ++j) out[4 * t + j] = row[4 * t + j];
}

CMT_BROKEN_CASE(misaligned_float4, "misaligned-float4")
void misaligned_float4(bool fixed) {
  const std::vector<float> in = ramp(4 * 16 + 4);
  DeviceBuffer<float> d_in(in), d_out(4 * 16);
  cuda::launch(fixed ? row_scalar_load_kernel : row_vector_load_kernel, dim3(1), dim3(16), 0, nullptr,
               static_cast<const float*>(d_in.get() + 1), d_out.get());
  CUDA_CHECK_LAUNCH();
  expect_equal(d_out.host(), std::vector<float>(in.begin() + 1, in.begin() + 1 + 4 * 16), "row copy");
}

CMT_BROKEN_CASE(host_deref, "host-deref")
void host_deref(bool fixed) {
  DeviceBuffer<float> d(std::vector<float>{42.f, 43.f});
  float first = 0.f;
  if (fixed) {
    CUDA_CHECK(cudaMemcpy(&first, d.get(), sizeof first, cudaMemcpyDeviceToHost));
  } else {
    first = *static_cast<volatile const float*>(d.get());  // bug: a device pointer read on the host
  }
  CMT_CHECK(first == 42.f, "read " << first << ", expected 42");
}

__global__ void fill_kernel(float* out, int n, float value) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) out[i] = value;
}

CMT_BROKEN_CASE(graph_freed_buffer, "graph-freed-buffer")
void graph_freed_buffer(bool fixed) {
  cudaStream_t stream = nullptr;
  CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  float* buffer = nullptr;
  CUDA_CHECK(cudaMalloc(reinterpret_cast<void**>(&buffer), kN * sizeof(float)));
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal));
  cuda::launch(fill_kernel, dim3(1), dim3(128), 0, stream, buffer, kN, 3.f);
  CUDA_CHECK_LAUNCH();
  CUDA_CHECK(cudaStreamEndCapture(stream, &graph));
  CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));
  if (!fixed) CUDA_CHECK(cudaFree(buffer));  // bug: the graph still writes the buffer
  CUDA_CHECK(cudaGraphLaunch(exec, stream));
  CUDA_CHECK(cudaStreamSynchronize(stream));
  std::vector<float> got(kN);
  CUDA_CHECK(cudaMemcpy(got.data(), buffer, kN * sizeof(float), cudaMemcpyDeviceToHost));
  expect_equal(got, std::vector<float>(kN, 3.f), "graph fill");
  CUDA_CHECK(cudaFree(buffer));
  CUDA_CHECK(cudaGraphExecDestroy(exec));
  CUDA_CHECK(cudaGraphDestroy(graph));
  CUDA_CHECK(cudaStreamDestroy(stream));
}

}  // namespace

}  // namespace cmt::emu_broken
