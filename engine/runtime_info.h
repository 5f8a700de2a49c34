// Versions of the libraries this build links, and how it was built (for `cmt info` and bench JSON).
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace cmt {

struct NamedValue {
  std::string name;
  std::string value;
};

std::vector<NamedValue> build_options();     // version, build type, compiler, CUDA archs, options
std::vector<NamedValue> library_versions();  // CUDA runtime/driver, cuDNN, cuBLAS, NCCL, HDF5, MPI, OpenBLAS, oneDNN, CPU GEMM

}  // namespace cmt
