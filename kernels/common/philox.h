// Counter-based Philox4x32-10 generator, identical on host and device.
//
// Every random number in cmt is a pure function of (seed, epoch, sample, op, element):
// the 64-bit seed is the key; the 128-bit counter is (element, epoch, sample, op). So a draw
// never depends on how work is split across threads, batches, ranks or backends, and a resumed
// run continues the same stream. One counter gives four 32-bit words.
#pragma once
#include <cmath>
#include <cstdint>

#include "macros.h"

namespace cmt::rng {

struct Words4 {
  std::uint32_t w[4];
};

CMT_HD std::uint32_t mulhi32(std::uint32_t a, std::uint32_t b) {
#if defined(__CUDA_ARCH__)
  return __umulhi(a, b);
#else
  return static_cast<std::uint32_t>((static_cast<std::uint64_t>(a) * b) >> 32);
#endif
}

// Philox4x32 with 10 rounds (Salmon et al., SC'11), the variant used by cuRAND and Random123.
CMT_HD Words4 philox4x32_10(Words4 ctr, std::uint32_t k0, std::uint32_t k1) {
  constexpr std::uint32_t M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;
  constexpr std::uint32_t W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
#if defined(__CUDA_ARCH__)
#pragma unroll
#endif
  for (int round = 0; round < 10; ++round) {
    const std::uint32_t hi0 = mulhi32(M0, ctr.w[0]), lo0 = M0 * ctr.w[0];
    const std::uint32_t hi1 = mulhi32(M1, ctr.w[2]), lo1 = M1 * ctr.w[2];
    ctr = Words4{{hi1 ^ ctr.w[1] ^ k0, lo1, hi0 ^ ctr.w[3] ^ k1, lo0}};
    k0 += W0;
    k1 += W1;
  }
  return ctr;
}

// Operation ids keep the streams of different random ops apart (op word of the counter).
enum class Op : std::uint32_t {
  tensor_uniform = 1,
  tensor_normal = 2,
  dropout = 3,
  stochastic_depth = 4,
  init = 5,
  shuffle = 6,
  augment_base = 0x1000,  // augmentation uses augment_base + view * 64 + transform
};

// One stream of draws: fixed (seed, epoch, sample, op); draw(i) gives block i of four words.
struct Stream {
  std::uint32_t key0, key1, epoch, sample, op;

  CMT_HD static Stream make(std::uint64_t seed, std::uint32_t epoch, std::uint32_t sample, std::uint32_t op) {
    return Stream{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32), epoch, sample, op};
  }
  CMT_HD Words4 draw(std::uint32_t block) const {
    return philox4x32_10(Words4{{block, epoch, sample, op}}, key0, key1);
  }
  // The i-th 32-bit word of the stream (block i/4, lane i%4).
  CMT_HD std::uint32_t word(std::uint64_t i) const {
    return draw(static_cast<std::uint32_t>(i >> 2)).w[i & 3];
  }
};

// Uniform in [0, 1): the top 24 bits scaled exactly, so host and device agree bit for bit.
CMT_HD float uniform01(std::uint32_t x) { return static_cast<float>(x >> 8) * (1.0f / 16777216.0f); }

// Uniform in (0, 1]: safe to take the log of.
CMT_HD float uniform_open0(std::uint32_t x) { return (static_cast<float>(x >> 8) + 1.0f) * (1.0f / 16777216.0f); }

// Uniform integer in [0, n) by multiply-shift (bias below 2^-32 * n, deterministic).
CMT_HD std::uint32_t uniform_int(std::uint32_t x, std::uint32_t n) { return mulhi32(x, n); }

// Standard normal pair by Box-Muller; host and device agree to float rounding of log/sin/cos.
CMT_HD void normal2(std::uint32_t a, std::uint32_t b, float& z0, float& z1) {
  const float r = sqrtf(-2.0f * logf(uniform_open0(a)));
  const float theta = 6.28318530717958647692f * uniform01(b);
  z0 = r * cosf(theta);
  z1 = r * sinf(theta);
}

}  // namespace cmt::rng
