// The emulated CUDA runtime: devices (an H100's properties), memory and copies, errors, launches.
#include <cxxabi.h>
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "emu/counters.h"
#include "emu/internal.h"
#include "emu/memory.h"
#include "emu/scheduler.h"
#include "emu/stream.h"

namespace cmt::emu {

namespace {

thread_local cudaError_t tl_last_error = cudaSuccess;
thread_local int tl_device = 0;

int device_count() {
  static const int n = [] {
    const char* env = std::getenv("CMT_EMU_DEVICES");
    const int v = env ? std::atoi(env) : 1;
    return v > 0 ? v : 1;
  }();
  return n;
}

cudaError_t set_error(cudaError_t e) {
  if (e != cudaSuccess) tl_last_error = e;
  return e;
}

// ---- kernel names: the symbol of the kernel's address, from the ELF symbol table of its file
// (kernels are static functions, absent from the dynamic symbol table).
struct SymbolTable {
  std::map<std::uintptr_t, std::string> by_offset;
};

std::unique_ptr<SymbolTable> read_symbols(const char* path) {
  auto t = std::make_unique<SymbolTable>();
  const int fd = open(path, O_RDONLY);
  if (fd < 0) return t;
  struct stat st{};
  fstat(fd, &st);
  void* m = mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (m == MAP_FAILED) return t;
  const auto* base = static_cast<const unsigned char*>(m);
  const auto* eh = reinterpret_cast<const Elf64_Ehdr*>(base);
  const auto* sh = reinterpret_cast<const Elf64_Shdr*>(base + eh->e_shoff);
  for (int i = 0; i < eh->e_shnum; ++i) {
    if (sh[i].sh_type != SHT_SYMTAB) continue;
    const auto* syms = reinterpret_cast<const Elf64_Sym*>(base + sh[i].sh_offset);
    const char* strtab = reinterpret_cast<const char*>(base + sh[sh[i].sh_link].sh_offset);
    const std::size_t n = sh[i].sh_size / sizeof(Elf64_Sym);
    for (std::size_t k = 0; k < n; ++k)
      if (ELF64_ST_TYPE(syms[k].st_info) == STT_FUNC && syms[k].st_value != 0)
        t->by_offset.emplace(syms[k].st_value, strtab + syms[k].st_name);
  }
  munmap(m, static_cast<std::size_t>(st.st_size));
  return t;
}

std::string demangle(const std::string& s) {
  int status = 0;
  char* d = abi::__cxa_demangle(s.c_str(), nullptr, nullptr, &status);
  std::string r = status == 0 && d ? d : s;
  std::free(d);
  return r;
}

std::string kernel_name(const void* kernel) {
  static std::mutex mutex;
  static std::map<const void*, std::string> cache;
  static std::map<std::string, std::unique_ptr<SymbolTable>> files;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(kernel);
  if (it != cache.end()) return it->second;
  std::string name;
  Dl_info info{};
  if (dladdr(kernel, &info) && info.dli_fname) {
    if (info.dli_sname) {
      name = demangle(info.dli_sname);
    } else {
      auto& table = files[info.dli_fname];
      if (!table) table = read_symbols(info.dli_fname[0] ? info.dli_fname : "/proc/self/exe");
      const auto off = reinterpret_cast<std::uintptr_t>(kernel) - reinterpret_cast<std::uintptr_t>(info.dli_fbase);
      auto s = table->by_offset.find(off);
      if (s == table->by_offset.end()) s = table->by_offset.find(reinterpret_cast<std::uintptr_t>(kernel));
      if (s != table->by_offset.end()) name = demangle(s->second);
    }
  }
  if (name.empty()) {
    char b[64];
    std::snprintf(b, sizeof b, "kernel@%p", kernel);
    name = b;
  }
  return cache[kernel] = name;
}

std::mutex& attr_mutex() {
  static std::mutex m;
  return m;
}
std::map<const void*, int>& max_dynamic_smem() {
  static auto* m = new std::map<const void*, int>;
  return *m;
}

std::atomic<std::uint64_t> launch_seq{0};

struct Init {
  Init() { install_fault_handler(); }
};
void init() { static Init once; }

}  // namespace

void fail_host(const char* fmt, ...) {
  char msg[4096];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  std::fprintf(stderr, "cmt emulator: %s\n", msg);
  std::fflush(stderr);
  std::abort();
}

cudaError_t func_set_attribute(const void* kernel, cudaFuncAttribute attr, int value) {
  if (attr == cudaFuncAttributeMaxDynamicSharedMemorySize) {
    if (value < 0 || value > 227 * 1024) return set_error(cudaErrorInvalidValue);
    std::lock_guard<std::mutex> lock(attr_mutex());
    max_dynamic_smem()[kernel] = value;
  }
  return cudaSuccess;
}

void submit_launch(const LaunchSpec& spec, std::function<void()> body) {
  init();
  auto L = std::make_shared<Launch>();
  L->spec = spec;
  L->name = kernel_name(spec.kernel);
  L->body = std::move(body);
  const auto refuse = [&](cudaError_t e, const std::string& why) {
    std::fprintf(stderr, "cmt emulator: launch of %s refused: %s\n", L->name.c_str(), why.c_str());
    set_error(e);
  };
  const dim3 g = spec.grid, b = spec.block;
  const unsigned long long threads = 1ull * b.x * b.y * b.z;
  char why[256];
  if (g.x == 0 || g.y == 0 || g.z == 0 || threads == 0) return refuse(cudaErrorInvalidConfiguration, "a grid or block dimension is 0");
  if (threads > 1024 || b.x > 1024 || b.y > 1024 || b.z > 64) {
    std::snprintf(why, sizeof why, "block (%u,%u,%u) = %llu threads, more than 1024 (or a dimension past 1024,1024,64)", b.x, b.y, b.z, threads);
    return refuse(cudaErrorInvalidConfiguration, why);
  }
  if (g.x > 2147483647u || g.y > 65535 || g.z > 65535) {
    std::snprintf(why, sizeof why, "grid (%u,%u,%u): grid.y and grid.z may be at most 65535, grid.x at most 2^31-1", g.x, g.y, g.z);
    return refuse(cudaErrorInvalidConfiguration, why);
  }
  if (spec.smem > 227 * 1024) {
    std::snprintf(why, sizeof why, "%zu bytes of dynamic shared memory, more than the 227 KB of an H100 block", spec.smem);
    return refuse(cudaErrorInvalidValue, why);
  }
  if (spec.smem > 48 * 1024) {
    int allowed = 0;
    {
      std::lock_guard<std::mutex> lock(attr_mutex());
      auto it = max_dynamic_smem().find(spec.kernel);
      if (it != max_dynamic_smem().end()) allowed = it->second;
    }
    if (static_cast<std::size_t>(allowed) < spec.smem) {
      std::snprintf(why, sizeof why, "%zu bytes of dynamic shared memory need cudaFuncSetAttribute(MaxDynamicSharedMemorySize) >= that "
                    "for this kernel (set: %d)", spec.smem, allowed);
      return refuse(cudaErrorInvalidValue, why);
    }
  }
  if (!is_valid_stream(spec.stream)) return refuse(cudaErrorInvalidResourceHandle, "the stream does not exist (destroyed?)");
  L->seq = ++launch_seq;
  const cudaError_t e = enqueue(spec.stream, L->name, [L] {
    count_launch(L->name, 1ull * L->spec.grid.x * L->spec.grid.y * L->spec.grid.z,
                 1ull * L->spec.grid.x * L->spec.grid.y * L->spec.grid.z * L->spec.block.x * L->spec.block.y * L->spec.block.z);
    run_launch(*L);
    check_slack(L->name);
  });
  if (e != cudaSuccess) set_error(e);
}

}  // namespace cmt::emu

using namespace cmt::emu;

// ---- devices

cudaError_t cudaGetDeviceCount(int* count) {
  if (!count) return cudaErrorInvalidValue;
  init();
  *count = device_count();
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) {
  if (device < 0 || device >= device_count()) return set_error(cudaErrorInvalidDevice);
  tl_device = device;
  return cudaSuccess;
}

cudaError_t cudaGetDevice(int* device) {
  if (!device) return cudaErrorInvalidValue;
  *device = tl_device;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int device) {
  if (!p || device < 0 || device >= device_count()) return set_error(cudaErrorInvalidDevice);
  *p = cudaDeviceProp{};
  std::snprintf(p->name, sizeof p->name, "NVIDIA H100 80GB HBM3 (emulated)");
  p->totalGlobalMem = std::size_t{80} << 30;
  p->sharedMemPerBlock = 48 * 1024;
  p->regsPerBlock = 65536;
  p->warpSize = 32;
  p->maxThreadsPerBlock = 1024;
  p->maxThreadsDim[0] = 1024, p->maxThreadsDim[1] = 1024, p->maxThreadsDim[2] = 64;
  p->maxGridSize[0] = 2147483647, p->maxGridSize[1] = 65535, p->maxGridSize[2] = 65535;
  p->major = 9, p->minor = 0;
  p->multiProcessorCount = 132;
  p->l2CacheSize = 50 * 1024 * 1024;
  p->maxThreadsPerMultiProcessor = 2048;
  p->sharedMemPerMultiprocessor = 228 * 1024;
  p->sharedMemPerBlockOptin = 227 * 1024;
  p->regsPerMultiprocessor = 65536;
  p->clockRate = 1980000;
  p->memoryClockRate = 2619000;
  p->memoryBusWidth = 5120;
  return cudaSuccess;
}

cudaError_t cudaDriverGetVersion(int* v) {
  if (!v) return cudaErrorInvalidValue;
  *v = 13000;
  return cudaSuccess;
}

cudaError_t cudaRuntimeGetVersion(int* v) {
  if (!v) return cudaErrorInvalidValue;
  *v = CUDART_VERSION;
  return cudaSuccess;
}

cudaError_t cudaGetLastError() {
  const cudaError_t e = tl_last_error;
  tl_last_error = cudaSuccess;
  return e;
}

cudaError_t cudaPeekAtLastError() { return tl_last_error; }

const char* cudaGetErrorName(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInitializationError: return "cudaErrorInitializationError";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevicePointer: return "cudaErrorInvalidDevicePointer";
    case cudaErrorInvalidMemcpyDirection: return "cudaErrorInvalidMemcpyDirection";
    case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
    case cudaErrorNotReady: return "cudaErrorNotReady";
    case cudaErrorIllegalAddress: return "cudaErrorIllegalAddress";
    case cudaErrorLaunchOutOfResources: return "cudaErrorLaunchOutOfResources";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorStreamCaptureUnsupported: return "cudaErrorStreamCaptureUnsupported";
    case cudaErrorStreamCaptureInvalidated: return "cudaErrorStreamCaptureInvalidated";
    case cudaErrorStreamCaptureUnmatched: return "cudaErrorStreamCaptureUnmatched";
    case cudaErrorStreamCaptureImplicit: return "cudaErrorStreamCaptureImplicit";
    case cudaErrorCapturedEvent: return "cudaErrorCapturedEvent";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
    default: return "cudaErrorUnknown";
  }
}

const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorNotReady: return "device not ready";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorStreamCaptureUnsupported: return "operation not permitted when stream is capturing";
    case cudaErrorStreamCaptureInvalidated: return "operation failed due to a previous error during capture";
    case cudaErrorStreamCaptureUnmatched: return "capture was not initiated in this stream";
    case cudaErrorStreamCaptureImplicit: return "operation would make the legacy stream depend on a capturing blocking stream";
    case cudaErrorCapturedEvent: return "operation not permitted on an event last recorded in a capturing stream";
    default: return cudaGetErrorName(e);
  }
}

// ---- memory

cudaError_t cudaMalloc(void** ptr, std::size_t bytes) {
  init();
  if (!ptr) return set_error(cudaErrorInvalidValue);
  if (any_capture()) {
    // Stricter than a relaxed-mode capture: an allocation inside a captured step is a bug here.
    invalidate_captures("cudaMalloc");
    return set_error(cudaErrorStreamCaptureUnsupported);
  }
  *ptr = device_allocate(bytes);
  return *ptr ? cudaSuccess : set_error(cudaErrorMemoryAllocation);
}

cudaError_t cudaFree(void* ptr) {
  if (!ptr) return cudaSuccess;
  if (any_capture()) {
    invalidate_captures("cudaFree");
    return set_error(cudaErrorStreamCaptureUnsupported);
  }
  drain_all();  // cudaFree synchronises the device
  device_free(ptr);
  return cudaSuccess;
}

cudaError_t cudaHostAlloc(void** ptr, std::size_t bytes, unsigned) {
  if (!ptr) return cudaErrorInvalidValue;
  *ptr = pinned_allocate(bytes);
  return *ptr ? cudaSuccess : set_error(cudaErrorMemoryAllocation);
}

cudaError_t cudaMallocHost(void** ptr, std::size_t bytes) { return cudaHostAlloc(ptr, bytes, 0); }

cudaError_t cudaFreeHost(void* ptr) {
  if (!ptr) return cudaSuccess;
  drain_all();
  return pinned_free(ptr) ? cudaSuccess : set_error(cudaErrorInvalidValue);
}

cudaError_t cudaMemGetInfo(std::size_t* free_bytes, std::size_t* total_bytes) {
  if (free_bytes) *free_bytes = std::size_t{79} << 30;
  if (total_bytes) *total_bytes = std::size_t{80} << 30;
  return cudaSuccess;
}

namespace {

// Checks the pointers against the direction; returns the direction resolved from the pointers.
cudaMemcpyKind resolve(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind, const char* call) {
  const bool dd = is_device_range(dst, bytes), sd = is_device_range(src, bytes);
  const cudaMemcpyKind actual = dd ? (sd ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                                   : (sd ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost);
  if (kind != cudaMemcpyDefault && kind != actual) {
    const char* names[] = {"host to host", "host to device", "device to host", "device to device", "default"};
    fail_host("%s(%p <- %p, %zu bytes): declared %s but the pointers are %s (or a device range runs past its allocation)", call, dst, src,
              bytes, names[kind], names[actual]);
  }
  // A pointer into device memory that is not wholly inside one allocation is an overrun.
  if (!dd && is_device_range(dst, 1)) require_device_range(dst, bytes, call, "destination");
  if (!sd && is_device_range(src, 1)) require_device_range(src, bytes, call, "source");
  return actual;
}

}  // namespace

cudaError_t cudaMemcpy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind) {
  init();
  if (bytes == 0) return cudaSuccess;
  RuntimeLock lock;
  resolve(dst, src, bytes, kind, "cudaMemcpy");
  if (any_capture()) {
    invalidate_captures("cudaMemcpy (synchronous)");
    return set_error(cudaErrorStreamCaptureImplicit);
  }
  // A synchronous copy runs on the legacy stream: it waits for that stream's (and the blocking
  // streams') earlier work, not for non-blocking streams.
  enqueue(nullptr, "cudaMemcpy", [=] { std::memcpy(dst, src, bytes); });
  drain_stream(nullptr);
  return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind, cudaStream_t stream) {
  init();
  if (bytes == 0) return cudaSuccess;
  RuntimeLock lock;
  const cudaMemcpyKind k = resolve(dst, src, bytes, kind, "cudaMemcpyAsync");
  if (k == cudaMemcpyHostToDevice && !is_pinned_host(src) && !is_capturing(stream)) {
    // From pageable memory the call returns once the source is staged: copy it now.
    auto staged = std::make_shared<std::vector<unsigned char>>(static_cast<const unsigned char*>(src),
                                                               static_cast<const unsigned char*>(src) + bytes);
    return set_error(enqueue(stream, "cudaMemcpyAsync HtoD", [=] { std::memcpy(dst, staged->data(), bytes); }));
  }
  if (k == cudaMemcpyDeviceToHost && !is_pinned_host(dst)) {
    // To pageable memory the copy is synchronous.
    if (is_capturing(stream)) {
      invalidate_captures("cudaMemcpyAsync to pageable host memory");
      return set_error(cudaErrorStreamCaptureUnsupported);
    }
    const cudaError_t e = enqueue(stream, "cudaMemcpyAsync DtoH", [=] { std::memcpy(dst, src, bytes); });
    if (e != cudaSuccess) return set_error(e);
    drain_stream(stream);
    return cudaSuccess;
  }
  return set_error(enqueue(stream, "cudaMemcpyAsync", [=] { std::memcpy(dst, src, bytes); }));
}

cudaError_t cudaMemsetAsync(void* dst, int value, std::size_t bytes, cudaStream_t stream) {
  if (bytes == 0) return cudaSuccess;
  require_device_range(dst, bytes, "cudaMemsetAsync", "destination");
  return set_error(enqueue(stream, "cudaMemsetAsync", [=] { std::memset(dst, value, bytes); }));
}

cudaError_t cudaMemset(void* dst, int value, std::size_t bytes) {
  if (any_capture()) {
    invalidate_captures("cudaMemset (synchronous)");
    return set_error(cudaErrorStreamCaptureImplicit);
  }
  const cudaError_t e = cudaMemsetAsync(dst, value, bytes, nullptr);
  if (e == cudaSuccess) drain_stream(nullptr);
  return e;
}
