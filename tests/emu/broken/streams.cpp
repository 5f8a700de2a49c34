// Streams and graphs: a consumer on one stream that does not wait for its producer on another, and
// a stream synchronisation inside a graph capture.
#include <cuda_runtime.h>

#include <vector>

#include "broken.h"
#include "kernels/cuda/portable.cuh"

namespace cmt::emu_broken {

namespace {

constexpr int kN = 256;

__global__ void produce_kernel(float* buf, int n) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) buf[i] = 42.f + static_cast<float>(i);
}

__global__ void consume_kernel(const float* buf, float* out, int n) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i < n) out[i] = buf[i];
}

CMT_BROKEN_CASE(stream_no_event, "stream-no-event")
void stream_no_event(bool fixed) {
  cudaStream_t producer = nullptr, consumer = nullptr;
  CUDA_CHECK(cudaStreamCreateWithFlags(&producer, cudaStreamNonBlocking));
  CUDA_CHECK(cudaStreamCreateWithFlags(&consumer, cudaStreamNonBlocking));
  cudaEvent_t produced = nullptr;
  CUDA_CHECK(cudaEventCreateWithFlags(&produced, cudaEventDisableTiming));
  DeviceBuffer<float> buf(kN, 0.f), out(kN, -1.f);  // buf's old contents: zeros
  cuda::launch(produce_kernel, dim3(kN / 128), dim3(128), 0, producer, buf.get(), kN);
  CUDA_CHECK_LAUNCH();
  // The bug is leaving out this edge: nothing orders the consumer after the producer.
  if (fixed) {
    CUDA_CHECK(cudaEventRecord(produced, producer));
    CUDA_CHECK(cudaStreamWaitEvent(consumer, produced, 0));
  }
  cuda::launch(consume_kernel, dim3(kN / 128), dim3(128), 0, consumer, static_cast<const float*>(buf.get()), out.get(), kN);
  CUDA_CHECK_LAUNCH();
  CUDA_CHECK(cudaStreamSynchronize(consumer));  // only the consumer's stream
  const std::vector<float> got = out.host();
  for (int i = 0; i < kN; ++i)
    CMT_CHECK(got[static_cast<std::size_t>(i)] == 42.f + static_cast<float>(i),
              "consumer saw stale data: element " << i << " is " << got[static_cast<std::size_t>(i)] << " where the producer wrote "
                                                   << 42.f + static_cast<float>(i));
  CUDA_CHECK(cudaStreamSynchronize(producer));
  CUDA_CHECK(cudaEventDestroy(produced));
  CUDA_CHECK(cudaStreamDestroy(producer));
  CUDA_CHECK(cudaStreamDestroy(consumer));
}

CMT_BROKEN_CASE(sync_in_capture, "sync-in-capture")
void sync_in_capture(bool fixed) {
  cudaStream_t stream = nullptr;
  CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  DeviceBuffer<float> buf(kN, 0.f);
  cudaGraph_t graph = nullptr;
  CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal));
  cuda::launch(produce_kernel, dim3(kN / 128), dim3(128), 0, stream, buf.get(), kN);
  CUDA_CHECK_LAUNCH();
  const cudaError_t synced = fixed ? cudaSuccess : cudaStreamSynchronize(stream);  // bug: waiting inside the capture
  const cudaError_t ended = cudaStreamEndCapture(stream, &graph);
  CUDA_CHECK(synced);
  CUDA_CHECK(ended);
  cudaGraphExec_t exec = nullptr;
  CUDA_CHECK(cudaGraphInstantiate(&exec, graph, 0));
  CUDA_CHECK(cudaGraphLaunch(exec, stream));
  CUDA_CHECK(cudaStreamSynchronize(stream));
  std::vector<float> want(kN);
  for (int i = 0; i < kN; ++i) want[static_cast<std::size_t>(i)] = 42.f + static_cast<float>(i);
  expect_equal(buf.host(), want, "graph replay");
  CUDA_CHECK(cudaGraphExecDestroy(exec));
  CUDA_CHECK(cudaGraphDestroy(graph));
  CUDA_CHECK(cudaStreamDestroy(stream));
}

}  // namespace

}  // namespace cmt::emu_broken
