// Queries each linked library for its version at run time (not the headers' version).
#include "engine/runtime_info.h"

#include <hdf5.h>

#include <string>

#include "cmt/build_info.h"
#include "kernels/common/check.h"
#include "kernels/cpu/gemm.h"
#if defined(CMT_WITH_CUDA)
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include "engine/cuda_runtime.h"
#endif
#if defined(CMT_WITH_CUDNN)
#include <cudnn.h>
#endif
#if defined(CMT_WITH_NCCL)
#include <nccl.h>
#endif
#if defined(CMT_WITH_MPI)
#include <mpi.h>
#endif
#if defined(CMT_WITH_ONEDNN)
#include <dnnl.h>
#endif

extern "C" char* openblas_get_config(void);

namespace cmt {

namespace {
[[maybe_unused]] std::string dotted(int v, int major_div, int minor_div) {
  return std::to_string(v / major_div) + "." + std::to_string((v % major_div) / minor_div);
}
}  // namespace

std::vector<NamedValue> build_options() {
  std::vector<NamedValue> out = {
      {"version", CMT_VERSION},
      {"build type", CMT_BUILD_TYPE},
      {"C++ compiler", CMT_CXX_COMPILER},
      {"CUDA backend", CMT_OPT_CUDA},
      {"cuDNN backend", CMT_OPT_CUDNN},
      {"NCCL", CMT_OPT_NCCL},
      {"MPI", CMT_OPT_MPI},
  };
#if defined(CMT_WITH_CUDA)
  out.push_back({"nvcc", CMT_CUDA_COMPILER_VERSION});
  out.push_back({"CUDA architectures", CMT_CUDA_ARCHS});
#endif
  return out;
}

std::vector<NamedValue> library_versions() {
  std::vector<NamedValue> out;
#if defined(CMT_WITH_CUDA)
  int rt = 0;
  cudaRuntimeGetVersion(&rt);
  out.push_back({"CUDA runtime", dotted(rt, 1000, 10)});
  int drv = 0;
  if (cuda_status().available && cudaDriverGetVersion(&drv) == cudaSuccess && drv > 0)
    out.push_back({"CUDA driver API", dotted(drv, 1000, 10)});
  else
    out.push_back({"CUDA driver API", "none (" + cuda_status().reason + ")"});
  int major = 0, minor = 0, patch = 0;
  cublasGetProperty(MAJOR_VERSION, &major);
  cublasGetProperty(MINOR_VERSION, &minor);
  cublasGetProperty(PATCH_LEVEL, &patch);
  out.push_back({"cuBLAS", std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch)});
#else
  out.push_back({"CUDA runtime", "not built"});
#endif
#if defined(CMT_WITH_CUDNN)
  const std::size_t cv = cudnnGetVersion();  // e.g. 91300 for 9.13.0
  out.push_back({"cuDNN", std::to_string(cv / 10000) + "." + std::to_string((cv % 10000) / 100) + "." + std::to_string(cv % 100)});
#else
  out.push_back({"cuDNN", "not built"});
#endif
#if defined(CMT_WITH_NCCL)
  int nv = 0;
  ncclGetVersion(&nv);  // e.g. 22703 for 2.27.3
  out.push_back({"NCCL", std::to_string(nv / 10000) + "." + std::to_string((nv % 10000) / 100) + "." + std::to_string(nv % 100)});
#else
  out.push_back({"NCCL", "not built"});
#endif
  unsigned h5major = 0, h5minor = 0, h5release = 0;
  H5get_libversion(&h5major, &h5minor, &h5release);
  out.push_back({"HDF5", std::to_string(h5major) + "." + std::to_string(h5minor) + "." + std::to_string(h5release)});
#if defined(CMT_WITH_MPI)
  char mpi[MPI_MAX_LIBRARY_VERSION_STRING] = {};
  int len = 0;
  MPI_Get_library_version(mpi, &len);  // allowed before MPI_Init
  std::string mpi_text(mpi, static_cast<std::size_t>(len));
  if (auto nl = mpi_text.find_first_of(",\n"); nl != std::string::npos) mpi_text.resize(nl);
  out.push_back({"MPI", mpi_text});
#else
  out.push_back({"MPI", "not built"});
#endif
  out.push_back({"OpenBLAS", openblas_get_config()});
#if defined(CMT_WITH_ONEDNN)
  const dnnl_version_t* v = dnnl_version();
  out.push_back({"oneDNN", std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch)});
#else
  out.push_back({"oneDNN", "not built"});
#endif
  out.push_back({"CPU GEMM", std::string(cpu::gemm_library()) + ", " + std::to_string(cpu::gemm_threads()) + " thread(s)"});
  return out;
}

}  // namespace cmt
