// One single-precision GEMM for the CPU kernels (row-major, C = alpha * op(A) * op(B) + beta * C).
// In builds with oneDNN it is oneDNN's sgemm, which runs on the OpenMP team like every other CPU
// kernel; OpenBLAS otherwise, or with CMT_CPU_GEMM=openblas. OpenBLAS (Debian's pthread build) keeps
// a thread pool of its own beside the OpenMP team, and two pools on few cores stall each other
// (docs/performance.md).
#pragma once
#include <cstdint>

namespace cmt::cpu {

void gemm_f32(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float* a,
              std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc);

// "onednn" or "openblas": the library gemm_f32 calls.
const char* gemm_library();

}  // namespace cmt::cpu
