// CUDA fully connected layer: cuBLASLt matmul with the bias fused in the epilogue, cuBLAS GEMMs backward.
// Row-major y (n,out) is column-major y^T (out,n) = w x^T: A = w stored (in,out) col-major, op T.
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <utility>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/cublas_stream.h"
#include "kernels/cuda/reduce.cuh"
#include "kernels/linear.h"

namespace cmt::cuda {

namespace {

constexpr std::size_t kLtWorkspace = std::size_t{4} << 20;

template <typename T>
struct StoreSum {
  T* out;
  __device__ void operator()(std::int64_t, std::int64_t col, double s, double) const {
    elem::store(out[col], static_cast<float>(s));
  }
};

// RAII for the Lt descriptors of one call.
struct LtDescs {
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, d = nullptr;
  cublasLtMatmulPreference_t pref = nullptr;
  ~LtDescs() {
    if (pref) cublasLtMatmulPreferenceDestroy(pref);
    if (d) cublasLtMatrixLayoutDestroy(d);
    if (b) cublasLtMatrixLayoutDestroy(b);
    if (a) cublasLtMatrixLayoutDestroy(a);
    if (op) cublasLtMatmulDescDestroy(op);
  }
};

}  // namespace

std::size_t linear_workspace_bytes(std::int64_t n, std::int64_t out) {
  return std::max(kLtWorkspace, colred::workspace_bytes(1, n, out));
}

void linear_forward(cublasLtHandle_t lt, bool bf16, const void* x, const void* w, const void* bias, void* y, std::int64_t n,
                    std::int64_t in, std::int64_t out, bool tf32, void* workspace, std::size_t workspace_bytes,
                    cudaStream_t stream) {
  LtDescs s;
  const cublasComputeType_t compute = tf32 && !bf16 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  const cudaDataType_t type = bf16 ? CUDA_R_16BF : CUDA_R_32F;
  CUBLAS_CHECK(cublasLtMatmulDescCreate(&s.op, compute, CUDA_R_32F));
  const cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
  CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(s.op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof(ta)));
  CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(s.op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof(tb)));
  if (bias) {
    const cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_BIAS;
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(s.op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof(epi)));
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(s.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)));
    const std::int32_t bias_type = type;  // the bias is stored like y
    CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(s.op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bias_type, sizeof(bias_type)));
  }
  const auto u = [](std::int64_t v) { return static_cast<std::uint64_t>(v); };
  CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&s.a, type, u(in), u(out), in));  // w as (in,out) col-major
  CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&s.b, type, u(in), u(n), in));    // x as (in,n)
  CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&s.d, type, u(out), u(n), out));  // y as (out,n)
  CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&s.pref));
  const std::size_t ws = std::min(workspace_bytes, kLtWorkspace);
  CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(s.pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws)));
  // The heuristic assumes 256-byte aligned operands unless told: views (split_rows) can be less aligned.
  const auto alignment = [](const void* q) {
    std::uint32_t a = 256;
    while (a > 2 && reinterpret_cast<std::uintptr_t>(q) % a != 0) a /= 2;
    return a;
  };
  const std::pair<cublasLtMatmulPreferenceAttributes_t, const void*> aligns[] = {
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, w}, {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, x},
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, y}, {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, y}};
  for (const auto& [attr, ptr] : aligns) {
    const std::uint32_t a = alignment(ptr);
    CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(s.pref, attr, &a, sizeof(a)));
  }
  cublasLtMatmulHeuristicResult_t heur{};
  int found = 0;
  CUBLAS_CHECK(cublasLtMatmulAlgoGetHeuristic(lt, s.op, s.a, s.b, s.d, s.d, s.pref, 1, &heur, &found));
  CMT_CHECK(found > 0, "linear_forward: cuBLASLt has no algorithm for n=" << n << " in=" << in << " out=" << out);
  const float one = 1.f, zero = 0.f;
  CUBLAS_CHECK(cublasLtMatmul(lt, s.op, &one, w, s.a, x, s.b, &zero, y, s.d, y, s.d, &heur.algo, workspace, ws, stream));
}

void linear_backward(cublasHandle_t handle, bool bf16, const void* dy, const void* x, const void* w, void* dx, void* dw,
                     void* db, std::int64_t n, std::int64_t in, std::int64_t out, bool tf32, void* workspace,
                     cudaStream_t stream) {
  require_handle_stream(handle, stream);
  const cublasComputeType_t compute = tf32 && !bf16 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  const cudaDataType_t type = bf16 ? CUDA_R_16BF : CUDA_R_32F;
  const float one = 1.f, zero = 0.f;
  const int N = static_cast<int>(n), I = static_cast<int>(in), O = static_cast<int>(out);
  // dx^T (in,n) = w^T-as-stored (in,out) * dy^T (out,n).
  CUBLAS_CHECK(cublasGemmEx(handle, CUBLAS_OP_N, CUBLAS_OP_N, I, N, O, &one, w, type, I, dy, type, O, &zero, dx, type, I,
                            compute, CUBLAS_GEMM_DEFAULT));
  // dw^T (in,out) = x^T (in,n) * (dy^T)^T (n,out).
  CUBLAS_CHECK(cublasGemmEx(handle, CUBLAS_OP_N, CUBLAS_OP_T, I, O, N, &one, x, type, I, dy, type, O, &zero, dw, type, I,
                            compute, CUBLAS_GEMM_DEFAULT));
  if (!db) return;
  dispatch_storage(bf16, [&](auto t) {
    using T = decltype(t);
    colred::run(1, n, out, colred::LoadRows<T>{static_cast<const T*>(dy), out}, StoreSum<T>{static_cast<T*>(db)}, workspace, stream);
  });
}

}  // namespace cmt::cuda
