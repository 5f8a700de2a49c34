// The PTX instructions the tensor-core kernels use, emulated per lane. Fragment layouts follow the
// PTX ISA (9.0) text, section 9.7.14.5.7 "Matrix Fragments for mma.m16n8k8" (.tf32), 9.7.14.5.8
// "Matrix Fragments for mma.m16n8k16 with floating point type" (.bf16), 9.7.14.5.15 "ldmatrix",
// 9.7.9.25.3.1-3 "cp.async", "cp.async.commit_group", "cp.async.wait_group" and 9.7.9.21 "cvt"
// (.rna: round to nearest, ties away from zero). With groupID g = laneid >> 2 and
// threadID_in_group t = laneid % 4 the ISA gives:
//   m16n8k8 .tf32   A: a0 (g, t), a1 (g+8, t), a2 (g, t+4), a3 (g+8, t+4)
//                   B: b0 (k=t, n=g), b1 (k=t+4, n=g)
//   m16n8k16 .bf16  A: elements a0..a7 low to high, two per register; a0,a1 (g, 2t..2t+1),
//                      a2,a3 (g+8, 2t..), a4,a5 (g, 2t+8..), a6,a7 (g+8, 2t+8..)
//                   B: b0,b1 (k=2t..2t+1, n=g), b2,b3 (k=2t+8..2t+9, n=g)
//   C/D (both)      c0 (g, 2t), c1 (g, 2t+1), c2 (g+8, 2t), c3 (g+8, 2t+1)
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "emu/access.h"
#include "emu/counters.h"
#include "emu/internal.h"
#include "emu/sanitizer.h"

namespace cmt::emu {

namespace {

// Address checks and counters take mutexes; sanitizer::Quiet keeps them from ordering kernel threads.
using Bookkeeping = sanitizer::Quiet;
bool device_range(const void* p, std::size_t bytes) {
  Bookkeeping quiet;
  return is_device_range(p, bytes) || (bytes > 0 && is_pinned_host(p));
}

CMT_EMU_REGISTERS_ONLY float bits_to_float(std::uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// The warp's A and B operands as posted by every lane (C stays per lane: each lane's outputs use
// only its own accumulators, the C and D layouts being the same).

// .tf32 operands are 32-bit registers of which the tensor core reads the upper 19 bits (sign,
// 8-bit exponent, 10-bit mantissa); the low 13 bits are ignored, i.e. truncated, not rounded.
CMT_EMU_REGISTERS_ONLY float tf32_operand(std::uint32_t bits) { return bits_to_float(bits & 0xffffe000u); }
CMT_EMU_REGISTERS_ONLY float bf16_operand(std::uint32_t pair, int half) { return bits_to_float(((pair >> (16 * half)) & 0xffffu) << 16); }

// D = A * B + C for this lane's four outputs. The ISA (9.7.14.5.14, "Precision and rounding",
// .bf16 and .tf32) asks for at least single precision and leaves "the accumulation order, rounding,
// and handling of subnormal inputs" unspecified; here the K products are summed in fp32 in k order,
// then C is added. Products of tf32 (11-bit significand) or bf16 (8-bit) operands are exact in
// fp32, so the bits do not depend on whether the compiler contracts to fma.
template <int K>
CMT_EMU_REGISTERS_ONLY void mma_finish(float (&d)[4], const float (&A)[16][K], const float (&B)[K][8], const float (&c)[4], int lane) {
  const int g = lane >> 2, t = lane % 4;
  for (int i = 0; i < 4; ++i) {
    const int row = g + (i >= 2 ? 8 : 0), col = 2 * t + (i & 1);
    float s = 0.f;
    for (int k = 0; k < K; ++k) s += A[row][k] * B[k][col];
    d[i] = s + c[i];
  }
}

void check_aligned(const void* p, const char* what, const char* operand) {
  if (reinterpret_cast<std::uintptr_t>(p) % 16 != 0) fail("%s: %s address %p is not 16-byte aligned", what, operand, p);
}

// What each lane posts to an ldmatrix: its row address and its qualifiers (.aligned: all agree).
struct LdmatrixPost {
  const void* row;
  int count;
  int trans;
};

// Shared-memory wavefronts of one ldmatrix: one phase per 8x8 matrix (8 rows of 16 bytes), each
// taking as many wavefronts as the most distinct 4-byte words that fall in one of the 32 banks.
std::uint64_t ldmatrix_wavefronts(const LdmatrixPost (&all)[32], int count) {
  std::uint64_t total = 0;
  for (int i = 0; i < count; ++i) {
    std::uintptr_t words[32];
    int n = 0;
    for (int r = 0; r < 8; ++r)
      for (int w = 0; w < 4; ++w) {
        const std::uintptr_t word = reinterpret_cast<std::uintptr_t>(all[8 * i + r].row) / 4 + static_cast<std::uintptr_t>(w);
        bool seen = false;
        for (int j = 0; j < n; ++j) seen = seen || words[j] == word;
        if (!seen) words[n++] = word;
      }
    int per_bank[32] = {}, most = 0;
    for (int j = 0; j < n; ++j) most = std::max(most, ++per_bank[words[j] % 32]);
    total += static_cast<std::uint64_t>(most);
  }
  return total;
}

}  // namespace

namespace {

struct MmaPost {
  std::uint32_t a[4], b[2];
  float c[4];
};

// The last lane of the warp in builds A and B once from every lane's fragments (the PTX ISA's
// tables) and hands each lane its four outputs.
CMT_EMU_REGISTERS_ONLY void mma_tf32_combine(const void* const* in, void* const* out) {
  float A[16][8], B[8][8];
  for (int lane = 0; lane < 32; ++lane) {
    const int g = lane >> 2, t = lane % 4;
    const MmaPost& o = *static_cast<const MmaPost*>(in[lane]);
    A[g][t] = tf32_operand(o.a[0]);
    A[g + 8][t] = tf32_operand(o.a[1]);
    A[g][t + 4] = tf32_operand(o.a[2]);
    A[g + 8][t + 4] = tf32_operand(o.a[3]);
    B[t][g] = tf32_operand(o.b[0]);
    B[t + 4][g] = tf32_operand(o.b[1]);
  }
  for (int lane = 0; lane < 32; ++lane)
    mma_finish<8>(*static_cast<float(*)[4]>(out[lane]), A, B, static_cast<const MmaPost*>(in[lane])->c, lane);
}

CMT_EMU_REGISTERS_ONLY void mma_bf16_combine(const void* const* in, void* const* out) {
  float A[16][16], B[16][8];
  for (int lane = 0; lane < 32; ++lane) {
    const int g = lane >> 2, t = lane % 4;
    const MmaPost& o = *static_cast<const MmaPost*>(in[lane]);
    for (int h = 0; h < 2; ++h) {  // the low half holds the lower column (k) index
      A[g][2 * t + h] = bf16_operand(o.a[0], h);
      A[g + 8][2 * t + h] = bf16_operand(o.a[1], h);
      A[g][2 * t + 8 + h] = bf16_operand(o.a[2], h);
      A[g + 8][2 * t + 8 + h] = bf16_operand(o.a[3], h);
      B[2 * t + h][g] = bf16_operand(o.b[0], h);
      B[2 * t + 8 + h][g] = bf16_operand(o.b[1], h);
    }
  }
  for (int lane = 0; lane < 32; ++lane)
    mma_finish<16>(*static_cast<float(*)[4]>(out[lane]), A, B, static_cast<const MmaPost*>(in[lane])->c, lane);
}

CMT_EMU_REGISTERS_ONLY void mma(float (&d)[4], const std::uint32_t (&a)[4], const std::uint32_t (&b)[2], const float (&c)[4],
                                const char* what, WarpCombine combine, std::uint64_t flops) {
  MmaPost mine{};
  std::memcpy(mine.a, a, sizeof mine.a);
  std::memcpy(mine.b, b, sizeof mine.b);
  std::memcpy(mine.c, c, sizeof mine.c);
  float out[4];
  warp_combine(0xffffffffu, &mine, sizeof mine, out, what, combine);
  std::memcpy(d, out, sizeof out);  // d may alias c
  if (current().lane == 0) {
    Bookkeeping quiet;
    count_mma(flops);
  }
}

}  // namespace

void mma_m16n8k8_tf32(float (&d)[4], const std::uint32_t (&a)[4], const std::uint32_t (&b)[2], const float (&c)[4]) {
  mma(d, a, b, c, "mma.sync.m16n8k8.tf32", mma_tf32_combine, 2ull * 16 * 8 * 8);
}

void mma_m16n8k16_bf16(float (&d)[4], const std::uint32_t (&a)[4], const std::uint32_t (&b)[2], const float (&c)[4]) {
  mma(d, a, b, c, "mma.sync.m16n8k16.bf16", mma_bf16_combine, 2ull * 16 * 8 * 16);
}

void ldmatrix(std::uint32_t* regs, int count, bool trans, const void* row_address) {
  Thread& self = current();
  const LdmatrixPost mine{row_address, count, trans ? 1 : 0};
  LdmatrixPost all[32];
  warp_collective(0xffffffffu, &mine, sizeof mine, all, "ldmatrix");
  if (count != 1 && count != 2 && count != 4) fail("ldmatrix: .x%d is not one of .x1, .x2, .x4", count);
  for (int l = 0; l < 32; ++l)
    if (all[l].count != count || all[l].trans != mine.trans)
      fail("ldmatrix: lane %d executes .x%d%s, lane %d .x%d%s (.aligned: the warp must agree)", self.lane, count,
           trans ? ".trans" : "", l, all[l].count, all[l].trans ? ".trans" : "");
  // Only the 8 * count lanes that supply row addresses are read (sm_80+; the others are ignored).
  for (int l = 0; l < 8 * count; ++l)
    if (reinterpret_cast<std::uintptr_t>(all[l].row) % 16 != 0)
      fail("ldmatrix: lane %d's row address %p is not 16-byte aligned", l, all[l].row);
  if (self.lane < 8 * count && device_range(row_address, 16))
    fail("ldmatrix reads global memory at %p; its rows must be in shared memory", row_address);
  // Row r of matrix i starts at lane 8i + r's address and holds 8 b16 elements. Lane l receives the
  // element pair (row l/4, columns 2(l%4), +1) of each matrix, or with .trans that pair of its
  // transpose (rows 2(l%4), +1 of column l/4); the lower column goes to the low half.
  const int r = self.lane / 4, c = 2 * (self.lane % 4);
  for (int i = 0; i < count; ++i) {
    auto elem = [&](int row, int col) {
      std::uint16_t v;
      std::memcpy(&v, static_cast<const unsigned char*>(all[8 * i + row].row) + 2 * col, 2);
      return static_cast<std::uint32_t>(v);
    };
    const std::uint32_t lo = trans ? elem(c, r) : elem(r, c);
    const std::uint32_t hi = trans ? elem(c + 1, r) : elem(r, c + 1);
    regs[i] = lo | (hi << 16);
  }
  if (self.lane == 0) {
    const std::uint64_t wavefronts = ldmatrix_wavefronts(all, count);
    Bookkeeping quiet;
    count_shared_request(wavefronts);
  }
}

void cp_async16(void* smem, const void* gmem, int src_bytes) {
  Thread& self = current();
  check_aligned(smem, "cp.async", "shared destination");
  check_aligned(gmem, "cp.async", "global source");
  if (src_bytes < 0 || src_bytes > 16) fail("cp.async: src-size %d is outside 0..16 (cp-size 16)", src_bytes);
  if (device_range(smem, 16)) fail("cp.async: destination %p is global memory, not shared", smem);
  if (src_bytes > 0 && !device_range(gmem, static_cast<std::size_t>(src_bytes)))
    fail("cp.async: source %p (%d bytes) is not in device memory", gmem, src_bytes);
  // Copies not yet retired by a wait_group have no order among themselves (ISA): two of them
  // writing the same bytes is a race whose outcome the hardware leaves undefined.
  const auto* d = static_cast<const unsigned char*>(smem);
  auto overlaps = [&](const PendingCopy& p) {
    const auto* q = static_cast<const unsigned char*>(p.dst);
    return d < q + p.bytes && q < d + 16;
  };
  auto check = [&](const std::vector<PendingCopy>& copies) {
    for (const PendingCopy& p : copies)
      if (overlaps(p)) fail("cp.async to %p overlaps the pending cp.async to %p (no wait_group between them)", smem, p.dst);
  };
  check(self.cp_open);
  for (const auto& group : self.cp_groups) check(group);
  // The source is read at issue; bytes past src-size are zero-filled (src-size 0 reads nothing).
  PendingCopy copy{smem, 16, {}};
  if (src_bytes > 0) std::memcpy(copy.data, gmem, static_cast<std::size_t>(src_bytes));
  self.cp_open.push_back(copy);
  access_cp_async(smem, gmem, src_bytes);
}

void cp_async_commit() {
  Thread& self = current();
  self.cp_groups.push_back(std::move(self.cp_open));  // an empty group is legal
  self.cp_open.clear();
  access_cp_async_commit();
}

void cp_async_wait(int pending_groups_allowed) {
  Thread& self = current();
  if (pending_groups_allowed < 0) fail("cp.async.wait_group %d: N must be non-negative", pending_groups_allowed);
  // Uncommitted copies (cp_open) are not waited for: wait_group covers committed groups only.
  while (self.cp_groups.size() > static_cast<std::size_t>(pending_groups_allowed)) {
    for (const PendingCopy& p : self.cp_groups.front()) std::memcpy(p.dst, p.data, static_cast<std::size_t>(p.bytes));
    self.cp_groups.pop_front();
  }
}

CMT_EMU_REGISTERS_ONLY std::uint32_t cvt_rna_tf32(float v) {
  std::uint32_t u;
  std::memcpy(&u, &v, 4);
  // NaN stays a NaN: clearing the low bits alone could turn a NaN whose payload sits there into Inf.
  if ((u & 0x7fffffffu) > 0x7f800000u) return (u & 0xffffe000u) | 0x00400000u;
  // Adding half an ulp of the 10-bit mantissa to the magnitude rounds ties away from zero (sign and
  // magnitude are separate fields); a carry moves into the exponent, up to Inf for the largest
  // finite values, which is what .rna without .satfinite gives. Inf itself has no low bits to round.
  return (u + 0x1000u) & 0xffffe000u;
}

}  // namespace cmt::emu
