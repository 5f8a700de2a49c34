// Probes the CUDA driver and devices once, and says in one line why CUDA is unusable.
#include "engine/cuda_runtime.h"

#include <dlfcn.h>

#include <cstdio>
#include <mutex>

#include "kernels/common/check.h"
#if defined(CMT_WITH_CUDA)
#include <cuda_runtime_api.h>
#endif

namespace cmt {

namespace {
CudaStatus probe() {
  CudaStatus s;
#if !defined(CMT_WITH_CUDA)
  s.reason = "cmt was built without CUDA (CMT_WITH_CUDA=OFF)";
#else
  s.compiled = true;
#if !defined(CMT_EMULATED)
  // The runtime's own message for a missing driver ("driver version is insufficient") misleads;
  // look for the driver library first. (The emulated device needs no driver.)
  if (void* h = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL)) {
    dlclose(h);
  } else {
    s.reason = "no NVIDIA driver (libcuda.so.1 not found)";
    return s;
  }
#endif
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    cudaGetLastError();
    s.reason = std::string("CUDA unusable: ") + cudaGetErrorString(err);
    return s;
  }
  if (count == 0) {
    s.reason = "no CUDA device found";
    return s;
  }
  s.available = true;
  s.device_count = count;
#endif
  return s;
}
}  // namespace

const CudaStatus& cuda_status() {
  static const CudaStatus status = probe();
  return status;
}

std::vector<CudaDeviceInfo> cuda_devices() {
  std::vector<CudaDeviceInfo> out;
#if defined(CMT_WITH_CUDA)
  for (int i = 0; i < cuda_status().device_count; ++i) {
    cudaDeviceProp p{};
    CUDA_CHECK(cudaGetDeviceProperties(&p, i));
    out.push_back({i, p.name, p.major, p.minor, p.multiProcessorCount, p.totalGlobalMem,
                   static_cast<std::size_t>(p.l2CacheSize)});
  }
#endif
  return out;
}

Device default_device() {
  const CudaStatus& s = cuda_status();
  if (s.available) return Device::cuda(0);
  static std::once_flag said;
  std::call_once(said, [&] { std::fprintf(stderr, "cmt: using the CPU backend: %s\n", s.reason.c_str()); });
  return Device::cpu();
}

Device resolve_device(const std::string& request) {
  if (request == "auto") return default_device();
  const Device d = parse_device(request);
  if (d.is_cuda()) {
    const CudaStatus& s = cuda_status();
    CMT_CHECK(s.available, "device " << request << " requested but " << s.reason);
    CMT_CHECK(d.index < s.device_count, "device " << request << " requested but only " << s.device_count << " CUDA device(s) exist");
  }
  return d;
}

}  // namespace cmt
