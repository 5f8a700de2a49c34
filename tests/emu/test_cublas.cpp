// The emulated cuBLAS and cuBLASLt (emu/cublas.cpp, emu/cublaslt.cpp) against a double-precision
// host reference: every transpose, odd sizes, padded leading dimensions, alpha/beta, beta = 0 over a
// NaN-filled C, TF32 and bf16 rounding, the Lt bias epilogue; and the contract violations that must
// stop the process (run in a child). Inputs are Gaussian from a fresh seed (printed on failure).
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

extern char** environ;

namespace {

using std::int64_t;
using std::uint16_t;
using std::uint32_t;

template <class T>
struct DeviceBuffer {
  T* p = nullptr;
  std::size_t n = 0;
  explicit DeviceBuffer(const std::vector<T>& host) : n(host.size()) {
    REQUIRE(cudaMalloc(reinterpret_cast<void**>(&p), n * sizeof(T)) == cudaSuccess);
    REQUIRE(cudaMemcpy(p, host.data(), n * sizeof(T), cudaMemcpyHostToDevice) == cudaSuccess);
  }
  ~DeviceBuffer() { cudaFree(p); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  void put(const std::vector<T>& host) {
    REQUIRE(host.size() == n);
    REQUIRE(cudaMemcpy(p, host.data(), n * sizeof(T), cudaMemcpyHostToDevice) == cudaSuccess);
  }
  std::vector<T> get() const {
    std::vector<T> host(n);
    REQUIRE(cudaMemcpy(host.data(), p, n * sizeof(T), cudaMemcpyDeviceToHost) == cudaSuccess);
    return host;
  }
};

uint32_t bits_of(float v) {
  uint32_t u;
  std::memcpy(&u, &v, 4);
  return u;
}

// Rounding written independently of the emulator: frexp/ldexp on the significand.
float round_significand(float v, int bits, bool ties_even) {
  int e = 0;
  const double f = std::frexp(static_cast<double>(v), &e);  // v = f * 2^e, 0.5 <= |f| < 1
  const double s = std::ldexp(f, bits);
  return static_cast<float>(std::ldexp(ties_even ? std::nearbyint(s) : std::round(s), e - bits));
}
float tf32(float v) { return round_significand(v, 11, false); }  // 10 stored bits, nearest (ties away)
uint16_t bf16_bits(float v) { return static_cast<uint16_t>(bits_of(round_significand(v, 8, true)) >> 16); }
float bf16_value(uint16_t b) {
  const uint32_t u = static_cast<uint32_t>(b) << 16;
  float v;
  std::memcpy(&v, &u, 4);
  return v;
}

struct Rng {
  unsigned seed = std::random_device{}();
  std::mt19937 gen{seed};
  float gauss() {
    std::normal_distribution<float> d;
    for (;;)
      if (const float v = d(gen); v != 0.f) return v;
  }
};

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// A column-major rows x cols matrix with leading dimension ld; the padding rows hold NaN.
std::vector<float> random_matrix(Rng& rng, int rows, int cols, int ld, const std::function<float(float)>& round = nullptr) {
  std::vector<float> v(static_cast<std::size_t>(ld) * cols, kNaN);
  for (int j = 0; j < cols; ++j)
    for (int i = 0; i < rows; ++i) {
      const float x = rng.gauss();
      v[static_cast<std::size_t>(i + j * ld)] = round ? round(x) : x;
    }
  return v;
}

struct Reference {
  std::vector<double> value, bound;  // m x n, packed; bound = |alpha| sum |a b| + |beta c|
};

// D = alpha op(A) op(B) + beta C (+ bias[i]) in double, from the values as stored.
Reference reference(bool ta, bool tb, int m, int n, int k, double alpha, const std::vector<float>& a, int lda,
                    const std::vector<float>& b, int ldb, double beta, const std::vector<float>& c, int ldc,
                    const std::vector<float>* bias = nullptr) {
  Reference r;
  r.value.resize(static_cast<std::size_t>(m) * n);
  r.bound.resize(r.value.size());
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i) {
      double s = 0, sa = 0;
      for (int l = 0; l < k; ++l) {
        const double x = a[static_cast<std::size_t>(ta ? l + i * lda : i + l * lda)];
        const double y = b[static_cast<std::size_t>(tb ? j + l * ldb : l + j * ldb)];
        s += x * y;
        sa += std::fabs(x * y);
      }
      double v = alpha * s, bd = std::fabs(alpha) * sa;
      if (beta != 0) {
        const double cv = c[static_cast<std::size_t>(i + j * ldc)];
        v += beta * cv;
        bd += std::fabs(beta * cv);
      }
      if (bias) {
        v += (*bias)[static_cast<std::size_t>(i)];
        bd += std::fabs((*bias)[static_cast<std::size_t>(i)]);
      }
      r.value[static_cast<std::size_t>(i + j * m)] = v;
      r.bound[static_cast<std::size_t>(i + j * m)] = bd;
    }
  return r;
}

// fp32 accumulation over k terms, then alpha, beta and bias: (k + 4) roundings at most.
double tolerance(int k, double bound) { return (k + 4) * std::ldexp(1.0, -24) * bound * 1.0001 + 1e-30; }

// The m x n block of out (leading dimension ld) matches ref within the fp32 tolerance; the padding
// rows keep the bits they had in before.
void check_output(const std::vector<float>& out, const std::vector<float>& before, int m, int n, int k, int ld, const Reference& ref) {
  int bad = 0;
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < ld; ++i) {
      const std::size_t o = static_cast<std::size_t>(i + j * ld);
      if (i >= m) {
        if (bits_of(out[o]) != bits_of(before[o]) && ++bad <= 3) FAIL_CHECK("padding row " << i << " of column " << j << " was written");
        continue;
      }
      const std::size_t r = static_cast<std::size_t>(i + j * m);
      const double err = std::fabs(out[o] - ref.value[r]);
      if (!(err <= tolerance(k, ref.bound[r])) && ++bad <= 3)
        FAIL_CHECK("(" << i << ", " << j << "): got " << out[o] << ", want " << ref.value[r] << " (error " << err << ", allowed "
                       << tolerance(k, ref.bound[r]) << ")");
    }
  CHECK(bad == 0);
}

const int kSizes[] = {1, 7, 33};

struct Handle {
  cublasHandle_t h = nullptr;
  cudaStream_t stream = nullptr;
  DeviceBuffer<unsigned char> workspace{std::vector<unsigned char>(1 << 20)};
  Handle() {
    REQUIRE(cudaStreamCreate(&stream) == cudaSuccess);
    REQUIRE(cublasCreate(&h) == CUBLAS_STATUS_SUCCESS);
    REQUIRE(cublasSetStream(h, stream) == CUBLAS_STATUS_SUCCESS);
    REQUIRE(cublasSetWorkspace(h, workspace.p, workspace.n) == CUBLAS_STATUS_SUCCESS);
  }
  ~Handle() {
    cudaStreamSynchronize(stream);
    cublasDestroy(h);
    cudaStreamDestroy(stream);
  }
  void sync() const { REQUIRE(cudaStreamSynchronize(stream) == cudaSuccess); }
};

// One fp32 GEMM through cublasSgemm or cublasGemmEx, checked against the reference.
void fp32_case(Handle& hd, Rng& rng, bool ex, bool ta, bool tb, int m, int n, int k, float alpha, float beta, int pad,
               cublasComputeType_t compute = CUBLAS_COMPUTE_32F, bool round_inputs = false) {
  CAPTURE(rng.seed);
  CAPTURE(ex);
  CAPTURE(ta);
  CAPTURE(tb);
  CAPTURE(m);
  CAPTURE(n);
  CAPTURE(k);
  CAPTURE(alpha);
  CAPTURE(beta);
  CAPTURE(pad);
  const int lda = (ta ? k : m) + pad, ldb = (tb ? n : k) + pad, ldc = m + pad;
  const auto a = random_matrix(rng, ta ? k : m, ta ? m : k, lda), b = random_matrix(rng, tb ? n : k, tb ? k : n, ldb);
  // beta == 0: C holds NaN everywhere, which must neither be read nor survive in the m x n block.
  const auto c = beta == 0.f ? std::vector<float>(static_cast<std::size_t>(ldc) * n, kNaN) : random_matrix(rng, m, n, ldc);
  DeviceBuffer<float> da(a), db(b), dc(c);
  const cublasOperation_t oa = ta ? CUBLAS_OP_T : CUBLAS_OP_N, ob = tb ? CUBLAS_OP_T : CUBLAS_OP_N;
  if (ex)
    REQUIRE(cublasGemmEx(hd.h, oa, ob, m, n, k, &alpha, da.p, CUDA_R_32F, lda, db.p, CUDA_R_32F, ldb, &beta, dc.p, CUDA_R_32F, ldc,
                         compute, CUBLAS_GEMM_DEFAULT) == CUBLAS_STATUS_SUCCESS);
  else
    REQUIRE(cublasSgemm(hd.h, oa, ob, m, n, k, &alpha, da.p, lda, db.p, ldb, &beta, dc.p, ldc) == CUBLAS_STATUS_SUCCESS);
  hd.sync();
  const auto r = [&](std::vector<float> v) {
    if (round_inputs)
      for (float& x : v) x = std::isnan(x) ? x : tf32(x);
    return v;
  };
  check_output(dc.get(), c, m, n, k, ldc, reference(ta, tb, m, n, k, alpha, r(a), lda, r(b), ldb, beta, c, ldc));
}

}  // namespace

TEST_CASE("cuBLAS: Sgemm and GemmEx fp32 match a double reference (transposes, odd sizes, padded ld, alpha/beta, beta = 0 over NaN)") {
  Handle hd;
  Rng rng;
  for (bool ex : {false, true})
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (int m : kSizes)
          for (int n : kSizes)
            for (int k : kSizes) {
              fp32_case(hd, rng, ex, ta, tb, m, n, k, 1.f, 0.f, 0);
              fp32_case(hd, rng, ex, ta, tb, m, n, k, -0.75f, 1.25f, 3);
              if (m == 7 && n == 33) fp32_case(hd, rng, ex, ta, tb, m, n, k, 2.5f, 0.f, 5);
            }
}

TEST_CASE("cuBLAS: queued GEMMs run in stream order on the handle's stream, and on the legacy default stream") {
  Rng rng;
  CAPTURE(rng.seed);
  cublasHandle_t h = nullptr;
  REQUIRE(cublasCreate(&h) == CUBLAS_STATUS_SUCCESS);  // stream: the legacy default stream
  const int m = 7, n = 33, k = 7;
  const auto a = random_matrix(rng, m, k, m), b = random_matrix(rng, k, n, k);
  DeviceBuffer<float> da(a), db(b), dc(std::vector<float>(static_cast<std::size_t>(m) * n, kNaN));
  const float one = 1.f, zero = 0.f, two = 2.f;
  // C = A B, then C = A B + 2 C = 3 A B: the second reads what the first wrote.
  REQUIRE(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &one, da.p, m, db.p, k, &zero, dc.p, m) == CUBLAS_STATUS_SUCCESS);
  REQUIRE(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &one, da.p, m, db.p, k, &two, dc.p, m) == CUBLAS_STATUS_SUCCESS);
  const std::vector<float> none;
  Reference ref = reference(false, false, m, n, k, 3.0, a, m, b, k, 0.0, none, m);
  for (double& bd : ref.bound) bd *= 2;  // two passes
  check_output(dc.get(), dc.get(), m, n, 2 * k, m, ref);
  REQUIRE(cublasDestroy(h) == CUBLAS_STATUS_SUCCESS);
}

TEST_CASE("cuBLAS: TF32 math mode and CUBLAS_COMPUTE_32F_FAST_TF32 multiply tf32-rounded inputs") {
  Handle hd;
  Rng rng;
  cublasMath_t mode = CUBLAS_TF32_TENSOR_OP_MATH;
  REQUIRE(cublasGetMathMode(hd.h, &mode) == CUBLAS_STATUS_SUCCESS);
  CHECK(mode == CUBLAS_DEFAULT_MATH);
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (int m : kSizes)
        for (int k : kSizes) {
          // Sgemm under CUBLAS_TF32_TENSOR_OP_MATH; GemmEx with the FAST_TF32 compute type (default math).
          REQUIRE(cublasSetMathMode(hd.h, CUBLAS_TF32_TENSOR_OP_MATH) == CUBLAS_STATUS_SUCCESS);
          fp32_case(hd, rng, false, ta, tb, m, 33, k, 1.f, 0.f, 1, CUBLAS_COMPUTE_32F, true);
          REQUIRE(cublasSetMathMode(hd.h, CUBLAS_DEFAULT_MATH) == CUBLAS_STATUS_SUCCESS);
          fp32_case(hd, rng, true, ta, tb, m, 33, k, 0.5f, -1.5f, 0, CUBLAS_COMPUTE_32F_FAST_TF32, true);
        }
  REQUIRE(cublasSetMathMode(hd.h, CUBLAS_TF32_TENSOR_OP_MATH) == CUBLAS_STATUS_SUCCESS);
  REQUIRE(cublasGetMathMode(hd.h, &mode) == CUBLAS_STATUS_SUCCESS);
  CHECK(mode == CUBLAS_TF32_TENSOR_OP_MATH);

  // The rounding is really applied: the tf32 product is far (for fp32) from the exact fp32 one,
  // and the default mode gives the fp32 one.
  CAPTURE(rng.seed);
  const int s = 33;
  const auto a = random_matrix(rng, s, s, s), b = random_matrix(rng, s, s, s);
  DeviceBuffer<float> da(a), db(b), dc(std::vector<float>(static_cast<std::size_t>(s) * s));
  const float one = 1.f, zero = 0.f;
  REQUIRE(cublasSgemm(hd.h, CUBLAS_OP_N, CUBLAS_OP_N, s, s, s, &one, da.p, s, db.p, s, &zero, dc.p, s) == CUBLAS_STATUS_SUCCESS);
  const auto tf = dc.get();
  const std::vector<float> none;
  const Reference exact = reference(false, false, s, s, s, 1.0, a, s, b, s, 0.0, none, s);
  int far = 0;
  for (std::size_t i = 0; i < tf.size(); ++i) far += std::fabs(tf[i] - exact.value[i]) > 8 * tolerance(s, exact.bound[i]);
  CHECK(far > static_cast<int>(tf.size()) / 2);
  REQUIRE(cublasSetMathMode(hd.h, CUBLAS_DEFAULT_MATH) == CUBLAS_STATUS_SUCCESS);
  REQUIRE(cublasSgemm(hd.h, CUBLAS_OP_N, CUBLAS_OP_N, s, s, s, &one, da.p, s, db.p, s, &zero, dc.p, s) == CUBLAS_STATUS_SUCCESS);
  check_output(dc.get(), tf, s, s, s, s, exact);
}

namespace {

// bf16 values of a column-major matrix (padding: a bf16 NaN), and their float values for the reference.
struct Bf16Matrix {
  std::vector<uint16_t> bits;
  std::vector<float> values;
};
Bf16Matrix random_bf16(Rng& rng, int rows, int cols, int ld) {
  Bf16Matrix r;
  r.values = random_matrix(rng, rows, cols, ld, [](float x) { return bf16_value(bf16_bits(x)); });
  for (float v : r.values) r.bits.push_back(std::isnan(v) ? uint16_t{0x7fc0} : bf16_bits(v));
  return r;
}

// out is bf16 of a value within the fp32 tolerance of ref: at most half a bf16 ulp further.
bool bf16_close(float out, double ref, double tol) {
  const double mag = std::max(std::fabs(ref), static_cast<double>(std::fabs(out)));
  const double half_ulp = mag == 0 ? 0 : std::ldexp(1.0, std::ilogb(mag) - 8);
  return std::fabs(out - ref) <= half_ulp + tol;
}

}  // namespace

TEST_CASE("cuBLAS: GemmEx with bf16 inputs accumulates in fp32 and writes fp32 or bf16 (nearest even)") {
  Handle hd;
  Rng rng;
  CAPTURE(rng.seed);
  for (bool out_bf16 : {false, true})
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (int m : kSizes)
          for (int n : kSizes)
            for (int k : kSizes) {
              CAPTURE(out_bf16);
              CAPTURE(ta);
              CAPTURE(tb);
              CAPTURE(m);
              CAPTURE(n);
              CAPTURE(k);
              const int pad = (m + n + k) % 2, lda = (ta ? k : m) + pad, ldb = (tb ? n : k) + pad, ldc = m + pad;
              const float alpha = 1.5f, beta = m == n ? 0.f : -0.5f;
              const Bf16Matrix a = random_bf16(rng, ta ? k : m, ta ? m : k, lda), b = random_bf16(rng, tb ? n : k, tb ? k : n, ldb);
              const Bf16Matrix c = random_bf16(rng, m, n, ldc);
              const Reference ref = reference(ta, tb, m, n, k, alpha, a.values, lda, b.values, ldb, beta, c.values, ldc);
              DeviceBuffer<uint16_t> da(a.bits), db(b.bits);
              const cublasOperation_t oa = ta ? CUBLAS_OP_T : CUBLAS_OP_N, ob = tb ? CUBLAS_OP_T : CUBLAS_OP_N;
              std::vector<float> out(static_cast<std::size_t>(ldc) * n);
              if (out_bf16) {
                DeviceBuffer<uint16_t> dc(c.bits);
                REQUIRE(cublasGemmEx(hd.h, oa, ob, m, n, k, &alpha, da.p, CUDA_R_16BF, lda, db.p, CUDA_R_16BF, ldb, &beta, dc.p,
                                     CUDA_R_16BF, ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT) == CUBLAS_STATUS_SUCCESS);
                hd.sync();
                const auto got = dc.get();
                for (std::size_t i = 0; i < got.size(); ++i) out[i] = bf16_value(got[i]);
              } else {
                DeviceBuffer<float> dc(c.values);
                REQUIRE(cublasGemmEx(hd.h, oa, ob, m, n, k, &alpha, da.p, CUDA_R_16BF, lda, db.p, CUDA_R_16BF, ldb, &beta, dc.p,
                                     CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT) == CUBLAS_STATUS_SUCCESS);
                hd.sync();
                out = dc.get();
              }
              if (!out_bf16) {
                check_output(out, c.values, m, n, k, ldc, ref);
                continue;
              }
              int bad = 0;
              for (int j = 0; j < n; ++j)
                for (int i = 0; i < ldc; ++i) {
                  const std::size_t o = static_cast<std::size_t>(i + j * ldc), r = static_cast<std::size_t>(i + j * m);
                  const bool ok = i >= m ? std::isnan(out[o]) : bf16_close(out[o], ref.value[r], tolerance(k, ref.bound[r]));
                  if (!ok && ++bad <= 3) FAIL_CHECK("(" << i << ", " << j << "): got " << out[o] << ", want " << (i >= m ? kNaN : ref.value[r]));
                }
              CHECK(bad == 0);
            }
}

TEST_CASE("cuBLAS: bf16 output rounds to nearest even") {
  // 1 + 2^-8 is half-way between bf16 1 and 1 + 2^-7: even is 1; 1 + 3 * 2^-8 rounds up to 1 + 2^-6.
  Handle hd;
  const std::vector<uint16_t> one_bf16{bf16_bits(1.f)};
  DeviceBuffer<uint16_t> da(one_bf16), db(one_bf16), dc(std::vector<uint16_t>(1));
  for (const auto& [alpha, want] : {std::pair{1.f + 0x1p-8f, 1.f}, std::pair{1.f + 3 * 0x1p-8f, 1.f + 0x1p-6f},
                                     std::pair{-(1.f + 0x1p-8f), -1.f}, std::pair{1.f + 0x1p-7f + 0x1p-8f, 1.f + 0x1p-6f}}) {
    const float zero = 0.f;
    REQUIRE(cublasGemmEx(hd.h, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 1, &alpha, da.p, CUDA_R_16BF, 1, db.p, CUDA_R_16BF, 1, &zero, dc.p,
                         CUDA_R_16BF, 1, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT) == CUBLAS_STATUS_SUCCESS);
    CHECK(bf16_value(dc.get()[0]) == want);
  }
}

TEST_CASE("cuBLAS: k = 0 gives beta C (beta = 0: zeros over NaN)") {
  Handle hd;
  const int m = 7, n = 3;
  std::vector<float> c(static_cast<std::size_t>(m) * n);
  for (std::size_t i = 0; i < c.size(); ++i) c[i] = static_cast<float>(i) - 5.f;
  DeviceBuffer<float> dab(std::vector<float>(8, kNaN)), dc(c), dnan(std::vector<float>(c.size(), kNaN));
  const float one = 1.f, two = 2.f, zero = 0.f;
  REQUIRE(cublasSgemm(hd.h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, 0, &one, dab.p, m, dab.p, 1, &two, dc.p, m) == CUBLAS_STATUS_SUCCESS);
  REQUIRE(cublasSgemm(hd.h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, 0, &one, dab.p, m, dab.p, 1, &zero, dnan.p, m) == CUBLAS_STATUS_SUCCESS);
  hd.sync();
  const auto got = dc.get(), zeros = dnan.get();
  for (std::size_t i = 0; i < c.size(); ++i) {
    CHECK(got[i] == 2 * c[i]);
    CHECK(bits_of(zeros[i]) == 0u);
  }
}

TEST_CASE("cuBLAS: version 13.0.0, status strings, math mode round trip") {
  int major = -1, minor = -1, patch = -1;
  CHECK(cublasGetProperty(MAJOR_VERSION, &major) == CUBLAS_STATUS_SUCCESS);
  CHECK(cublasGetProperty(MINOR_VERSION, &minor) == CUBLAS_STATUS_SUCCESS);
  CHECK(cublasGetProperty(PATCH_LEVEL, &patch) == CUBLAS_STATUS_SUCCESS);
  CHECK(major == 13);
  CHECK(minor == 0);
  CHECK(patch == 0);
  CHECK(std::string(cublasGetStatusString(CUBLAS_STATUS_SUCCESS)).find("success") != std::string::npos);
  CHECK(std::string(cublasGetStatusString(CUBLAS_STATUS_INVALID_VALUE)).find("invalid") != std::string::npos);
  CHECK(std::string(cublasGetStatusString(static_cast<cublasStatus_t>(12345))) == "unknown error");
}

namespace {

// One cuBLASLt matmul, the way kernels/cuda/linear.cu calls it (heuristic, then matmul).
struct LtCase {
  bool ta, tb;
  int m, n, k;
  cudaDataType_t type = CUDA_R_32F, d_type = CUDA_R_32F;
  cublasComputeType_t compute = CUBLAS_COMPUTE_32F;
  int bias = 0;  // 0: none, 1: bias of D's type, 2: fp32 bias
  float beta = 0.f;
  bool separate_c = false;
};

void lt_case(cublasLtHandle_t lt, cudaStream_t stream, const DeviceBuffer<unsigned char>& ws, Rng& rng, const LtCase& t) {
  CAPTURE(rng.seed);
  CAPTURE(t.ta);
  CAPTURE(t.tb);
  CAPTURE(t.m);
  CAPTURE(t.n);
  CAPTURE(t.k);
  CAPTURE(static_cast<int>(t.type));
  CAPTURE(static_cast<int>(t.d_type));
  CAPTURE(static_cast<int>(t.compute));
  CAPTURE(t.bias);
  CAPTURE(t.beta);
  const bool in_bf16 = t.type == CUDA_R_16BF, out_bf16 = t.d_type == CUDA_R_16BF;
  const bool tf = t.compute == CUBLAS_COMPUTE_32F_FAST_TF32;
  const int ar = t.ta ? t.k : t.m, ac = t.ta ? t.m : t.k, br = t.tb ? t.n : t.k, bc = t.tb ? t.k : t.n;
  const int lda = ar + 1, ldb = br, ldd = t.m + 2;
  const auto round_in = [&](float x) { return in_bf16 ? bf16_value(bf16_bits(x)) : x; };
  const auto round_out = [&](float x) { return out_bf16 ? bf16_value(bf16_bits(x)) : x; };
  const auto a = random_matrix(rng, ar, ac, lda, round_in), b = random_matrix(rng, br, bc, ldb, round_in);
  const auto c = random_matrix(rng, t.m, t.n, ldd, round_out);
  std::vector<float> bias(static_cast<std::size_t>(t.m));
  for (float& x : bias) x = t.bias == 1 ? round_out(rng.gauss()) : rng.gauss();
  const auto as_type = [](const std::vector<float>& v, bool bf) {
    std::vector<unsigned char> bytes;
    for (float x : v) {
      if (bf) {
        const uint16_t h = std::isnan(x) ? uint16_t{0x7fc0} : bf16_bits(x);
        bytes.insert(bytes.end(), reinterpret_cast<const unsigned char*>(&h), reinterpret_cast<const unsigned char*>(&h) + 2);
      } else {
        bytes.insert(bytes.end(), reinterpret_cast<const unsigned char*>(&x), reinterpret_cast<const unsigned char*>(&x) + 4);
      }
    }
    return bytes;
  };
  DeviceBuffer<unsigned char> da(as_type(a, in_bf16)), db(as_type(b, in_bf16)), dd(as_type(c, out_bf16));
  DeviceBuffer<unsigned char> dc2(as_type(c, out_bf16)), dbias(as_type(bias, t.bias == 1 && out_bf16));

  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t la = nullptr, lb = nullptr, lc = nullptr, ld = nullptr;
  cublasLtMatmulPreference_t pref = nullptr;
  REQUIRE(cublasLtMatmulDescCreate(&op, t.compute, CUDA_R_32F) == CUBLAS_STATUS_SUCCESS);
  const cublasOperation_t oa = t.ta ? CUBLAS_OP_T : CUBLAS_OP_N, ob = t.tb ? CUBLAS_OP_T : CUBLAS_OP_N;
  REQUIRE(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &oa, sizeof(oa)) == CUBLAS_STATUS_SUCCESS);
  REQUIRE(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSB, &ob, sizeof(ob)) == CUBLAS_STATUS_SUCCESS);
  if (t.bias) {
    const cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_BIAS;
    const void* bp = dbias.p;
    const std::int32_t bt = t.bias == 1 ? t.d_type : CUDA_R_32F;
    REQUIRE(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof(epi)) == CUBLAS_STATUS_SUCCESS);
    REQUIRE(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bp, sizeof(bp)) == CUBLAS_STATUS_SUCCESS);
    REQUIRE(cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bt, sizeof(bt)) == CUBLAS_STATUS_SUCCESS);
  }
  REQUIRE(cublasLtMatrixLayoutCreate(&la, t.type, static_cast<std::uint64_t>(ar), static_cast<std::uint64_t>(ac), lda) == CUBLAS_STATUS_SUCCESS);
  REQUIRE(cublasLtMatrixLayoutCreate(&lb, t.type, static_cast<std::uint64_t>(br), static_cast<std::uint64_t>(bc), ldb) == CUBLAS_STATUS_SUCCESS);
  REQUIRE(cublasLtMatrixLayoutCreate(&lc, t.d_type, static_cast<std::uint64_t>(t.m), static_cast<std::uint64_t>(t.n), ldd) == CUBLAS_STATUS_SUCCESS);
  REQUIRE(cublasLtMatrixLayoutCreate(&ld, t.d_type, static_cast<std::uint64_t>(t.m), static_cast<std::uint64_t>(t.n), ldd) == CUBLAS_STATUS_SUCCESS);
  REQUIRE(cublasLtMatmulPreferenceCreate(&pref) == CUBLAS_STATUS_SUCCESS);
  const std::size_t max_ws = ws.n;
  REQUIRE(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &max_ws, sizeof(max_ws)) == CUBLAS_STATUS_SUCCESS);
  const std::uint32_t align4 = 4;  // cudaMalloc gives 256-byte alignment; say less, as linear.cu may
  REQUIRE(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &align4, sizeof(align4)) == CUBLAS_STATUS_SUCCESS);
  cublasLtMatmulHeuristicResult_t heur[2]{};
  int found = 0;
  REQUIRE(cublasLtMatmulAlgoGetHeuristic(lt, op, la, lb, lc, ld, pref, 2, heur, &found) == CUBLAS_STATUS_SUCCESS);
  REQUIRE(found == 1);
  CHECK(heur[0].workspaceSize == 0);
  CHECK(heur[0].state == CUBLAS_STATUS_SUCCESS);
  const float alpha = 0.75f;
  const void* cp = t.separate_c ? dc2.p : dd.p;
  REQUIRE(cublasLtMatmul(lt, op, &alpha, da.p, la, db.p, lb, &t.beta, cp, lc, dd.p, ld, &heur[0].algo, ws.p, max_ws, stream) ==
          CUBLAS_STATUS_SUCCESS);
  REQUIRE(cudaStreamSynchronize(stream) == cudaSuccess);
  const auto raw = dd.get();
  std::vector<float> out(static_cast<std::size_t>(ldd) * t.n);
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out_bf16) {
      uint16_t h;
      std::memcpy(&h, raw.data() + 2 * i, 2);
      out[i] = bf16_value(h);
    } else {
      std::memcpy(&out[i], raw.data() + 4 * i, 4);
    }
  }
  const auto tfv = [&](std::vector<float> v) {
    if (tf)
      for (float& x : v) x = std::isnan(x) ? x : tf32(x);
    return v;
  };
  const Reference ref =
      reference(t.ta, t.tb, t.m, t.n, t.k, alpha, tfv(a), lda, tfv(b), ldb, t.beta, c, ldd, t.bias ? &bias : nullptr);
  if (!out_bf16) {
    check_output(out, c, t.m, t.n, t.k, ldd, ref);
  } else {
    int bad = 0;
    for (int j = 0; j < t.n; ++j)
      for (int i = 0; i < t.m; ++i) {
        const std::size_t o = static_cast<std::size_t>(i + j * ldd), r = static_cast<std::size_t>(i + j * t.m);
        if (!bf16_close(out[o], ref.value[r], tolerance(t.k, ref.bound[r])) && ++bad <= 3)
          FAIL_CHECK("(" << i << ", " << j << "): got " << out[o] << ", want " << ref.value[r]);
      }
    CHECK(bad == 0);
  }
  cublasLtMatmulPreferenceDestroy(pref);
  cublasLtMatrixLayoutDestroy(ld);
  cublasLtMatrixLayoutDestroy(lc);
  cublasLtMatrixLayoutDestroy(lb);
  cublasLtMatrixLayoutDestroy(la);
  cublasLtMatmulDescDestroy(op);
}

}  // namespace

TEST_CASE("cuBLASLt: matmul with the bias epilogue adds bias[row of D] (fp32, tf32, bf16; every transpose)") {
  cublasLtHandle_t lt = nullptr;
  REQUIRE(cublasLtCreate(&lt) == CUBLAS_STATUS_SUCCESS);
  cudaStream_t stream = nullptr;
  REQUIRE(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking) == cudaSuccess);
  Rng rng;
  const DeviceBuffer<unsigned char> ws(std::vector<unsigned char>(std::size_t{4} << 20));
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (int m : kSizes)
        for (int n : kSizes)
          for (int k : {1, 33}) {
            lt_case(lt, stream, ws, rng, {ta, tb, m, n, k, CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32F, 1});
            lt_case(lt, stream, ws, rng, {ta, tb, m, n, k, CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32F_FAST_TF32, (m + n) % 2});
            lt_case(lt, stream, ws, rng, {ta, tb, m, n, k, CUDA_R_16BF, CUDA_R_16BF, CUBLAS_COMPUTE_32F, 1});
            lt_case(lt, stream, ws, rng, {ta, tb, m, n, k, CUDA_R_16BF, CUDA_R_16BF, CUBLAS_COMPUTE_32F, 2});
            lt_case(lt, stream, ws, rng, {ta, tb, m, n, k, CUDA_R_16BF, CUDA_R_32F, CUBLAS_COMPUTE_32F, 1, 0.5f});
            lt_case(lt, stream, ws, rng, {ta, tb, m, n, k, CUDA_R_32F, CUDA_R_32F, CUBLAS_COMPUTE_32F, 0, -1.25f, true});
          }
  REQUIRE(cudaStreamDestroy(stream) == cudaSuccess);
  REQUIRE(cublasLtDestroy(lt) == CUBLAS_STATUS_SUCCESS);
}

TEST_CASE("cuBLAS: a GEMM captured into a CUDA Graph (workspace set after cublasSetStream) replays on current data") {
  Handle hd;  // SetStream, then SetWorkspace
  Rng rng;
  CAPTURE(rng.seed);
  const int m = 7, n = 33, k = 7;
  auto a = random_matrix(rng, m, k, m);
  const auto b = random_matrix(rng, k, n, k);
  DeviceBuffer<float> da(a), db(b), dc(std::vector<float>(static_cast<std::size_t>(m) * n, kNaN));
  const float one = 1.f, zero = 0.f;
  REQUIRE(cudaStreamBeginCapture(hd.stream, cudaStreamCaptureModeGlobal) == cudaSuccess);
  REQUIRE(cublasSgemm(hd.h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &one, da.p, m, db.p, k, &zero, dc.p, m) == CUBLAS_STATUS_SUCCESS);
  cudaGraph_t graph = nullptr;
  REQUIRE(cudaStreamEndCapture(hd.stream, &graph) == cudaSuccess);
  cudaGraphExec_t exec = nullptr;
  REQUIRE(cudaGraphInstantiate(&exec, graph, 0) == cudaSuccess);
  const std::vector<float> none;
  for (int round = 0; round < 2; ++round) {
    if (round == 1) {
      a = random_matrix(rng, m, k, m);
      da.put(a);
    }
    REQUIRE(cudaGraphLaunch(exec, hd.stream) == cudaSuccess);
    hd.sync();
    const auto out = dc.get();
    check_output(out, out, m, n, k, m, reference(false, false, m, n, k, 1.0, a, m, b, k, 0.0, none, m));
  }
  REQUIRE(cudaGraphExecDestroy(exec) == cudaSuccess);
  REQUIRE(cudaGraphDestroy(graph) == cudaSuccess);
}

// ---------------------------------------------------------------- failures (in a child process)

namespace {

// Scenarios that must stop the process; run by the hidden "cuBLAS death child" case in a fresh
// process (fork + exec of this binary: a bare fork of a process with threads copies its locks
// badly, notably under ThreadSanitizer).
void run_death_scenario(const std::string& name) {
  constexpr int s = 4;
  float* dev = nullptr;
  void* ws = nullptr;
  if (cudaMalloc(reinterpret_cast<void**>(&dev), 3 * 256) != cudaSuccess || cudaMalloc(&ws, 1024) != cudaSuccess) _exit(3);
  float* a = dev;
  float* b = dev + 64;
  float* c = dev + 128;
  std::vector<float> host(s * s, 1.f);
  const float one = 1.f, zero = 0.f;
  cudaStream_t stream = nullptr;
  cublasHandle_t h = nullptr;
  if (cudaStreamCreate(&stream) != cudaSuccess || cublasCreate(&h) != CUBLAS_STATUS_SUCCESS) _exit(3);
  const auto sgemm = [&](cublasHandle_t hh, const float* pa, int lda) {
    cublasSgemm(hh, CUBLAS_OP_N, CUBLAS_OP_N, s, s, s, &one, pa, lda, b, s, &zero, c, s);
  };
  const auto lt = [&](const float* pa, std::size_t ws_bytes) {
    cublasLtHandle_t l = nullptr;
    cublasLtMatmulDesc_t op = nullptr;
    cublasLtMatrixLayout_t lay = nullptr;
    cublasLtMatmulPreference_t pref = nullptr;
    cublasLtMatmulHeuristicResult_t heur{};
    int found = 0;
    if (cublasLtCreate(&l) || cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F) ||
        cublasLtMatrixLayoutCreate(&lay, CUDA_R_32F, s, s, s) || cublasLtMatmulPreferenceCreate(&pref) ||
        cublasLtMatmulAlgoGetHeuristic(l, op, lay, lay, lay, lay, pref, 1, &heur, &found))
      _exit(3);
    cublasLtMatmul(l, op, &one, pa, lay, b, lay, &zero, c, lay, c, lay, &heur.algo, ws, ws_bytes, stream);
  };
  const std::map<std::string, std::function<void()>> scenarios = {
      {"capture_after_set_stream",
       [&] {
         // The workspace is set, then cublasSetStream resets it: the capture must fail.
         cublasSetStream(h, stream);
         cublasSetWorkspace(h, ws, 1024);
         cublasSetStream(h, stream);
         cudaStreamBeginCapture(stream, cudaStreamCaptureModeRelaxed);
         sgemm(h, a, s);
       }},
      {"capture_without_workspace",
       [&] {
         cublasSetStream(h, stream);
         cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal);
         sgemm(h, a, s);
       }},
      {"host_a", [&] { sgemm(h, host.data(), s); }},
      {"null_handle", [&] { sgemm(nullptr, a, s); }},
      {"destroyed_handle",
       [&] {
         cublasHandle_t g = nullptr;
         cublasCreate(&g);
         cublasDestroy(g);
         sgemm(g, a, s);
       }},
      {"lda_too_small", [&] { sgemm(h, a, s - 1); }},
      {"a_past_allocation", [&] { sgemm(h, dev + 3 * 64 - 8, s); }},
      {"destroyed_stream",
       [&] {
         cudaStream_t t = nullptr;
         cudaStreamCreate(&t);
         cublasSetStream(h, t);
         cudaStreamDestroy(t);
         sgemm(h, a, s);
       }},
      {"output_overlaps_input",
       [&] { cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, s, s, s, &one, a, s, b, s, &zero, a + 2, s); }},
      {"lt_workspace_too_small", [&] { lt(a, std::size_t{4} << 20); }},
      {"lt_misaligned_a", [&] { lt(a + 1, 0); }},
  };
  const auto it = scenarios.find(name);
  if (it == scenarios.end()) _exit(4);
  it->second();
  cudaDeviceSynchronize();
}

}  // namespace

TEST_CASE("cuBLAS death child" * doctest::skip()) {
  const char* name = std::getenv("CMT_CUBLAS_DEATH");
  if (!name) return;
  run_death_scenario(name);
  _exit(0);  // survived: the parent reports it
}

namespace {

// Runs the scenario in a child process; expects it to end abnormally with `message` on stderr.
void expect_death(const char* scenario, const char* message) {
  CAPTURE(scenario);
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, "CMT_CUBLAS_DEATH=", 17) != 0) env_strings.emplace_back(*e);
  env_strings.push_back(std::string("CMT_CUBLAS_DEATH=") + scenario);
  std::vector<char*> envp;
  for (std::string& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string exe = "/proc/self/exe", filter = "--test-case=cuBLAS death child", no_skip = "--no-skip=true";
  char* argv[] = {exe.data(), filter.data(), no_skip.data(), nullptr};
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(fds[1], 2);
    const int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0) dup2(devnull, 1);
    close(fds[0]);
    execve(exe.c_str(), argv, envp.data());
    _exit(127);
  }
  close(fds[1]);
  std::string err;
  char buf[4096];
  for (ssize_t got; (got = read(fds[0], buf, sizeof buf)) > 0;) err.append(buf, static_cast<std::size_t>(got));
  close(fds[0]);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  INFO("child stderr:\n" << err);
  CHECK_FALSE((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  CHECK(err.find("cmt emulator:") != std::string::npos);
  CHECK(err.find(message) != std::string::npos);
}

}  // namespace

TEST_CASE("cuBLAS: a capture after cublasSetStream without cublasSetWorkspace stops with a clear message") {
  expect_death("capture_after_set_stream", "cublasSgemm: cuBLAS inside a graph capture needs a user workspace set after cublasSetStream");
  expect_death("capture_without_workspace", "cuBLAS inside a graph capture needs a user workspace");
}

TEST_CASE("cuBLAS: host pointers, bad handles, streams, leading dimensions and aliasing stop with a clear message") {
  expect_death("host_a", "cublasSgemm: A");
  expect_death("host_a", "is not device memory");
  expect_death("null_handle", "cublasSgemm: handle is null");
  expect_death("destroyed_handle", "is not a live cuBLAS handle");
  expect_death("lda_too_small", "cublasSgemm: lda = 3 is less than");
  expect_death("a_past_allocation", "runs outside its device allocation");
  expect_death("destroyed_stream", "cublasSgemm: the handle's stream");
  expect_death("output_overlaps_input", "overlaps A");
}

TEST_CASE("cuBLASLt: a workspace smaller than claimed and a pointer less aligned than promised stop with a clear message") {
  expect_death("lt_workspace_too_small", "cublasLtMatmul: workspace");
  expect_death("lt_misaligned_a", "MIN_ALIGNMENT_A_BYTES");
}
