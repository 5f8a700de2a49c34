// The emulated PTX instructions (emu/ptx.cpp), each alone and lane by lane. The fragment layouts
// below are transcribed here a second time from the PTX ISA (sections 9.7.14.5.7, 9.7.14.5.8 and
// 9.7.14.5.15), in the ISA's own per-element form, so a slip in either copy shows as a mismatch.
// Matrices hold small integers: every product and sum is exact, so results compare bit for bit.
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
#include <map>
#include <string>
#include <vector>

#include "emu/counters.h"

extern char** environ;

namespace {

using std::uint16_t;
using std::uint32_t;

// A device copy of a host vector; get() reads it back.
template <class T>
struct DeviceBuffer {
  T* p = nullptr;
  std::size_t n = 0;
  explicit DeviceBuffer(const std::vector<T>& host) : n(host.size()) {
    REQUIRE(cudaMalloc(reinterpret_cast<void**>(&p), n * sizeof(T)) == cudaSuccess);
    REQUIRE(cudaMemcpy(p, host.data(), n * sizeof(T), cudaMemcpyHostToDevice) == cudaSuccess);
  }
  explicit DeviceBuffer(std::size_t count) : DeviceBuffer(std::vector<T>(count)) {}
  ~DeviceBuffer() { cudaFree(p); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
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
float float_of(uint32_t u) {
  float v;
  std::memcpy(&v, &u, 4);
  return v;
}

// Small integers in [-span, span], varied with the position (not symmetric, so a transposed
// operand gives a different product).
std::vector<float> small_ints(int rows, int cols, int seed, int span) {
  std::vector<float> m(static_cast<std::size_t>(rows * cols));
  for (int r = 0; r < rows; ++r)
    for (int c = 0; c < cols; ++c) {
      const int v = (r * 7 + c * 3 + seed * 5 + r * c) % (2 * span + 1) - span;
      m[static_cast<std::size_t>(r * cols + c)] = static_cast<float>(v);
    }
  return m;
}

// The per-lane D registers compared with A * B + C computed on the host, through the ISA's C/D
// layout: row = groupID for c0 and c1, groupID + 8 for c2 and c3; col = threadID_in_group * 2 + (i & 1).
// Returns the number of mismatching elements (each reported).
int compare_d(const std::vector<float>& out, const std::vector<float>& A, const std::vector<float>& B, const std::vector<float>& C, int K,
              bool report) {
  int bad = 0;
  for (int lane = 0; lane < 32; ++lane) {
    const int group = lane >> 2, tig = lane % 4;
    for (int i = 0; i < 4; ++i) {
      const int row = i < 2 ? group : group + 8;
      const int col = tig * 2 + (i & 1);
      float expect = 0.f;
      for (int k = 0; k < K; ++k) expect += A[static_cast<std::size_t>(row * K + k)] * B[static_cast<std::size_t>(k * 8 + col)];
      expect += C[static_cast<std::size_t>(row * 8 + col)];
      const float got = out[static_cast<std::size_t>(lane * 4 + i)];
      if (bits_of(got) != bits_of(expect)) {
        ++bad;
        if (report) FAIL_CHECK("lane " << lane << " d" << i << " (row " << row << ", col " << col << "): " << got << ", expected " << expect);
      }
    }
  }
  return bad;
}

// ---------------------------------------------------------------- mma.m16n8k8 .tf32

enum MmaVariant { kIsa = 0, kTransposedB = 1, kLowBitsSet = 2, kSwappedHalvesB = 3 };

// A 16x8, B 8x8 (k rows, n columns), C 16x8, all row-major; out[lane * 4 + i] = d_i.
void mma_tf32_kernel(const float* A, const float* B, const float* C, float* out, int variant) {
  const int lane = static_cast<int>(threadIdx.x % 32);
  const int group = lane >> 2, tig = lane % 4;
  // tf32 operands are the fp32 bit patterns; the tensor core must ignore the low 13 bits.
  auto reg = [&](float v) { return variant == kLowBitsSet ? __float_as_uint(v) | 0x1fffu : __float_as_uint(v); };
  uint32_t a[4], b[2];
  float c[4], d[4];
  for (int i = 0; i < 4; ++i) {
    // A: row = groupID for a0 and a2, groupID + 8 for a1 and a3; col = threadID_in_group for a0
    // and a1, threadID_in_group + 4 for a2 and a3.
    const int row = (i == 0 || i == 2) ? group : group + 8;
    const int col = (i == 0 || i == 1) ? tig : tig + 4;
    a[i] = reg(A[row * 8 + col]);
  }
  for (int i = 0; i < 2; ++i) {
    // B: row (k) = threadID_in_group for b0, threadID_in_group + 4 for b1; col (n) = groupID.
    const int k = i == 0 ? tig : tig + 4, n = group;
    b[i] = variant == kTransposedB ? reg(B[n * 8 + k]) : reg(B[k * 8 + n]);
  }
  for (int i = 0; i < 4; ++i) c[i] = C[(i < 2 ? group : group + 8) * 8 + tig * 2 + (i & 1)];
  cmt::emu::mma_m16n8k8_tf32(d, a, b, c);
  for (int i = 0; i < 4; ++i) out[lane * 4 + i] = d[i];
}

std::vector<float> run_mma_tf32(const std::vector<float>& A, const std::vector<float>& B, const std::vector<float>& C, int variant) {
  DeviceBuffer<float> dA(A), dB(B), dC(C), dOut(32 * 4);
  cmt::emu::launch(mma_tf32_kernel, dim3(1), dim3(32), 0, nullptr, dA.p, dB.p, dC.p, dOut.p, variant);
  REQUIRE(cudaDeviceSynchronize() == cudaSuccess);
  return dOut.get();
}

// mma FLOPs counted so far over all kernels (this file's kernels run one at a time).
std::uint64_t mma_flops_counted() {
  std::uint64_t n = 0;
  for (const auto& [name, c] : cmt::emu::kernel_counters()) n += c.mma_flops;
  return n;
}

TEST_CASE("ptx: mma m16n8k8 tf32 gives A*B+C on every lane through the ISA fragment layout") {
  const auto A = small_ints(16, 8, 1, 4), B = small_ints(8, 8, 2, 4), C = small_ints(16, 8, 3, 9);
  const std::uint64_t flops_before = mma_flops_counted();
  CHECK(compare_d(run_mma_tf32(A, B, C, kIsa), A, B, C, 8, true) == 0);
  // One warp-level instruction: 2 * 16 * 8 * 8 FLOPs counted once, not once per lane.
  CHECK(mma_flops_counted() - flops_before == 2u * 16 * 8 * 8);
  SUBCASE("the low 13 bits of each operand register are ignored") {
    CHECK(compare_d(run_mma_tf32(A, B, C, kLowBitsSet), A, B, C, 8, true) == 0);
  }
  SUBCASE("a B fragment loaded transposed gives a wrong product (the comparison can fail)") {
    CHECK(compare_d(run_mma_tf32(A, B, C, kTransposedB), A, B, C, 8, false) > 0);
  }
}

// ---------------------------------------------------------------- mma.m16n8k16 .bf16

uint32_t bf16_of_small_int(float v) { return __float_as_uint(v) >> 16; }  // exact: low 16 bits are zero

// A 16x16, B 16x8 (k rows), C 16x8, row-major; each register packs two bf16, element i of the
// ISA's a0..a7 / b0..b3 list in register i / 2, the even element in the low half.
void mma_bf16_kernel(const float* A, const float* B, const float* C, float* out, int variant) {
  const int lane = static_cast<int>(threadIdx.x % 32);
  const int group = lane >> 2, tig = lane % 4;
  uint32_t a[4] = {}, b[2] = {};
  float c[4], d[4];
  for (int i = 0; i < 8; ++i) {
    // A: row = groupID for ai with 0 <= i < 2 or 4 <= i < 6, groupID + 8 otherwise;
    // col = threadID_in_group * 2 + (i & 1), plus 8 for i >= 4.
    const int row = (i < 2 || (i >= 4 && i < 6)) ? group : group + 8;
    const int col = tig * 2 + (i & 1) + (i >= 4 ? 8 : 0);
    a[i / 2] |= bf16_of_small_int(A[row * 16 + col]) << (16 * (i % 2));
  }
  for (int i = 0; i < 4; ++i) {
    // B: row (k) = threadID_in_group * 2 + (i & 1), plus 8 for i >= 2; col (n) = groupID.
    const int k = tig * 2 + (i & 1) + (i >= 2 ? 8 : 0), n = group;
    const int half = variant == kSwappedHalvesB ? 1 - i % 2 : i % 2;
    b[i / 2] |= bf16_of_small_int(B[k * 8 + n]) << (16 * half);
  }
  for (int i = 0; i < 4; ++i) c[i] = C[(i < 2 ? group : group + 8) * 8 + tig * 2 + (i & 1)];
  cmt::emu::mma_m16n8k16_bf16(d, a, b, c);
  for (int i = 0; i < 4; ++i) out[lane * 4 + i] = d[i];
}

TEST_CASE("ptx: mma m16n8k16 bf16 gives A*B+C on every lane through the ISA fragment layout") {
  const auto A = small_ints(16, 16, 4, 4), B = small_ints(16, 8, 5, 4), C = small_ints(16, 8, 6, 9);
  DeviceBuffer<float> dA(A), dB(B), dC(C), dOut(32 * 4);
  const std::uint64_t flops_before = mma_flops_counted();
  cmt::emu::launch(mma_bf16_kernel, dim3(1), dim3(32), 0, nullptr, dA.p, dB.p, dC.p, dOut.p, static_cast<int>(kIsa));
  REQUIRE(cudaDeviceSynchronize() == cudaSuccess);
  CHECK(compare_d(dOut.get(), A, B, C, 16, true) == 0);
  CHECK(mma_flops_counted() - flops_before == 2u * 16 * 8 * 16);
  // The pair order inside a register matters: swapped halves of B give a wrong product.
  cmt::emu::launch(mma_bf16_kernel, dim3(1), dim3(32), 0, nullptr, dA.p, dB.p, dC.p, dOut.p, static_cast<int>(kSwappedHalvesB));
  REQUIRE(cudaDeviceSynchronize() == cudaSuccess);
  CHECK(compare_d(dOut.get(), A, B, C, 16, false) > 0);
}

// ---------------------------------------------------------------- ldmatrix

constexpr int kRowStride = 16;  // b16 elements between row starts in shared memory: rows are not contiguous

uint16_t ld_value(int matrix, int row, int col) { return static_cast<uint16_t>(1000 * matrix + 10 * row + col + 1); }

// Four 8x8 b16 matrices in shared memory, row r of matrix i at element (8i + r) * kRowStride.
void ldmatrix_kernel(const uint16_t* src, uint32_t* out, int count, int trans) {
  auto* sm = static_cast<uint16_t*>(cmt::emu::shared_dynamic());
  const int lane = static_cast<int>(threadIdx.x % 32);
  for (int e = lane; e < 4 * 64; e += 32) sm[(e / 8) * kRowStride + e % 8] = src[e];
  __syncthreads();
  // Lanes 8i..8i+7 give the rows of matrix i; the lanes past 8 * count give an unusable address,
  // which the instruction must not read.
  const void* row = sm + lane * kRowStride;
  if (lane >= 8 * count) row = reinterpret_cast<char*>(sm) + 3;
  uint32_t r[4] = {0xdeadbeefu, 0xdeadbeefu, 0xdeadbeefu, 0xdeadbeefu};
  cmt::emu::ldmatrix(r, count, trans != 0, row);
  for (int i = 0; i < 4; ++i) out[lane * 4 + i] = r[i];
}

TEST_CASE("ptx: ldmatrix x1/x2/x4 with and without .trans gives each lane its fragment") {
  std::vector<uint16_t> src(4 * 64);
  for (int i = 0; i < 4; ++i)
    for (int r = 0; r < 8; ++r)
      for (int c = 0; c < 8; ++c) src[static_cast<std::size_t>(i * 64 + r * 8 + c)] = ld_value(i, r, c);
  DeviceBuffer<uint16_t> dSrc(src);
  DeviceBuffer<uint32_t> dOut(32 * 4);
  for (int count : {1, 2, 4})
    for (int trans : {0, 1}) {
      CAPTURE(count);
      CAPTURE(trans);
      cmt::emu::launch(ldmatrix_kernel, dim3(1), dim3(32), 32 * kRowStride * sizeof(uint16_t), nullptr, dSrc.p, dOut.p, count, trans);
      REQUIRE(cudaDeviceSynchronize() == cudaSuccess);
      const auto out = dOut.get();
      int bad = 0;
      for (int lane = 0; lane < 32; ++lane)
        for (int i = 0; i < 4; ++i) {
          // ISA figure "ldmatrix fragment layout for one 8x8 matrix": a group of four threads loads
          // a row; thread l holds row l / 4, columns 2 (l % 4) and 2 (l % 4) + 1 (the lower one in
          // the low half). .trans loads the matrix column-major: the same positions of its transpose.
          const int row = lane / 4, col = 2 * (lane % 4);
          uint32_t expect = 0xdeadbeefu;  // registers past count are left alone
          if (i < count)
            expect = trans ? ld_value(i, col, row) | static_cast<uint32_t>(ld_value(i, col + 1, row)) << 16
                           : ld_value(i, row, col) | static_cast<uint32_t>(ld_value(i, row, col + 1)) << 16;
          if (out[static_cast<std::size_t>(lane * 4 + i)] != expect && bad++ < 8)
            FAIL_CHECK("lane " << lane << " r" << i << ": 0x" << std::hex << out[static_cast<std::size_t>(lane * 4 + i)] << ", expected 0x"
                               << expect);
        }
      CHECK(bad == 0);
    }
}

// The usual pairing: A (16x16 row-major) by ldmatrix.x4 and B (16x8 stored k-major, [k][n]) by
// ldmatrix.x2.trans feed the m16n8k16 bf16 fragments directly.
void ldmatrix_mma_kernel(const float* A, const float* B, const float* C, float* out) {
  auto* sm = static_cast<uint16_t*>(cmt::emu::shared_dynamic());
  constexpr int kA = 24;  // A row stride (48 bytes: 16-byte aligned rows, not contiguous)
  uint16_t* sa = sm;
  uint16_t* sb = sm + 16 * kA;  // B rows of 8: 16 bytes each
  const int lane = static_cast<int>(threadIdx.x % 32);
  for (int e = lane; e < 256; e += 32) sa[(e / 16) * kA + e % 16] = static_cast<uint16_t>(__float_as_uint(A[e]) >> 16);
  for (int e = lane; e < 128; e += 32) sb[e] = static_cast<uint16_t>(__float_as_uint(B[e]) >> 16);
  __syncthreads();
  // Matrices of A in register order: rows 0-7 / k 0-7, rows 8-15 / k 0-7, rows 0-7 / k 8-15, rows 8-15 / k 8-15.
  const int m = lane / 8, r = lane % 8;
  uint32_t a[4], b[2];
  cmt::emu::ldmatrix(a, 4, false, sa + (r + (m & 1) * 8) * kA + (m >> 1) * 8);
  // B: lanes 0-7 give k rows 0-7, lanes 8-15 k rows 8-15 (lanes 16-31 ignored).
  cmt::emu::ldmatrix(b, 2, true, sb + (lane % 16) * 8);
  float c[4], d[4];
  const int group = lane >> 2, tig = lane % 4;
  for (int i = 0; i < 4; ++i) c[i] = C[(i < 2 ? group : group + 8) * 8 + tig * 2 + (i & 1)];
  cmt::emu::mma_m16n8k16_bf16(d, a, b, c);
  for (int i = 0; i < 4; ++i) out[lane * 4 + i] = d[i];
}

TEST_CASE("ptx: ldmatrix x4 and x2.trans fragments feed mma m16n8k16 bf16 to give A*B+C") {
  const auto A = small_ints(16, 16, 7, 4), B = small_ints(16, 8, 8, 4), C = small_ints(16, 8, 9, 9);
  DeviceBuffer<float> dA(A), dB(B), dC(C), dOut(32 * 4);
  cmt::emu::launch(ldmatrix_mma_kernel, dim3(1), dim3(32), (16 * 24 + 128) * sizeof(uint16_t), nullptr, dA.p, dB.p, dC.p, dOut.p);
  REQUIRE(cudaDeviceSynchronize() == cudaSuccess);
  CHECK(compare_d(dOut.get(), A, B, C, 16, true) == 0);
}

// ---------------------------------------------------------------- cvt.rna.tf32.f32

TEST_CASE("ptx: cvt.rna.tf32 rounds to nearest with ties away from zero") {
  using cmt::emu::cvt_rna_tf32;
  // Values with at most 10 mantissa bits are unchanged.
  for (float v : {0.f, -0.f, 1.f, -1.f, 1.5f, -3.25f, 1024.f, 7.f / 8.f, float_of(0x3ff00000u), float_of(0x00002000u), float_of(0x80002000u)})
    CHECK(cvt_rna_tf32(v) == bits_of(v));
  // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: away from zero gives 1 + 2^-10 (ties to even
  // would give 1).
  CHECK(cvt_rna_tf32(float_of(0x3f801000u)) == 0x3f802000u);
  CHECK(cvt_rna_tf32(float_of(0xbf801000u)) == 0xbf802000u);  // negative tie: away from zero
  CHECK(cvt_rna_tf32(float_of(0x3f803000u)) == 0x3f804000u);  // tie from an odd mantissa
  CHECK(cvt_rna_tf32(float_of(0x3f800fffu)) == 0x3f800000u);  // just below half an ulp: down
  CHECK(cvt_rna_tf32(float_of(0x3f801001u)) == 0x3f802000u);  // just above: up
  CHECK(cvt_rna_tf32(float_of(0xbf800fffu)) == 0xbf800000u);
  CHECK(cvt_rna_tf32(float_of(0x3fffffffu)) == 0x40000000u);  // the carry moves into the exponent: 2
  CHECK(cvt_rna_tf32(float_of(0x00001000u)) == 0x00002000u);  // subnormal tie
  CHECK(cvt_rna_tf32(float_of(0x7f7fefffu)) == 0x7f7fe000u);  // largest values still finite
  CHECK(cvt_rna_tf32(float_of(0x7f7fffffu)) == 0x7f800000u);  // FLT_MAX rounds up to +Inf
  CHECK(cvt_rna_tf32(float_of(0xff7fffffu)) == 0xff800000u);  // and -FLT_MAX to -Inf
  CHECK(cvt_rna_tf32(INFINITY) == 0x7f800000u);
  CHECK(cvt_rna_tf32(-INFINITY) == 0xff800000u);
  // NaN stays NaN, including one whose payload lies only in the bits tf32 drops.
  for (uint32_t nan : {0x7fc00000u, 0xffc00000u, 0x7f800001u, 0xff801fffu, 0x7fa5a5a5u}) {
    CAPTURE(nan);
    const uint32_t r = cvt_rna_tf32(float_of(nan));
    CHECK(std::isnan(float_of(r)));
    CHECK((r & 0x1fffu) == 0u);
    CHECK((r >> 31) == (nan >> 31));
  }
}

// ---------------------------------------------------------------- cp.async

// Per thread: 16 bytes in each of 3 stages of shared memory (stage s, thread t at s * 512 + t * 16).
// snap[t][j] records the 4 words of a stage at step j.
void cp_async_kernel(const float* src, uint32_t* snap) {
  auto* sm = static_cast<unsigned char*>(cmt::emu::shared_dynamic());
  const int t = static_cast<int>(threadIdx.x);
  void* st[3] = {sm + 0 * 512 + t * 16, sm + 1 * 512 + t * 16, sm + 2 * 512 + t * 16};
  int j = 0;
  auto record = [&](int s) {
    std::memcpy(snap + (t * 8 + j) * 4, st[s], 16);
    ++j;
  };
  cmt::emu::cp_async16(st[0], src + t * 4, 16);
  record(0);  // 0: issued, nothing committed
  cmt::emu::cp_async_commit();
  record(0);  // 1: committed, not waited for
  cmt::emu::cp_async16(st[1], src + 128 + t * 4, 8);  // 8 source bytes, 8 zero-filled
  cmt::emu::cp_async_commit();
  cmt::emu::cp_async16(st[2], src + t * 4, 0);  // no source bytes: all zero-filled
  cmt::emu::cp_async_wait(1);  // retires the first group only; the third copy is not even committed
  record(0);  // 2
  record(1);  // 3
  record(2);  // 4
  cmt::emu::cp_async_commit();  // the third copy's group
  cmt::emu::cp_async_commit();  // an empty group, legal and trivially complete
  cmt::emu::cp_async_wait(1);   // at most one pending: everything but the empty group lands
  record(1);  // 5
  record(2);  // 6
  cmt::emu::cp_async_wait(0);
  record(2);  // 7
}

TEST_CASE("ptx: cp.async data lands in shared memory only at the wait_group that retires its group") {
  std::vector<float> src(256);
  for (int i = 0; i < 256; ++i) src[static_cast<std::size_t>(i)] = static_cast<float>(i + 1);
  DeviceBuffer<float> dSrc(src);
  DeviceBuffer<uint32_t> dSnap(32 * 8 * 4);
  cmt::emu::launch(cp_async_kernel, dim3(1), dim3(32), 3 * 512, nullptr, dSrc.p, dSnap.p);
  REQUIRE(cudaDeviceSynchronize() == cudaSuccess);
  const auto snap = dSnap.get();
  auto word = [&](int t, int j, int w) { return snap[static_cast<std::size_t>((t * 8 + j) * 4 + w)]; };
  auto poison = [&](int t, int j) {
    for (int w = 0; w < 4; ++w)
      if (!std::isnan(float_of(word(t, j, w)))) return false;
    return true;
  };
  auto equals = [&](int t, int j, const float (&v)[4]) {
    for (int w = 0; w < 4; ++w)
      if (word(t, j, w) != bits_of(v[w])) return false;
    return true;
  };
  for (int t = 0; t < 32; ++t) {
    CAPTURE(t);
    const float* s0 = &src[static_cast<std::size_t>(t * 4)];
    const float* s1 = &src[static_cast<std::size_t>(128 + t * 4)];
    CHECK(poison(t, 0));  // a stage read before its wait sees the arena's NaN pattern
    CHECK(poison(t, 1));
    CHECK(equals(t, 2, {s0[0], s0[1], s0[2], s0[3]}));
    CHECK(poison(t, 3));  // the second group is still in flight
    CHECK(poison(t, 4));  // an uncommitted copy is not covered by wait_group
    CHECK(equals(t, 5, {s1[0], s1[1], 0.f, 0.f}));
    CHECK(equals(t, 6, {0.f, 0.f, 0.f, 0.f}));
    CHECK(equals(t, 7, {0.f, 0.f, 0.f, 0.f}));
  }
}

// ---------------------------------------------------------------- failures (in a child process)

// Scenarios that must stop the process; run by the hidden "ptx death child" case in a fresh
// process (fork + exec of this binary: the parent may hold threads and locks a bare fork copies
// badly, notably under ThreadSanitizer).
void death_cp_async_kernel(float* g, int what) {
  auto* sm = static_cast<unsigned char*>(cmt::emu::shared_dynamic());
  if (what == 0) cmt::emu::cp_async16(sm + 8, g, 16);
  if (what == 1) cmt::emu::cp_async16(sm, g + 1, 16);
  if (what == 2) cmt::emu::cp_async16(sm, g, 17);
  if (what == 3) {
    cmt::emu::cp_async16(sm, g, 16);
    cmt::emu::cp_async_commit();
    cmt::emu::cp_async16(sm, g + 4, 16);  // the first copy is still pending
  }
  cmt::emu::cp_async_wait(0);
}
void death_ldmatrix_kernel() {
  auto* sm = static_cast<unsigned char*>(cmt::emu::shared_dynamic());
  const int lane = static_cast<int>(threadIdx.x % 32);
  uint32_t r[1];
  cmt::emu::ldmatrix(r, 1, false, sm + lane * 16 + (lane == 3 ? 8 : 0));
}
void death_mma_kernel() {
  const uint32_t a[4] = {}, b[2] = {};
  const float c[4] = {};
  float d[4];
  cmt::emu::mma_m16n8k8_tf32(d, a, b, c);
}

void run_death_scenario(const std::string& name) {
  float* g = nullptr;
  if (cudaMalloc(reinterpret_cast<void**>(&g), 256) != cudaSuccess) _exit(3);
  const std::map<std::string, std::function<void()>> scenarios = {
      {"cp_async_smem_misaligned", [&] { cmt::emu::launch(death_cp_async_kernel, dim3(1), dim3(1), 64, nullptr, g, 0); }},
      {"cp_async_gmem_misaligned", [&] { cmt::emu::launch(death_cp_async_kernel, dim3(1), dim3(1), 64, nullptr, g, 1); }},
      {"cp_async_src_size", [&] { cmt::emu::launch(death_cp_async_kernel, dim3(1), dim3(1), 64, nullptr, g, 2); }},
      {"cp_async_overlap", [&] { cmt::emu::launch(death_cp_async_kernel, dim3(1), dim3(1), 64, nullptr, g, 3); }},
      {"ldmatrix_misaligned", [&] { cmt::emu::launch(death_ldmatrix_kernel, dim3(1), dim3(32), 1024, nullptr); }},
      {"mma_partial_warp", [&] { cmt::emu::launch(death_mma_kernel, dim3(1), dim3(16), 0, nullptr); }},
  };
  const auto it = scenarios.find(name);
  if (it == scenarios.end()) _exit(4);
  it->second();
  cudaDeviceSynchronize();
}

TEST_CASE("ptx death child" * doctest::skip()) {
  const char* name = std::getenv("CMT_PTX_DEATH");
  if (!name) return;
  run_death_scenario(name);
  _exit(0);  // survived: the parent reports it
}

// Runs the scenario in a child process; expects it to end abnormally with `message` on stderr.
void expect_death(const char* scenario, const char* message) {
  CAPTURE(scenario);
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, "CMT_PTX_DEATH=", 14) != 0) env_strings.emplace_back(*e);
  env_strings.push_back(std::string("CMT_PTX_DEATH=") + scenario);
  std::vector<char*> envp;
  for (std::string& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string exe = "/proc/self/exe", filter = "--test-case=ptx death child", no_skip = "--no-skip=true";
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
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) err.append(buf, static_cast<std::size_t>(n));
  close(fds[0]);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  INFO("child stderr:\n" << err);
  CHECK_FALSE((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  CHECK(err.find("cmt emulator:") != std::string::npos);
  CHECK(err.find(message) != std::string::npos);
}

TEST_CASE("ptx: misaligned or malformed cp.async / ldmatrix / mma stop with a clear message") {
  expect_death("cp_async_smem_misaligned", "cp.async: shared destination address");
  expect_death("cp_async_gmem_misaligned", "cp.async: global source address");
  expect_death("cp_async_src_size", "src-size 17");
  expect_death("cp_async_overlap", "overlaps the pending cp.async");
  expect_death("ldmatrix_misaligned", "ldmatrix: lane 3's row address");
  expect_death("mma_partial_warp", "does not exist in this block");
}

}  // namespace
