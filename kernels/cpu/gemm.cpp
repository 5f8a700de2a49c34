#include "kernels/cpu/gemm.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "kernels/common/check.h"
#if defined(CMT_WITH_ONEDNN)
#include <dnnl.h>
#endif

namespace cmt::cpu {

namespace {

bool use_onednn() {
#if defined(CMT_WITH_ONEDNN)
  static const bool on = [] {
    const char* e = std::getenv("CMT_CPU_GEMM");
    if (!e || !*e || std::string(e) == "onednn") return true;
    CMT_CHECK(std::string(e) == "openblas", "CMT_CPU_GEMM='" << e << "': expected onednn or openblas");
    return false;
  }();
  return on;
#else
  return false;
#endif
}

// oneDNN's sgemm sizes its team by the calling thread's OpenMP setting: set it for the call only.
class ThreadsForCall {
 public:
  explicit ThreadsForCall(int n) : before_(omp_get_max_threads()), changed_(n != before_) {
    if (changed_) omp_set_num_threads(n);
  }
  ~ThreadsForCall() {
    if (changed_) omp_set_num_threads(before_);
  }
  ThreadsForCall(const ThreadsForCall&) = delete;
  ThreadsForCall& operator=(const ThreadsForCall&) = delete;

 private:
  int before_;
  bool changed_;
};

int blas_int(std::int64_t v, const char* what) {
  CMT_CHECK(v >= 0 && v < (std::int64_t{1} << 31), "gemm: " << what << " = " << v << " does not fit OpenBLAS' int");
  return static_cast<int>(v);
}

}  // namespace

void gemm_f32(bool trans_a, bool trans_b, std::int64_t m, std::int64_t n, std::int64_t k, float alpha, const float* a,
              std::int64_t lda, const float* b, std::int64_t ldb, float beta, float* c, std::int64_t ldc) {
  if (m == 0 || n == 0) return;
#if defined(CMT_WITH_ONEDNN)
  if (use_onednn()) {
    const ThreadsForCall threads(gemm_threads());
    const dnnl_status_t s = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    CMT_CHECK(s == dnnl_success,
              "gemm: oneDNN's sgemm failed (status " << static_cast<int>(s) << ") for " << m << "x" << n << "x" << k);
    return;
  }
#endif
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, blas_int(m, "m"),
              blas_int(n, "n"), blas_int(k, "k"), alpha, a, blas_int(lda, "lda"), b, blas_int(ldb, "ldb"), beta, c,
              blas_int(ldc, "ldc"));
}

const char* gemm_library() { return use_onednn() ? "onednn" : "openblas"; }

int gemm_threads() {
  static const int n = [] {
    const char* e = std::getenv("CMT_BLAS_THREADS");
    return e ? std::max(1, std::atoi(e)) : 1;
  }();
  return n;
}

}  // namespace cmt::cpu
