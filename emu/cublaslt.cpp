// The emulated cuBLASLt: descriptors, a heuristic that offers one algorithm, and matmuls queued on
// the caller's stream and computed on the host by the emulated cuBLAS (emu/cublas.cpp). Every call
// checks cuBLASLt's documented contract and stops the process with a clear message when it is
// broken: dead or mismatched descriptors, operands that are not device memory of their layout's
// extent, a workspace smaller than claimed, pointers less aligned than the preference promised.
#include <cublasLt.h>

#include <cstdint>
#include <cstring>
#include <mutex>
#include <unordered_set>

#include "emu/internal.h"

using cmt::emu::fail_host;

struct cublasLtContext {
  int unused = 0;
};

struct cublasLtMatmulDescOpaque_t {
  cublasComputeType_t compute;
  cudaDataType_t scale;
  cublasOperation_t trans_a = CUBLAS_OP_N, trans_b = CUBLAS_OP_N;
  cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_DEFAULT;
  const void* bias = nullptr;
  std::int32_t bias_type = -1;  // -1: the type of D
};

struct cublasLtMatrixLayoutOpaque_t {
  cudaDataType_t type;
  std::uint64_t rows, cols;
  std::int64_t ld;
};

struct cublasLtMatmulPreferenceOpaque_t {
  std::uint64_t max_workspace = 0;
  std::uint32_t align[4] = {256, 256, 256, 256};  // A, B, C, D; cuBLASLt's default is 256 bytes
};

namespace {

constexpr std::uint64_t kAlgoMagic = 0x636d742d6c74616cull;  // marks algorithms from the emulated heuristic

std::mutex g_mutex;
std::unordered_set<const void*>& live_objects() {
  static auto* s = new std::unordered_set<const void*>;  // never destroyed: used at exit
  return *s;
}

void track(const void* p) {
  std::lock_guard<std::mutex> lock(g_mutex);
  live_objects().insert(p);
}

void untrack(const void* p, const char* who, const char* what) {
  if (!p) fail_host("%s: %s is null", who, what);
  std::lock_guard<std::mutex> lock(g_mutex);
  if (live_objects().erase(p) == 0) fail_host("%s: %s %p is not live (destroyed twice, or never created)", who, what, p);
}

template <class T>
T* live(T* p, const char* who, const char* what) {
  if (!p) fail_host("%s: %s is null", who, what);
  std::lock_guard<std::mutex> lock(g_mutex);
  if (!live_objects().count(p)) fail_host("%s: %s %p is not live (destroyed, or never created)", who, what, static_cast<const void*>(p));
  return p;
}

template <class T>
void take(void* dst, const void* buf, std::size_t size, const char* who, const char* attr) {
  if (!buf) fail_host("%s: %s: buf is null", who, attr);
  if (size != sizeof(T)) fail_host("%s: %s takes %zu bytes, sizeInBytes is %zu", who, attr, sizeof(T), size);
  std::memcpy(dst, buf, sizeof(T));
}

bool supported_type(cudaDataType_t t) { return t == CUDA_R_32F || t == CUDA_R_16BF; }

// The problem the descriptors describe, checked for consistency.
struct Problem {
  std::int64_t m, n, k;
  bool ta, tb;
  cudaDataType_t bias_type;
  std::uint64_t fingerprint;
};

Problem problem(cublasLtMatmulDesc_t op, cublasLtMatrixLayout_t a, cublasLtMatrixLayout_t b, cublasLtMatrixLayout_t c,
                cublasLtMatrixLayout_t d, const char* who) {
  live(op, who, "the matmul descriptor");
  live(a, who, "Adesc");
  live(b, who, "Bdesc");
  live(c, who, "Cdesc");
  live(d, who, "Ddesc");
  Problem p{};
  p.ta = op->trans_a != CUBLAS_OP_N;
  p.tb = op->trans_b != CUBLAS_OP_N;
  const auto i64 = [](std::uint64_t v) { return static_cast<std::int64_t>(v); };
  const std::int64_t am = p.ta ? i64(a->cols) : i64(a->rows), ak = p.ta ? i64(a->rows) : i64(a->cols);
  const std::int64_t bk = p.tb ? i64(b->cols) : i64(b->rows), bn = p.tb ? i64(b->rows) : i64(b->cols);
  p.m = i64(d->rows);
  p.n = i64(d->cols);
  p.k = ak;
  if (am != p.m || bn != p.n || bk != ak)
    fail_host("%s: the shapes do not chain: op(A) is %lld x %lld (A %llu x %llu, transa %s), op(B) is %lld x %lld (B %llu x %llu, "
              "transb %s), D is %llu x %llu",
              who, static_cast<long long>(am), static_cast<long long>(ak), static_cast<unsigned long long>(a->rows),
              static_cast<unsigned long long>(a->cols), p.ta ? "T" : "N", static_cast<long long>(bk), static_cast<long long>(bn),
              static_cast<unsigned long long>(b->rows), static_cast<unsigned long long>(b->cols), p.tb ? "T" : "N",
              static_cast<unsigned long long>(d->rows), static_cast<unsigned long long>(d->cols));
  if (c->rows != d->rows || c->cols != d->cols)
    fail_host("%s: C is %llu x %llu but D is %llu x %llu", who, static_cast<unsigned long long>(c->rows),
              static_cast<unsigned long long>(c->cols), static_cast<unsigned long long>(d->rows), static_cast<unsigned long long>(d->cols));
  if (c->type != d->type) fail_host("%s: C and D differ in type (%d, %d)", who, static_cast<int>(c->type), static_cast<int>(d->type));
  // cuBLASLt's table, restricted to what is emulated: fp32 in/out (32F or 32F_FAST_TF32), bf16 in with bf16/fp32 out (32F).
  const bool f32 = a->type == CUDA_R_32F && b->type == CUDA_R_32F && d->type == CUDA_R_32F;
  const bool bf16 = a->type == CUDA_R_16BF && b->type == CUDA_R_16BF && (d->type == CUDA_R_16BF || d->type == CUDA_R_32F);
  const bool c32 = op->compute == CUBLAS_COMPUTE_32F || op->compute == CUBLAS_COMPUTE_32F_PEDANTIC;
  if (!((f32 && (c32 || op->compute == CUBLAS_COMPUTE_32F_FAST_TF32)) || (bf16 && c32)))
    fail_host("%s: A type %d, B type %d, C/D type %d with compute type %d is not a supported combination (emulated: fp32 with "
              "CUBLAS_COMPUTE_32F[_PEDANTIC|_FAST_TF32]; bf16 in, bf16 or fp32 out with CUBLAS_COMPUTE_32F[_PEDANTIC])",
              who, static_cast<int>(a->type), static_cast<int>(b->type), static_cast<int>(d->type), static_cast<int>(op->compute));
  p.bias_type = op->bias_type == -1 ? d->type : static_cast<cudaDataType_t>(op->bias_type);
  if (op->epilogue == CUBLASLT_EPILOGUE_BIAS && p.bias_type != d->type && p.bias_type != CUDA_R_32F)
    fail_host("%s: bias type %d is neither D's type nor CUDA_R_32F", who, static_cast<int>(p.bias_type));
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a over what an algorithm is chosen for
  for (std::uint64_t v : {static_cast<std::uint64_t>(p.m), static_cast<std::uint64_t>(p.n), static_cast<std::uint64_t>(p.k),
                          static_cast<std::uint64_t>(p.ta), static_cast<std::uint64_t>(p.tb), static_cast<std::uint64_t>(a->type),
                          static_cast<std::uint64_t>(b->type), static_cast<std::uint64_t>(d->type),
                          static_cast<std::uint64_t>(op->compute), static_cast<std::uint64_t>(op->epilogue)})
    h = (h ^ v) * 1099511628211ull;
  p.fingerprint = h;
  return p;
}

float host_scalar(const void* p, const char* who, const char* name) {
  if (!p) fail_host("%s: %s is null", who, name);
  // Only CUBLASLT_POINTER_MODE_HOST is emulated: the scalar is read now, on the host.
  if (cmt::emu::is_device_range(p, sizeof(float)))
    fail_host("%s: %s (%p) is device memory, but the pointer mode is CUBLASLT_POINTER_MODE_HOST", who, name, p);
  return *static_cast<const float*>(p);
}

}  // namespace

cublasStatus_t cublasLtCreate(cublasLtHandle_t* lightHandle) {
  if (!lightHandle) fail_host("cublasLtCreate: lightHandle is null");
  auto* h = new cublasLtContext;
  track(h);
  *lightHandle = h;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtDestroy(cublasLtHandle_t lightHandle) {
  untrack(lightHandle, "cublasLtDestroy", "lightHandle");
  delete lightHandle;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescCreate(cublasLtMatmulDesc_t* matmulDesc, cublasComputeType_t computeType, cudaDataType_t scaleType) {
  constexpr const char* who = "cublasLtMatmulDescCreate";
  if (!matmulDesc) fail_host("%s: matmulDesc is null", who);
  if (computeType != CUBLAS_COMPUTE_32F && computeType != CUBLAS_COMPUTE_32F_PEDANTIC && computeType != CUBLAS_COMPUTE_32F_FAST_TF32)
    fail_host("%s: compute type %d is not emulated (CUBLAS_COMPUTE_32F, _32F_PEDANTIC, _32F_FAST_TF32)", who, static_cast<int>(computeType));
  if (scaleType != CUDA_R_32F) fail_host("%s: scale type %d must be CUDA_R_32F for a 32F compute type", who, static_cast<int>(scaleType));
  auto* d = new cublasLtMatmulDescOpaque_t{computeType, scaleType};
  track(d);
  *matmulDesc = d;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t matmulDesc) {
  untrack(matmulDesc, "cublasLtMatmulDescDestroy", "matmulDesc");
  delete matmulDesc;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t matmulDesc, cublasLtMatmulDescAttributes_t attr, const void* buf,
                                              std::size_t sizeInBytes) {
  constexpr const char* who = "cublasLtMatmulDescSetAttribute";
  cublasLtMatmulDescOpaque_t* d = live(matmulDesc, who, "matmulDesc");
  switch (attr) {
    case CUBLASLT_MATMUL_DESC_TRANSA:
    case CUBLASLT_MATMUL_DESC_TRANSB: {
      std::int32_t v;
      take<std::int32_t>(&v, buf, sizeInBytes, who, attr == CUBLASLT_MATMUL_DESC_TRANSA ? "TRANSA" : "TRANSB");
      if (v != CUBLAS_OP_N && v != CUBLAS_OP_T && v != CUBLAS_OP_C) fail_host("%s: %d is not a cublasOperation_t", who, v);
      (attr == CUBLASLT_MATMUL_DESC_TRANSA ? d->trans_a : d->trans_b) = static_cast<cublasOperation_t>(v);
      return CUBLAS_STATUS_SUCCESS;
    }
    case CUBLASLT_MATMUL_DESC_EPILOGUE: {
      std::uint32_t v;
      take<std::uint32_t>(&v, buf, sizeInBytes, who, "EPILOGUE");
      if (v != CUBLASLT_EPILOGUE_DEFAULT && v != CUBLASLT_EPILOGUE_BIAS)
        fail_host("%s: epilogue %u is not emulated (CUBLASLT_EPILOGUE_DEFAULT, CUBLASLT_EPILOGUE_BIAS)", who, v);
      d->epilogue = static_cast<cublasLtEpilogue_t>(v);
      return CUBLAS_STATUS_SUCCESS;
    }
    case CUBLASLT_MATMUL_DESC_BIAS_POINTER:
      take<const void*>(&d->bias, buf, sizeInBytes, who, "BIAS_POINTER");
      return CUBLAS_STATUS_SUCCESS;
    case CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE: {
      std::int32_t v;
      take<std::int32_t>(&v, buf, sizeInBytes, who, "BIAS_DATA_TYPE");
      if (v != -1 && !supported_type(static_cast<cudaDataType_t>(v)))
        fail_host("%s: bias data type %d is not emulated (CUDA_R_32F, CUDA_R_16BF)", who, v);
      d->bias_type = v;
      return CUBLAS_STATUS_SUCCESS;
    }
    default:
      fail_host("%s: attribute %d is not emulated (TRANSA, TRANSB, EPILOGUE, BIAS_POINTER, BIAS_DATA_TYPE)", who, static_cast<int>(attr));
  }
}

cublasStatus_t cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t* matLayout, cudaDataType type, std::uint64_t rows, std::uint64_t cols,
                                          std::int64_t ld) {
  constexpr const char* who = "cublasLtMatrixLayoutCreate";
  if (!matLayout) fail_host("%s: matLayout is null", who);
  if (!supported_type(type)) fail_host("%s: type %d is not emulated (CUDA_R_32F, CUDA_R_16BF)", who, static_cast<int>(type));
  if (rows > (std::uint64_t{1} << 40) || cols > (std::uint64_t{1} << 40))
    fail_host("%s: %llu x %llu is not a sensible size (a negative value cast?)", who, static_cast<unsigned long long>(rows),
              static_cast<unsigned long long>(cols));
  // Column-major (the default order): the leading dimension spans at least a column.
  if (ld < 1 || static_cast<std::uint64_t>(ld) < rows)
    fail_host("%s: ld %lld is less than max(1, rows = %llu) for a column-major layout", who, static_cast<long long>(ld),
              static_cast<unsigned long long>(rows));
  auto* l = new cublasLtMatrixLayoutOpaque_t{type, rows, cols, ld};
  track(l);
  *matLayout = l;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t matLayout) {
  untrack(matLayout, "cublasLtMatrixLayoutDestroy", "matLayout");
  delete matLayout;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t* pref) {
  if (!pref) fail_host("cublasLtMatmulPreferenceCreate: pref is null");
  auto* p = new cublasLtMatmulPreferenceOpaque_t;
  track(p);
  *pref = p;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t pref) {
  untrack(pref, "cublasLtMatmulPreferenceDestroy", "pref");
  delete pref;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t pref, cublasLtMatmulPreferenceAttributes_t attr,
                                                    const void* buf, std::size_t sizeInBytes) {
  constexpr const char* who = "cublasLtMatmulPreferenceSetAttribute";
  cublasLtMatmulPreferenceOpaque_t* p = live(pref, who, "pref");
  switch (attr) {
    case CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES:
      take<std::uint64_t>(&p->max_workspace, buf, sizeInBytes, who, "MAX_WORKSPACE_BYTES");
      return CUBLAS_STATUS_SUCCESS;
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES:
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES:
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES:
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES: {
      std::uint32_t v;
      take<std::uint32_t>(&v, buf, sizeInBytes, who, "MIN_ALIGNMENT_*_BYTES");
      if (v == 0 || (v & (v - 1)) != 0) fail_host("%s: minimum alignment %u is not a power of two", who, v);
      p->align[attr - CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES] = v;
      return CUBLAS_STATUS_SUCCESS;
    }
    default:
      fail_host("%s: attribute %d is not emulated (MAX_WORKSPACE_BYTES, MIN_ALIGNMENT_{A,B,C,D}_BYTES)", who, static_cast<int>(attr));
  }
}

cublasStatus_t cublasLtMatmulAlgoGetHeuristic(cublasLtHandle_t lightHandle, cublasLtMatmulDesc_t operationDesc,
                                              cublasLtMatrixLayout_t Adesc, cublasLtMatrixLayout_t Bdesc, cublasLtMatrixLayout_t Cdesc,
                                              cublasLtMatrixLayout_t Ddesc, cublasLtMatmulPreference_t preference,
                                              int requestedAlgoCount, cublasLtMatmulHeuristicResult_t heuristicResultsArray[],
                                              int* returnAlgoCount) {
  constexpr const char* who = "cublasLtMatmulAlgoGetHeuristic";
  live(lightHandle, who, "lightHandle");
  live(preference, who, "preference");
  if (requestedAlgoCount < 1) fail_host("%s: requestedAlgoCount is %d (at least 1)", who, requestedAlgoCount);
  if (!heuristicResultsArray || !returnAlgoCount) fail_host("%s: heuristicResultsArray or returnAlgoCount is null", who);
  const Problem p = problem(operationDesc, Adesc, Bdesc, Cdesc, Ddesc, who);
  // One algorithm that needs no workspace; it remembers the alignments it was chosen for.
  cublasLtMatmulHeuristicResult_t r{};
  r.algo.data[0] = kAlgoMagic;
  for (int i = 0; i < 4; ++i) r.algo.data[1 + i] = preference->align[i];
  r.algo.data[5] = p.fingerprint;
  r.workspaceSize = 0;
  r.state = CUBLAS_STATUS_SUCCESS;
  r.wavesCount = 1.f;
  heuristicResultsArray[0] = r;
  *returnAlgoCount = 1;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmul(cublasLtHandle_t lightHandle, cublasLtMatmulDesc_t computeDesc, const void* alpha, const void* A,
                              cublasLtMatrixLayout_t Adesc, const void* B, cublasLtMatrixLayout_t Bdesc, const void* beta,
                              const void* C, cublasLtMatrixLayout_t Cdesc, void* D, cublasLtMatrixLayout_t Ddesc,
                              const cublasLtMatmulAlgo_t* algo, void* workspace, std::size_t workspaceSizeInBytes,
                              cudaStream_t stream) {
  constexpr const char* who = "cublasLtMatmul";
  live(lightHandle, who, "lightHandle");
  const Problem p = problem(computeDesc, Adesc, Bdesc, Cdesc, Ddesc, who);
  if (!cmt::emu::is_valid_stream(stream))
    fail_host("%s: stream %p is not a valid stream (destroyed or never created)", who, static_cast<void*>(stream));
  if (workspaceSizeInBytes > 0) {
    if (!workspace) fail_host("%s: workspace is null but workspaceSizeInBytes is %zu", who, workspaceSizeInBytes);
    if (reinterpret_cast<std::uintptr_t>(workspace) % 256 != 0) fail_host("%s: workspace %p is not aligned to 256 bytes", who, workspace);
    cmt::emu::require_device_range(workspace, workspaceSizeInBytes, who, "workspace (of the size claimed)");
  }
  if (algo) {
    if (algo->data[0] != kAlgoMagic) fail_host("%s: algo was not returned by cublasLtMatmulAlgoGetHeuristic", who);
    if (algo->data[5] != p.fingerprint)
      fail_host("%s: algo was returned by the heuristic for a different problem (shape, types, transposes or epilogue)", who);
    const void* ptrs[4] = {A, B, C, D};
    const char* names = "ABCD";
    for (int i = 0; i < 4; ++i) {
      const std::uint64_t need = algo->data[1 + i];
      if (reinterpret_cast<std::uintptr_t>(ptrs[i]) % need != 0)
        fail_host("%s: %c (%p) is not aligned to the %llu bytes that CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_%c_BYTES promised the heuristic",
                  who, names[i], ptrs[i], static_cast<unsigned long long>(need), names[i]);
    }
  }
  cmt::emu::GemmCall g;
  g.trans_a = p.ta;
  g.trans_b = p.tb;
  g.m = p.m, g.n = p.n, g.k = p.k;
  g.alpha = host_scalar(alpha, who, "alpha");
  g.beta = host_scalar(beta, who, "beta");
  g.a = A, g.a_type = Adesc->type, g.lda = Adesc->ld;
  g.b = B, g.b_type = Bdesc->type, g.ldb = Bdesc->ld;
  g.c = C, g.c_type = Cdesc->type, g.ldc = Cdesc->ld;
  g.d = D, g.d_type = Ddesc->type, g.ldd = Ddesc->ld;
  g.tf32 = computeDesc->compute == CUBLAS_COMPUTE_32F_FAST_TF32;
  if (computeDesc->epilogue == CUBLASLT_EPILOGUE_BIAS) {
    // cuBLASLt: the bias vector's length is the number of rows of D, broadcast over its columns.
    if (!computeDesc->bias) fail_host("%s: epilogue CUBLASLT_EPILOGUE_BIAS without a BIAS_POINTER", who);
    g.bias = computeDesc->bias;
    g.bias_type = p.bias_type;
  }
  return cmt::emu::submit_gemm(who, stream, g);
}
