// Status checks: every failed library call becomes a cmt::Error naming the call, file and line.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace cmt {

// The one exception type of the project; apps/ turns it into a message and an exit code.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Memory ran out: an allocator's limit (CMT_MEMORY_LIMIT, CachingAllocator::set_limit) or the device
// itself (cudaMalloc, or a library's own allocation). Callers that search for what fits (`cmt bench
// memory`) catch this type and nothing else.
class OutOfMemory : public Error {
 public:
  using Error::Error;
};

namespace detail {
[[noreturn]] void throw_at(const std::string& msg, const char* file, int line);
[[noreturn]] void throw_out_of_memory(const std::string& msg, const char* file, int line);
// Library-specific failures; the status is passed as an int so this header needs no library headers.
[[noreturn]] void throw_cuda(int status, const char* call, const char* file, int line);
[[noreturn]] void throw_cublas(int status, const char* call, const char* file, int line);
[[noreturn]] void throw_cudnn(int status, const char* call, const char* file, int line);
[[noreturn]] void throw_nccl(int status, const char* call, const char* file, int line);
}  // namespace detail

}  // namespace cmt

// CMT_CHECK(cond, "message " << value): throws cmt::Error with the message, file and line.
#define CMT_CHECK(cond, msg)                                     \
  do {                                                           \
    if (!(cond)) {                                               \
      std::ostringstream cmt_msg_;                               \
      cmt_msg_ << msg;                                           \
      ::cmt::detail::throw_at(cmt_msg_.str(), __FILE__, __LINE__); \
    }                                                            \
  } while (0)

#define CMT_THROW(msg)                                         \
  do {                                                         \
    std::ostringstream cmt_msg_;                               \
    cmt_msg_ << msg;                                           \
    ::cmt::detail::throw_at(cmt_msg_.str(), __FILE__, __LINE__); \
  } while (0)

// All four libraries use 0 for success.
#define CMT_LIB_CHECK_(kind, call)                                                   \
  do {                                                                               \
    const int cmt_status_ = static_cast<int>(call);                                  \
    if (cmt_status_ != 0) ::cmt::detail::throw_##kind(cmt_status_, #call, __FILE__, __LINE__); \
  } while (0)

#define CUDA_CHECK(call) CMT_LIB_CHECK_(cuda, call)
#define CUBLAS_CHECK(call) CMT_LIB_CHECK_(cublas, call)
#define CUDNN_CHECK(call) CMT_LIB_CHECK_(cudnn, call)
#define NCCL_CHECK(call) CMT_LIB_CHECK_(nccl, call)

// After a kernel launch: launch-configuration errors surface here, not at the next sync.
#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())
