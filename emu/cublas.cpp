// The emulated cuBLAS: handles, their stream/workspace/math-mode state, and GEMMs computed on the
// host when the handle's stream runs. Every call checks cuBLAS's documented contract and stops the
// process with a clear message when it is broken (operands that are not device memory of the
// extent the call reads or writes, leading dimensions, dead handles or streams, and a GEMM captured
// into a CUDA Graph while cuBLAS would use its default workspace pool).
//
// Arithmetic: inputs converted to fp32 (bf16 widened; tf32 rounded to nearest, ties away, keeping
// 10 mantissa bits, when the math mode or compute type allows it), products accumulated in fp32 in
// increasing k with fused multiply-adds (as FFMA does), then alpha/beta/bias, then the output type
// (bf16 rounded to nearest even).
#include <cublas_v2.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <unordered_set>
#include <vector>

#include "emu/internal.h"

using cmt::emu::fail_host;

struct cublasContext {
  cudaStream_t stream = nullptr;
  void* workspace = nullptr;
  std::size_t workspace_bytes = 0;
  bool user_workspace = false;  // cublasSetWorkspace since the last cublasSetStream
  cublasMath_t math = CUBLAS_DEFAULT_MATH;
};

namespace {

std::mutex g_mutex;
std::unordered_set<const cublasContext*>& live_handles() {
  static auto* s = new std::unordered_set<const cublasContext*>;  // never destroyed: used at exit
  return *s;
}

cublasContext* live(cublasHandle_t h, const char* who) {
  if (!h) fail_host("%s: handle is null (cublasCreate did not run or failed)", who);
  std::lock_guard<std::mutex> lock(g_mutex);
  if (!live_handles().count(h)) fail_host("%s: handle %p is not a live cuBLAS handle (destroyed, or never created)", who, static_cast<void*>(h));
  return h;
}

void check_stream(cudaStream_t stream, const char* who) {
  if (!cmt::emu::is_valid_stream(stream))
    fail_host("%s: the handle's stream %p is not a valid stream (destroyed or never created)", who, static_cast<void*>(stream));
}

const char* type_name(cudaDataType_t t) {
  switch (t) {
    case CUDA_R_32F: return "CUDA_R_32F";
    case CUDA_R_16BF: return "CUDA_R_16BF";
    case CUDA_R_16F: return "CUDA_R_16F";
    case CUDA_R_64F: return "CUDA_R_64F";
    case CUDA_R_8I: return "CUDA_R_8I";
    case CUDA_R_32I: return "CUDA_R_32I";
    default: return "an unknown cudaDataType";
  }
}

std::size_t type_size(cudaDataType_t t, const char* who, const char* what) {
  if (t == CUDA_R_32F) return 4;
  if (t == CUDA_R_16BF) return 2;
  fail_host("%s: %s has type %s (%d); the emulator supports CUDA_R_32F and CUDA_R_16BF", who, what, type_name(t), static_cast<int>(t));
}

float load(const void* p, cudaDataType_t t, std::int64_t i) {
  if (t == CUDA_R_32F) return static_cast<const float*>(p)[i];
  const std::uint32_t bits = static_cast<std::uint32_t>(static_cast<const std::uint16_t*>(p)[i]) << 16;
  float v;
  std::memcpy(&v, &bits, 4);
  return v;
}

std::uint16_t to_bf16(float v) {
  std::uint32_t bits;
  std::memcpy(&bits, &v, 4);
  if (std::isnan(v)) return static_cast<std::uint16_t>((bits >> 16) | 0x0040u);  // stays a (quiet) NaN
  bits += 0x7fffu + ((bits >> 16) & 1u);                                         // nearest, ties to even
  return static_cast<std::uint16_t>(bits >> 16);
}

void store(void* p, cudaDataType_t t, std::int64_t i, float v) {
  if (t == CUDA_R_32F)
    static_cast<float*>(p)[i] = v;
  else
    static_cast<std::uint16_t*>(p)[i] = to_bf16(v);
}

float to_tf32(float v) {
  if (!std::isfinite(v)) return v;
  std::uint32_t bits;
  std::memcpy(&bits, &v, 4);
  bits = (bits + 0x1000u) & 0xffffe000u;  // nearest, ties away (cvt.rna.tf32.f32)
  std::memcpy(&v, &bits, 4);
  return v;
}

// Bytes spanned by a column-major rows x cols matrix with leading dimension ld (0 when empty).
std::size_t extent(std::int64_t rows, std::int64_t cols, std::int64_t ld, std::size_t elem) {
  if (rows <= 0 || cols <= 0) return 0;
  return static_cast<std::size_t>((cols - 1) * ld + rows) * elem;
}

struct Span {
  std::uintptr_t p;
  std::int64_t rows, cols, ld;
  std::size_t elem;
};

// Whether two column-major matrices share a byte (exact: walks the columns of both in address order).
bool overlap(const Span& x, const Span& y) {
  const std::size_t xe = extent(x.rows, x.cols, x.ld, x.elem), ye = extent(y.rows, y.cols, y.ld, y.elem);
  if (xe == 0 || ye == 0 || x.p >= y.p + ye || y.p >= x.p + xe) return false;
  std::int64_t i = 0, j = 0;
  while (i < x.cols && j < y.cols) {
    const std::uintptr_t x0 = x.p + static_cast<std::uintptr_t>(i * x.ld) * x.elem, x1 = x0 + x.rows * x.elem;
    const std::uintptr_t y0 = y.p + static_cast<std::uintptr_t>(j * y.ld) * y.elem, y1 = y0 + y.rows * y.elem;
    if (x0 < y1 && y0 < x1) return true;
    if (x1 <= y1) ++i; else ++j;
  }
  return false;
}

void run_gemm(const cmt::emu::GemmCall& g) {
  const std::int64_t m = g.m, n = g.n, k = g.k;
  // op(A) as m rows of k, op(B) as n columns of k: the dot products run over contiguous memory.
  std::vector<float> a(static_cast<std::size_t>(m * k)), b(static_cast<std::size_t>(n * k));
  const auto in = [&](float v) { return g.tf32 ? to_tf32(v) : v; };
  for (std::int64_t i = 0; i < m; ++i)
    for (std::int64_t l = 0; l < k; ++l)
      a[i * k + l] = in(load(g.a, g.a_type, g.trans_a ? l + i * g.lda : i + l * g.lda));
  for (std::int64_t j = 0; j < n; ++j)
    for (std::int64_t l = 0; l < k; ++l)
      b[j * k + l] = in(load(g.b, g.b_type, g.trans_b ? j + l * g.ldb : l + j * g.ldb));
  for (std::int64_t j = 0; j < n; ++j) {
    for (std::int64_t i = 0; i < m; ++i) {
      const float* x = a.data() + i * k;
      const float* y = b.data() + j * k;
      float acc = 0.f;
      for (std::int64_t l = 0; l < k; ++l) acc = std::fma(x[l], y[l], acc);
      float r = g.alpha * acc;
      if (g.beta != 0.f) r = std::fma(g.beta, load(g.c, g.c_type, i + j * g.ldc), r);  // beta == 0: C is not read
      if (g.bias) r += load(g.bias, g.bias_type, i);
      store(g.d, g.d_type, i + j * g.ldd, r);
    }
  }
}

}  // namespace

namespace cmt::emu {

cublasStatus_t submit_gemm(const char* who, cudaStream_t stream, const GemmCall& g) {
  if (g.m < 0 || g.n < 0 || g.k < 0) fail_host("%s: negative size m=%lld n=%lld k=%lld", who, static_cast<long long>(g.m), static_cast<long long>(g.n), static_cast<long long>(g.k));
  const std::size_t ea = type_size(g.a_type, who, "A"), eb = type_size(g.b_type, who, "B");
  const std::size_t ec = type_size(g.c_type, who, "C"), ed = type_size(g.d_type, who, "D");
  const std::int64_t a_rows = g.trans_a ? g.k : g.m, a_cols = g.trans_a ? g.m : g.k;
  const std::int64_t b_rows = g.trans_b ? g.n : g.k, b_cols = g.trans_b ? g.k : g.n;
  const auto ld_ok = [&](const char* name, std::int64_t ld, std::int64_t rows) {
    if (ld < 1 || ld < rows)
      fail_host("%s: ld%s = %lld is less than max(1, rows of %c as stored) = %lld (m=%lld n=%lld k=%lld, transa %c, transb %c)", who,
                name, static_cast<long long>(ld), name[0] - 'a' + 'A', static_cast<long long>(rows < 1 ? 1 : rows),
                static_cast<long long>(g.m), static_cast<long long>(g.n), static_cast<long long>(g.k), g.trans_a ? 'T' : 'N',
                g.trans_b ? 'T' : 'N');
  };
  ld_ok("a", g.lda, a_rows);
  ld_ok("b", g.ldb, b_rows);
  ld_ok("c", g.ldc, g.m);
  if (g.d != g.c) ld_ok("d", g.ldd, g.m);
  if (g.m == 0 || g.n == 0) return CUBLAS_STATUS_SUCCESS;  // cuBLAS returns at once

  if (g.k > 0) {  // k == 0: A and B are not read (D = beta C + bias)
    require_device_range(g.a, extent(a_rows, a_cols, g.lda, ea), who, "A");
    require_device_range(g.b, extent(b_rows, b_cols, g.ldb, eb), who, "B");
  }
  require_device_range(g.d, extent(g.m, g.n, g.ldd, ed), who, g.d == g.c ? "C" : "D");
  const bool reads_c = g.beta != 0.f;
  if (reads_c && g.c != g.d) require_device_range(g.c, extent(g.m, g.n, g.ldc, ec), who, "C");
  if (g.bias) require_device_range(g.bias, static_cast<std::size_t>(g.m) * type_size(g.bias_type, who, "the bias"), who, "bias");
  const auto misaligned = [](const void* p, std::size_t e) { return reinterpret_cast<std::uintptr_t>(p) % e != 0; };
  if ((g.k > 0 && (misaligned(g.a, ea) || misaligned(g.b, eb))) || misaligned(g.d, ed) || (reads_c && misaligned(g.c, ec)))
    fail_host("%s: a matrix pointer is not aligned to its element size (A %p, B %p, C %p, D %p)", who, g.a, g.b, g.c, g.d);

  // The output must not alias the inputs (the GPU reads them while D is written); C is D or disjoint.
  const Span d{reinterpret_cast<std::uintptr_t>(g.d), g.m, g.n, g.ldd, ed};
  const char* out = g.d == g.c ? "C" : "D";
  if (overlap(d, {reinterpret_cast<std::uintptr_t>(g.a), a_rows, a_cols, g.lda, ea}))
    fail_host("%s: the output %s (%p) overlaps A (%p); cuBLAS does not compute in place", who, out, g.d, g.a);
  if (overlap(d, {reinterpret_cast<std::uintptr_t>(g.b), b_rows, b_cols, g.ldb, eb}))
    fail_host("%s: the output %s (%p) overlaps B (%p); cuBLAS does not compute in place", who, out, g.d, g.b);
  if (g.bias && overlap(d, {reinterpret_cast<std::uintptr_t>(g.bias), g.m, 1, g.m, type_size(g.bias_type, who, "the bias")}))
    fail_host("%s: the output D (%p) overlaps the bias (%p)", who, g.d, g.bias);
  if (reads_c && g.c == g.d && (g.ldc != g.ldd || g.c_type != g.d_type))
    fail_host("%s: C and D are the same memory but differ in leading dimension or type (ldc %lld, ldd %lld)", who,
              static_cast<long long>(g.ldc), static_cast<long long>(g.ldd));
  if (reads_c && g.c != g.d && overlap(d, {reinterpret_cast<std::uintptr_t>(g.c), g.m, g.n, g.ldc, ec}))
    fail_host("%s: C (%p) and D (%p) overlap without being the same matrix", who, g.c, g.d);

  const cudaError_t e = enqueue(stream, who, [g] { run_gemm(g); });
  return e == cudaSuccess ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_EXECUTION_FAILED;
}

}  // namespace cmt::emu

namespace {

bool transposed(cublasOperation_t op, const char* who, const char* name) {
  if (op == CUBLAS_OP_N) return false;
  if (op == CUBLAS_OP_T || op == CUBLAS_OP_C) return true;  // conjugation is the identity on real matrices
  fail_host("%s: %s = %d is not a cublasOperation_t for a real GEMM (CUBLAS_OP_N, _T or _C)", who, name, static_cast<int>(op));
}

float host_scalar(const void* p, const char* who, const char* name) {
  if (!p) fail_host("%s: %s is null", who, name);
  // The emulated handles use CUBLAS_POINTER_MODE_HOST only: the scalar is read now, on the host.
  if (cmt::emu::is_device_range(p, sizeof(float)))
    fail_host("%s: %s (%p) is device memory, but the pointer mode is CUBLAS_POINTER_MODE_HOST", who, name, p);
  return *static_cast<const float*>(p);
}

// Checks the handle's state for a GEMM about to be queued and returns its stream.
cudaStream_t gemm_stream(cublasContext* h, const char* who) {
  check_stream(h->stream, who);
  if (cmt::emu::is_capturing(h->stream) && !h->user_workspace)
    fail_host("%s: cuBLAS inside a graph capture needs a user workspace set after cublasSetStream (cublasSetStream resets "
              "the workspace to cuBLAS's default pool, which a captured graph must not use); call cublasSetWorkspace after "
              "every cublasSetStream on a handle used in a capture",
              who);
  if (h->user_workspace && h->workspace_bytes > 0 && !cmt::emu::is_device_range(h->workspace, h->workspace_bytes))
    fail_host("%s: the workspace set by cublasSetWorkspace (%p, %zu bytes) is no longer live device memory", who, h->workspace,
              h->workspace_bytes);
  return h->stream;
}

bool math_allows_tf32(cublasMath_t mode) {
  return (static_cast<int>(mode) & ~static_cast<int>(CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION)) == CUBLAS_TF32_TENSOR_OP_MATH;
}

}  // namespace

cublasStatus_t cublasCreate(cublasHandle_t* handle) {
  if (!handle) fail_host("cublasCreate: handle is null");
  auto* h = new cublasContext;
  std::lock_guard<std::mutex> lock(g_mutex);
  live_handles().insert(h);
  *handle = h;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy(cublasHandle_t handle) {
  cublasContext* h = live(handle, "cublasDestroy");
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    live_handles().erase(h);
  }
  delete h;  // queued GEMMs hold copies of what they need
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream(cublasHandle_t handle, cudaStream_t stream) {
  cublasContext* h = live(handle, "cublasSetStream");
  check_stream(stream, "cublasSetStream");
  h->stream = stream;
  // cuBLAS: "cublasSetStream() unconditionally resets the cuBLAS library workspace back to the
  // default workspace pool".
  h->workspace = nullptr;
  h->workspace_bytes = 0;
  h->user_workspace = false;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetStream(cublasHandle_t handle, cudaStream_t* stream) {
  cublasContext* h = live(handle, "cublasGetStream");
  if (!stream) return CUBLAS_STATUS_INVALID_VALUE;
  *stream = h->stream;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetWorkspace(cublasHandle_t handle, void* workspace, std::size_t workspaceSizeInBytes) {
  cublasContext* h = live(handle, "cublasSetWorkspace");
  if (workspaceSizeInBytes > 0) {
    if (!workspace) fail_host("cublasSetWorkspace: workspace is null but the size is %zu bytes", workspaceSizeInBytes);
    if (reinterpret_cast<std::uintptr_t>(workspace) % 256 != 0)
      fail_host("cublasSetWorkspace: workspace %p is not aligned to 256 bytes", workspace);
    cmt::emu::require_device_range(workspace, workspaceSizeInBytes, "cublasSetWorkspace", "workspace");
  }
  h->workspace = workspace;
  h->workspace_bytes = workspaceSizeInBytes;
  h->user_workspace = true;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode) {
  cublasContext* h = live(handle, "cublasSetMathMode");
  const int base = static_cast<int>(mode) & ~static_cast<int>(CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION);
  if (base < CUBLAS_DEFAULT_MATH || base > CUBLAS_TF32_TENSOR_OP_MATH)
    fail_host("cublasSetMathMode: %d is not a cublasMath_t", static_cast<int>(mode));
  h->math = mode;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetMathMode(cublasHandle_t handle, cublasMath_t* mode) {
  cublasContext* h = live(handle, "cublasGetMathMode");
  if (!mode) fail_host("cublasGetMathMode: mode is null");
  *mode = h->math;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetProperty(libraryPropertyType type, int* value) {
  if (!value) return CUBLAS_STATUS_INVALID_VALUE;
  switch (type) {
    case MAJOR_VERSION: *value = CUBLAS_VER_MAJOR; return CUBLAS_STATUS_SUCCESS;
    case MINOR_VERSION: *value = CUBLAS_VER_MINOR; return CUBLAS_STATUS_SUCCESS;
    case PATCH_LEVEL: *value = CUBLAS_VER_PATCH; return CUBLAS_STATUS_SUCCESS;
  }
  return CUBLAS_STATUS_INVALID_VALUE;
}

const char* cublasGetStatusString(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_SUCCESS: return "the operation completed successfully";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "the library was not initialized";
    case CUBLAS_STATUS_ALLOC_FAILED: return "the resource allocation failed";
    case CUBLAS_STATUS_INVALID_VALUE: return "an invalid numeric value was used as an argument";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "an absent device architectural feature is required";
    case CUBLAS_STATUS_MAPPING_ERROR: return "an access to GPU memory space failed";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "the GPU program failed to execute";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "an internal operation failed";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "the functionality requested is not supported";
    case CUBLAS_STATUS_LICENSE_ERROR: return "error detected trying to check the license";
  }
  return "unknown error";
}

cublasStatus_t cublasSgemm(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k,
                           const float* alpha, const float* A, int lda, const float* B, int ldb, const float* beta,
                           float* C, int ldc) {
  constexpr const char* who = "cublasSgemm";
  cublasContext* h = live(handle, who);
  cmt::emu::GemmCall g;
  g.trans_a = transposed(transa, who, "transa");
  g.trans_b = transposed(transb, who, "transb");
  g.m = m, g.n = n, g.k = k;
  g.alpha = host_scalar(alpha, who, "alpha");
  g.beta = host_scalar(beta, who, "beta");
  g.a = A, g.lda = lda;
  g.b = B, g.ldb = ldb;
  g.c = C, g.ldc = ldc;
  g.d = C, g.ldd = ldc;
  g.tf32 = math_allows_tf32(h->math);
  const cudaStream_t stream = gemm_stream(h, who);
  return cmt::emu::submit_gemm(who, stream, g);
}

cublasStatus_t cublasGemmEx(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, int m, int n, int k,
                            const void* alpha, const void* A, cudaDataType Atype, int lda, const void* B,
                            cudaDataType Btype, int ldb, const void* beta, void* C, cudaDataType Ctype, int ldc,
                            cublasComputeType_t computeType, cublasGemmAlgo_t algo) {
  constexpr const char* who = "cublasGemmEx";
  cublasContext* h = live(handle, who);
  const int al = static_cast<int>(algo);
  if (!(al == CUBLAS_GEMM_DEFAULT || al == CUBLAS_GEMM_DEFAULT_TENSOR_OP || (al >= CUBLAS_GEMM_ALGO0 && al <= CUBLAS_GEMM_ALGO23) ||
        (al >= CUBLAS_GEMM_ALGO0_TENSOR_OP && al <= CUBLAS_GEMM_ALGO15_TENSOR_OP)))
    fail_host("%s: algo %d is not a cublasGemmAlgo_t", who, al);
  // cuBLAS's table of supported GemmEx types, restricted to fp32 and bf16 (all cmt uses).
  const bool f32 = Atype == CUDA_R_32F && Btype == CUDA_R_32F && Ctype == CUDA_R_32F;
  const bool bf16 = Atype == CUDA_R_16BF && Btype == CUDA_R_16BF && (Ctype == CUDA_R_16BF || Ctype == CUDA_R_32F);
  const bool c32 = computeType == CUBLAS_COMPUTE_32F || computeType == CUBLAS_COMPUTE_32F_PEDANTIC;
  const bool fast = computeType == CUBLAS_COMPUTE_32F_FAST_TF32;
  if (!((f32 && (c32 || fast)) || (bf16 && c32)))
    fail_host("%s: Atype %s, Btype %s, Ctype %s with computeType %d is not a supported combination (emulated: fp32 in/out with "
              "CUBLAS_COMPUTE_32F[_PEDANTIC|_FAST_TF32]; bf16 in, bf16 or fp32 out with CUBLAS_COMPUTE_32F[_PEDANTIC])",
              who, type_name(Atype), type_name(Btype), type_name(Ctype), static_cast<int>(computeType));
  cmt::emu::GemmCall g;
  g.trans_a = transposed(transa, who, "transa");
  g.trans_b = transposed(transb, who, "transb");
  g.m = m, g.n = n, g.k = k;
  g.alpha = host_scalar(alpha, who, "alpha");  // the scale type of every supported combination is fp32
  g.beta = host_scalar(beta, who, "beta");
  g.a = A, g.a_type = Atype, g.lda = lda;
  g.b = B, g.b_type = Btype, g.ldb = ldb;
  g.c = C, g.c_type = Ctype, g.ldc = ldc;
  g.d = C, g.d_type = Ctype, g.ldd = ldc;
  // COMPUTE_32F follows the handle's math mode; _PEDANTIC never rounds; _FAST_TF32 does unless pedantic math.
  const int base_math = static_cast<int>(h->math) & ~static_cast<int>(CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION);
  g.tf32 = f32 && ((fast && base_math != CUBLAS_PEDANTIC_MATH) || (computeType == CUBLAS_COMPUTE_32F && math_allows_tf32(h->math)));
  const cudaStream_t stream = gemm_stream(h, who);
  return cmt::emu::submit_gemm(who, stream, g);
}
