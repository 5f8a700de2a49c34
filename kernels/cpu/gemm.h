// One single-precision GEMM for the CPU kernels (row-major, C = alpha * op(A) * op(B) + beta * C).
// In builds with oneDNN it is oneDNN's sgemm (1.27x OpenBLAS' speed in geometric mean over the
// GEMMs of the backbones' convolutions, one thread); OpenBLAS otherwise, or with
// CMT_CPU_GEMM=openblas. Either runs on gemm_threads() threads: 1 unless CMT_BLAS_THREADS says
// otherwise, since a GEMM's thread team stalls for milliseconds per call when the cores are shared
// (docs/performance.md).
#pragma once
#include <cstdint>

namespace cmt::cpu {

void gemm_f32(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float* a,
              std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc);

// "onednn" or "openblas": the library gemm_f32 calls.
const char* gemm_library();

// Threads per GEMM: CMT_BLAS_THREADS, else 1.
int gemm_threads();

}  // namespace cmt::cpu
