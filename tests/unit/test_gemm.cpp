// The CPU GEMM every CPU conv and linear kernel calls, against naive sums in double: each
// transpose combination, leading dimensions wider than the rows, beta 0 over NaN garbage and beta 1.
// CTest runs this file twice: with the default library and with CMT_CPU_GEMM=openblas.
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "kernels/cpu/gemm.h"
#include "support/testing.h"

using namespace cmt;

TEST_CASE("gemm_f32 equals the naive sums for every transpose, leading dimension and beta") {
  const std::string library = cpu::gemm_library();
  INFO("library " << library);
  if (const char* wanted = std::getenv("CMT_CPU_GEMM")) CHECK(library == wanted);
  std::mt19937_64 gen(test::run_seed() + 41);
  std::normal_distribution<float> normal(0.f, 1.f);
  const std::int64_t m = 37, n = 19, k = 53, pad = 3;
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (float beta : {0.f, 1.f}) {
        CAPTURE(ta);
        CAPTURE(tb);
        CAPTURE(beta);
        // op(A) is m x k: A is stored k x m when transposed. Rows are `pad` wider than needed.
        const std::int64_t a_rows = ta ? k : m, a_cols = ta ? m : k, lda = a_cols + pad;
        const std::int64_t b_rows = tb ? n : k, b_cols = tb ? k : n, ldb = b_cols + pad, ldc = n + pad;
        std::vector<float> a(static_cast<std::size_t>(a_rows * lda)), b(static_cast<std::size_t>(b_rows * ldb));
        std::vector<float> c(static_cast<std::size_t>(m * ldc));
        for (auto& v : a) v = normal(gen);
        for (auto& v : b) v = normal(gen);
        for (auto& v : c) v = beta == 0.f ? std::numeric_limits<float>::quiet_NaN() : normal(gen);
        const std::vector<float> c0 = c;
        const float alpha = 0.75f;
        cpu::gemm_f32(ta, tb, m, n, k, alpha, a.data(), lda, b.data(), ldb, beta, c.data(), ldc);
        for (std::int64_t i = 0; i < m; ++i)
          for (std::int64_t j = 0; j < ldc; ++j) {
            const std::size_t at = static_cast<std::size_t>(i * ldc + j);
            if (j >= n) {  // outside the matrix: untouched
              CHECK((std::isnan(c0[at]) ? std::isnan(c[at]) : c[at] == c0[at]));
              continue;
            }
            double acc = 0;
            for (std::int64_t p = 0; p < k; ++p) {
              const double av = ta ? a[static_cast<std::size_t>(p * lda + i)] : a[static_cast<std::size_t>(i * lda + p)];
              const double bv = tb ? b[static_cast<std::size_t>(j * ldb + p)] : b[static_cast<std::size_t>(p * ldb + j)];
              acc += av * bv;
            }
            const double want = alpha * acc + (beta == 0.f ? 0.0 : beta * static_cast<double>(c0[at]));
            CHECK(c[at] == doctest::Approx(want).epsilon(1e-5).scale(8.0));
          }
      }
}
