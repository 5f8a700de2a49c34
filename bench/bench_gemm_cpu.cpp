// The GEMMs of cmt's own CPU convolution path on the two libraries kernels/cpu/gemm.h can call:
// OpenBLAS' cblas_sgemm and oneDNN's dnnl_sgemm. Per dense conv of the three backbones (depthwise
// ones use no GEMM) at the given batch and resolution, the three GEMMs the path runs (fprop
// M x K x J, dgrad M x J x K, wgrad K x J x M with M = positions, J = taps * C), median of --runs.
// OpenBLAS runs on as many threads as OpenMP (it keeps its own pool); the thread count is
// OMP_NUM_THREADS. Writes gemm_cpu.json (bench/common/timing.h).
#include <cblas.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#if defined(CMT_WITH_ONEDNN)
#include <dnnl.h>
#include <omp.h>

#include "bench/common/timing.h"
#include "kernels/common/check.h"
#include "models/backbone_convs.h"

extern "C" void openblas_set_num_threads(int);

using namespace cmt;

namespace {

struct Gemm {
  bool ta, tb;
  std::int64_t m, n, k;
};

// C (m x n) = op(A) op(B) with dense row-major operands.
double time_one(const Gemm& g, bool onednn, int runs, std::vector<float>& a, std::vector<float>& b, std::vector<float>& c) {
  const std::int64_t lda = g.ta ? g.m : g.k, ldb = g.tb ? g.k : g.n;
  const auto run = [&] {
    if (onednn)
      CMT_CHECK(dnnl_sgemm(g.ta ? 'T' : 'N', g.tb ? 'T' : 'N', g.m, g.n, g.k, 1.f, a.data(), lda, b.data(), ldb, 0.f, c.data(),
                           g.n) == dnnl_success,
                "dnnl_sgemm failed");
    else
      cblas_sgemm(CblasRowMajor, g.ta ? CblasTrans : CblasNoTrans, g.tb ? CblasTrans : CblasNoTrans, static_cast<int>(g.m),
                  static_cast<int>(g.n), static_cast<int>(g.k), 1.f, a.data(), static_cast<int>(lda), b.data(),
                  static_cast<int>(ldb), 0.f, c.data(), static_cast<int>(g.n));
  };
  return bench::time_host(run, 1, runs).median_ms;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    int batch3d = 2, batch2d = 4, res3d = 32, res2d = 64, runs = 5;
    for (int i = 1; i < argc; ++i) {
      const std::string s = argv[i];
      auto next = [&] {
        CMT_CHECK(i + 1 < argc, s << " needs a value");
        return std::atoi(argv[++i]);
      };
      if (s == "--batch3d") batch3d = next();
      else if (s == "--batch2d") batch2d = next();
      else if (s == "--res3d") res3d = next();
      else if (s == "--res2d") res2d = next();
      else if (s == "--runs") runs = next();
      else CMT_THROW("usage: cmt_bench_gemm_cpu [--batch3d N] [--batch2d N] [--res3d N] [--res2d N] [--runs N]");
    }
    openblas_set_num_threads(omp_get_max_threads());
    Context ctx(Device::cpu());
    nlohmann::json report = bench::report_header(ctx, "gemm_cpu"), rows = nlohmann::json::array();
    std::mt19937 gen(1);
    std::uniform_real_distribution<float> u(-1.f, 1.f);
    double log_sum = 0;
    int count = 0;
    std::printf("%d threads; time in ms, x = OpenBLAS / oneDNN\n%-44s %-6s %10s %10s %6s\n", omp_get_max_threads(), "layer",
                "pass", "OpenBLAS", "oneDNN", "x");
    for (int dims : {2, 3}) {
      const int res = dims == 3 ? res3d : res2d, batch = dims == 3 ? batch3d : batch2d;
      for (const auto& l : models::backbone_layers(res)) {
        if (l.groups > 1) continue;
        const int out = (l.in + 2 * (l.k / 2) - l.k) / l.stride + 1;
        const std::int64_t positions = std::int64_t{batch} * static_cast<std::int64_t>(std::pow(out, dims));
        const std::int64_t taps = static_cast<std::int64_t>(std::pow(l.k, dims)), J = taps * l.C;
        const Gemm passes[3] = {{false, true, positions, l.K, J},
                                {false, false, positions, J, l.K},
                                {true, false, l.K, J, positions}};
        const char* names[3] = {"fprop", "dgrad", "wgrad"};
        char layer[96];
        std::snprintf(layer, sizeof layer, "%s %dd n%d %d^%d C%d K%d k%d s%d", l.net, dims, batch, out, dims, l.C, l.K, l.k,
                      l.stride);
        for (int p = 0; p < 3; ++p) {
          const Gemm& g = passes[p];
          std::vector<float> a(static_cast<std::size_t>(g.m * g.k)), b(static_cast<std::size_t>(g.k * g.n)),
              c(static_cast<std::size_t>(g.m * g.n));
          for (auto& v : a) v = u(gen);
          for (auto& v : b) v = u(gen);
          const double blas = time_one(g, false, runs, a, b, c), dnnl = time_one(g, true, runs, a, b, c);
          std::printf("%-44s %-6s %10.3f %10.3f %6.2f\n", layer, names[p], blas, dnnl, blas / dnnl);
          rows.push_back({{"layer", layer}, {"pass", names[p]}, {"openblas_ms", blas}, {"onednn_ms", dnnl}});
          log_sum += std::log(blas / dnnl), ++count;
        }
      }
    }
    const double geomean = std::exp(log_sum / count);
    std::printf("geometric mean over %d GEMMs: oneDNN %.2fx OpenBLAS\n", count, geomean);
    report["rows"] = rows;
    report["geomean_openblas_over_onednn"] = geomean;
    bench::write_report(report, "gemm_cpu");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cmt_bench_gemm_cpu: %s\n", e.what());
    return 1;
  }
}
#else
int main() {
  std::fprintf(stderr, "cmt_bench_gemm_cpu: this build has no oneDNN (CMT_WITH_ONEDNN=OFF)\n");
  return 1;
}
#endif
